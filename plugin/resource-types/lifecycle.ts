/**
 * The online / offline / clean flows every process-based type shares.
 *
 * online:  already ONLINE → ok without starting again; else start program, then poll the first
 *          level until ONLINE (and, with SecondLevelMonitor on, the deep check until it passes),
 *          all within OnlineTimeout.
 *          Before the start, pid files that name no process of this instance (gone, a thread,
 *          one of our own processes, another program's) are logged and removed.
 * offline: nothing of the resource running → ok without running the stop program (this also
 *          covers a broken configuration such as a missing ServerRoot); else stop program, wait
 *          until the main daemons are gone, then SIGTERM/SIGKILL what is left — within OfflineTimeout.
 * clean:   stop program with a short deadline, then kill every remaining process, within CleanTimeout.
 *
 * Memory: the agent remembers every process it saw of the resource (the pids its checks found
 * and their descendants, each with its start time). offline and clean also wait for / kill those
 * — children orphaned by the stop of their parent (Dovecot's login and auth processes carry no
 * path in their titles) are never missed, and never waited on beyond OfflineTimeout. A pid whose
 * start time changed is another process and is never signalled. Not guaranteed: the memory is
 * lost when the agent process restarts (then the type's own matching is all there is).
 *
 * Results are values with one sentence naming the program or the processes, and a recovery
 * class: a missing or non-executable program → 'move'; a failed start → 'restartable'; an
 * unusable User or EnvFile → 'configuration'.
 */
import { deadlineIn, pollUntil, timeoutSignal, type Deadline } from '../core/deadline';
import type { Logger } from '../core/log';
import { invalidateSnapshot, readStat, sameProcess, startTimeOf, stillRunning } from '../proc/table';
import { treeOf } from '../proc/tree';
import { execBase, genericAttr } from './attr-access';
import { configurationFault, describeExit, execProgram, notStarted, outputTail, type ExecResult } from '../core/exec';
import { killPids } from '../proc/kill';
import type { LevelResult } from './monitor-levels';
import type { ActionResult, MonitorResult, RecoveryClass } from '../core/results';
import { TIMEOUT_ATTR, type AgentContext } from './contract';

const POLL_MS = 200;

/** A program to run: argv, and optionally the name of a secret attribute fed to its stdin. */
export interface ProgramSpec {
  argv: string[];
  stdinSecret?: string;
  /** Pre-decrypted stdin (when the type decides the secret itself). */
  stdin?: string;
}

export interface LifecycleSpec {
  /** The first-level process check. */
  first(): Promise<LevelResult>;
  /** Every live process of this resource (for offline/clean); must include partial leftovers. */
  leftovers(): Promise<number[]>;
  /**
   * The processes whose presence means the resource is (partly) running and whose exit offline
   * waits for (default: leftovers). Core uses its own daemons here, and the whole instance as
   * leftovers, so that its offline neither waits for nor acts on an instance it is not running.
   */
  running?(): Promise<number[]>;
  start?: ProgramSpec;
  /** Undefined = no stop program: SIGTERM the leftovers directly. */
  stop?: ProgramSpec;
  /** Run by clean before the kill (default: the stop program). */
  clean?: ProgramSpec;
  /**
   * The deep check. When SecondLevelMonitor is on, online also waits for it to pass: processes
   * that exist but do not answer yet (a listener opened after the pid file) are not online.
   */
  deep?(budgetMs: number, signal: AbortSignal): Promise<LevelResult>;
  /** When the instance directory itself is missing, a sentence saying so (offline notes it). */
  missingRoot?: () => Promise<string | undefined>;
  /**
   * Removes the resource's pid files that name no process of this instance; one sentence per
   * file (file, pid, why). Run by online before the start program.
   */
  removeStalePidFiles?(): Promise<string[]>;
}

/*
 * What this agent saw of each resource: pid → start time. One agent process serves one
 * resource; the map is keyed by resource id so that in-process callers (tests, `msgha run`)
 * keep resources apart. Bounded: a tree larger than SEEN_MAX is cut there.
 */
const SEEN_MAX = 4096;
const seen = new Map<string, Map<number, number>>();
/*
 * Walking the tree costs ~50 µs per process (measured: 1.1 ms for a daemon with 20 children,
 * against 17 µs for the first-level check of one pid): with the same top pids it is walked
 * again only every TREE_REFRESH_MS. offline and clean walk it once more themselves anyway.
 */
const TREE_REFRESH_MS = 5000;
const walked = new Map<string, { key: string; at: number }>();

/**
 * Remembers `pids` (processes of the resource a check found) and their descendants now, while
 * children still hang under their parents; keeps earlier entries that are still the same live
 * process (orphans outlive their parent's entry). Cost: one stat and one children read per
 * process of the tree.
 */
export function rememberProcesses(id: string, pids: readonly number[] | undefined, opts: { throttle?: boolean } = {}): void {
  if (!pids || pids.length === 0) return;
  if (opts.throttle) {
    // Only monitors are throttled, so the first monitor after an online walks the grown tree.
    const key = [...pids].sort((a, b) => a - b).map((p) => `${p}:${startTimeOf(p) ?? ''}`).join(',');
    const last = walked.get(id);
    if (last && last.key === key && performance.now() - last.at < TREE_REFRESH_MS && seen.has(id)) return;
    walked.set(id, { key, at: performance.now() });
  } else {
    walked.delete(id);
  }
  const tree = treeOf(pids, SEEN_MAX);
  for (const [pid, t] of seen.get(id) ?? []) {
    if (tree.size >= SEEN_MAX) break;
    if (!tree.has(pid) && sameProcess(pid, t)) tree.set(pid, t);
  }
  seen.set(id, tree);
}

/** The remembered processes still alive as the same process (pid and start time). */
export function rememberedProcesses(id: string): Map<number, number> {
  const live = new Map(stillRunning(seen.get(id) ?? []));
  if (live.size > 0) seen.set(id, live); else seen.delete(id);
  return live;
}

/** A monitor that remembers the processes it found (see rememberProcesses). */
export async function monitorRemembering(ctx: AgentContext, run: () => Promise<MonitorResult>): Promise<MonitorResult> {
  const r = await run();
  if (r.pids?.length) rememberProcesses(ctx.resource.id, r.pids, { throttle: true });
  return r;
}

/** `remembered` plus everything live under `pids` and under them (each with its start time). */
function capture(pids: readonly number[], remembered: Map<number, number>): Map<number, number> {
  const all = treeOf([...pids, ...remembered.keys()], SEEN_MAX);
  for (const [pid, t] of remembered) if (!all.has(pid)) all.set(pid, t);
  return all;
}

/** The captured processes still alive as the same process. */
const stillThere = (captured: Map<number, number>): number[] => stillRunning(captured).map(([pid]) => pid);

/** Recovery class of a program that could not run or failed. */
export function classifyRun(r: ExecResult): RecoveryClass {
  const code = r.spawnError?.code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR') return 'move';
  if (configurationFault(r)) return 'configuration'; // User, EnvFile, ContainerName, trust, secret
  if (r.code === 126 || r.code === 127) return 'move'; // the shell could not find or execute something
  return 'restartable';
}

function runSentence(argv: string[], r: ExecResult): string {
  const tail = outputTail(r);
  return `${argv.join(' ')} ${describeExit(r)}${tail ? `: ${tail}` : ''}`;
}

async function runProgram(ctx: AgentContext, fn: string, p: ProgramSpec, timeoutMs: number, signal: AbortSignal): Promise<ExecResult> {
  const log = ctx.log.child(fn);
  let stdin = p.stdin;
  if (stdin === undefined && p.stdinSecret) {
    // A secret that does not decrypt here (moved from another place, another key, untrusted key
    // file) is a configuration fault: no restart or failover fixes it.
    try { stdin = await ctx.secret(p.stdinSecret); } catch (err) {
      return notStarted('ESECRET', `${p.stdinSecret}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const r = await execProgram(p.argv, { ...execBase(ctx, log), timeoutMs, signal, stdin });
  invalidateSnapshot();
  log.trace(`${p.argv[0]} ${describeExit(r)} in ${r.durationMs} ms`);
  return r;
}

function running(spec: LifecycleSpec): Promise<number[]> {
  return spec.running ? spec.running() : spec.leftovers();
}

/**
 * Waits until the main daemons (the ones the first-level check finds) are gone. Their children
 * are not waited for: once the parent is gone, what is left of them is killed, not waited on.
 */
async function gone(spec: LifecycleSpec, deadlineMs: number, signal: AbortSignal): Promise<number[]> {
  const d = deadlineIn(deadlineMs);
  let left: number[] = [];
  const done = await pollUntil(async () => {
    invalidateSnapshot();
    left = (await spec.first()).pids ?? [];
    return left.length === 0 ? true : undefined;
  }, d, POLL_MS, signal);
  return done ? [] : left;
}

/** One function's log, deadline and abort signal, from its declared timeout attribute. */
function budget(ctx: AgentContext, fn: 'online' | 'offline' | 'clean'): { log: Logger; deadline: Deadline; signal: AbortSignal; timeout: number } {
  const timeout = genericAttr.ms(ctx, TIMEOUT_ATTR[fn]);
  return { log: ctx.log.child(fn), deadline: deadlineIn(timeout), signal: timeoutSignal(timeout, ctx.signal), timeout };
}

export async function onlineFlow(ctx: AgentContext, spec: LifecycleSpec): Promise<ActionResult> {
  const { log, deadline, signal, timeout } = budget(ctx, 'online');
  invalidateSnapshot();
  const before = await spec.first();
  if (before.state === 'ONLINE') {
    rememberProcesses(ctx.resource.id, before.pids);
    log.info(`already online, start not run: ${before.reason}`);
    return { ok: true, reason: `already online (${before.reason}); the start program was not run again` };
  }
  if (!spec.start) return { ok: false, recovery: 'configuration', reason: 'no start program configured' };
  // A daemon that finds a live pid in its pid file refuses to start (or a later stop signals that pid).
  for (const line of (await spec.removeStalePidFiles?.()) ?? []) log.warn(line);
  log.info(`starting: ${spec.start.argv.join(' ')}`);
  const r = await runProgram(ctx, 'online', spec.start, deadline.remaining(), signal);
  if (r.spawnError || r.timedOut || r.code !== 0) {
    const reason = `start program ${runSentence(spec.start.argv, r)}`;
    log.error(reason);
    return { ok: false, recovery: r.timedOut ? 'restartable' : classifyRun(r), reason };
  }
  let last: LevelResult = before;
  const ok = await pollUntil(async () => {
    invalidateSnapshot();
    last = await spec.first();
    return last.state === 'ONLINE' ? true : undefined;
  }, deadline, POLL_MS, signal);
  if (ok) rememberProcesses(ctx.resource.id, last.pids);
  if (ok && spec.deep && genericAttr.number(ctx, 'SecondLevelMonitor') > 0) {
    const monitorMs = genericAttr.ms(ctx, 'MonitorTimeout');
    let deep: LevelResult | undefined;
    const answered = await pollUntil(async () => {
      deep = await spec.deep!(Math.max(200, Math.min(monitorMs, deadline.remaining())), signal);
      if (deep.state === 'ONLINE') return true;
      return deep.recovery === 'configuration' ? false : undefined;
    }, deadline, POLL_MS, signal);
    if (!answered) {
      const reason = `${spec.start.argv[0]} started the processes (${last.reason}) but the deep check does not pass: ${deep?.reason ?? 'no answer within OnlineTimeout'}`;
      log.error(reason);
      return { ok: false, recovery: deep?.recovery === 'configuration' ? 'configuration' : 'restartable', reason };
    }
    log.info(`online: ${last.reason}; ${deep!.reason}`);
    return { ok: true, reason: `started with ${spec.start.argv[0]}; ${last.reason}; ${deep!.reason}` };
  }
  if (ok) {
    log.info(`online: ${last.reason}`);
    return { ok: true, reason: `started with ${spec.start.argv[0]}; ${last.reason}` };
  }
  const reason = `${spec.start.argv[0]} exited 0 but the resource was not ONLINE within OnlineTimeout (${timeout / 1000} s): ${last.reason}`;
  log.error(reason);
  return { ok: false, recovery: 'restartable', reason };
}

async function killLeft(ctx: AgentContext, fn: string, pids: number[], graceMs: number, expected?: Map<number, number>): Promise<{ survivors: number[]; killed: number; how: string }> {
  if (pids.length === 0) return { survivors: [], killed: 0, how: '' };
  const report = await killPids(pids, { graceMs, log: ctx.log.child(fn), expected });
  return { survivors: report.survivors, killed: report.signalled.length, how: report.forced ? 'SIGTERM, then SIGKILL' : 'SIGTERM' };
}

export async function offlineFlow(ctx: AgentContext, spec: LifecycleSpec): Promise<ActionResult> {
  const { log, deadline, signal, timeout } = budget(ctx, 'offline');
  invalidateSnapshot();
  const active = await running(spec);
  const remembered = rememberedProcesses(ctx.resource.id);
  if (active.length === 0 && remembered.size === 0) {
    const missing = await spec.missingRoot?.();
    const reason = missing ? `${missing}: nothing to stop` : 'already offline: no process of this resource is running';
    log.info(reason);
    return { ok: true, reason };
  }
  // The whole tree now, before the stop program orphans children from their parents.
  const captured = capture(active, remembered);
  // Keep a quarter of the time (at most 10 s) for killing what the stop program leaves behind.
  const reserve = Math.min(10_000, timeout / 4);
  const grace = Math.min(5_000, reserve / 2);
  let stopNote = '';
  let stopRan = false;
  // Only leftovers the agent remembers (the daemons themselves are gone): nothing for a stop program.
  if (spec.stop && active.length > 0) {
    log.info(`stopping: ${spec.stop.argv.join(' ')}`);
    const r = await runProgram(ctx, 'offline', spec.stop, Math.max(1000, deadline.remaining() - reserve), signal);
    stopRan = !r.spawnError;
    if (r.spawnError || r.timedOut || r.code !== 0) {
      stopNote = `stop program ${runSentence(spec.stop.argv, r)}; `;
      log.warn(stopNote.slice(0, -2));
    }
  }
  // Waiting only makes sense when a stop program actually ran.
  const waited = stopRan ? await gone(spec, Math.max(0, deadline.remaining() - reserve), signal) : active;
  invalidateSnapshot();
  const left = [...new Set([...waited, ...(await running(spec)), ...(await spec.leftovers()), ...stillThere(captured)])];
  if (left.length === 0) {
    rememberedProcesses(ctx.resource.id);
    const reason = `${stopNote}stopped with ${spec.stop && stopRan ? spec.stop.argv.join(' ') : 'SIGTERM'}; no process of this resource is left`;
    log.info(reason);
    return { ok: true, reason };
  }
  log.warn(`${left.length} process(es) still running (${left.join(' ')}): killing them`);
  const k = await killLeft(ctx, 'offline', left, Math.min(grace, Math.max(500, deadline.remaining() / 2)), captured);
  rememberedProcesses(ctx.resource.id);
  if (k.survivors.length > 0) {
    const reason = `${stopNote}${k.survivors.length} process(es) of this resource survived SIGKILL: ${k.survivors.join(' ')}`;
    log.error(reason);
    return { ok: false, recovery: 'move', reason };
  }
  const reason = `${stopNote}${spec.stop && stopRan ? `${spec.stop.argv[0]} left ${k.killed} process(es) running; they were stopped with ${k.how}` : `${spec.stop ? 'only remembered leftovers were running' : 'no stop program'}: ${k.killed} process(es) stopped with ${k.how}`}`;
  log.info(reason);
  return { ok: true, reason };
}

/** Pids among `pids` in state T (stopped by a signal) or t (traced). */
async function stoppedAmong(pids: number[]): Promise<number[]> {
  const states = await Promise.all(pids.map(async (pid) => ({ pid, st: await readStat(pid) })));
  return states.filter(({ st }) => st?.state === 'T' || st?.state === 't').map(({ pid }) => pid);
}

export async function cleanFlow(ctx: AgentContext, spec: LifecycleSpec): Promise<ActionResult> {
  const { log, deadline, signal, timeout } = budget(ctx, 'clean');
  const program = spec.clean ?? spec.stop;
  let note = '';
  invalidateSnapshot();
  const before = await spec.leftovers();
  const captured = capture(before, rememberedProcesses(ctx.resource.id));
  // A stopped (hung) process can never finish a graceful stop: kill at once rather than wait
  // for a stop program and a grace period that cannot succeed.
  const hung = await stoppedAmong([...captured.keys()]);
  if (hung.length > 0) note = `process(es) ${hung.join(' ')} stopped (hung): killed without a graceful stop; `;
  if (program && before.length > 0 && hung.length === 0) {
    // The stop program gets a short chance only: clean is for a resource already in trouble.
    const r = await runProgram(ctx, 'clean', program, Math.min(10_000, timeout / 3), signal);
    if (r.spawnError || r.timedOut || r.code !== 0) note = `${runSentence(program.argv, r)}; `;
  }
  invalidateSnapshot();
  const left = [...new Set([...(await spec.leftovers()), ...stillThere(captured)])];
  const grace = hung.length > 0 ? 0 : Math.min(2_000, Math.max(200, deadline.remaining() / 4));
  const k = await killLeft(ctx, 'clean', left, grace, captured);
  rememberedProcesses(ctx.resource.id);
  if (k.survivors.length > 0) {
    const reason = `${note}${k.survivors.length} process(es) survived SIGKILL: ${k.survivors.join(' ')}`;
    log.error(reason);
    return { ok: false, recovery: 'move', reason };
  }
  const reason = `${note}${captured.size === 0 ? 'nothing of this resource was running' : `cleaned: ${program && before.length > 0 ? `${program.argv[0]} run, ` : ''}${k.killed} leftover process(es) stopped${k.how ? ` with ${k.how}` : ''}`}`;
  log.info(reason);
  return { ok: true, reason };
}
