/**
 * Kills what is left of ONE instance: SIGTERM, a grace period, then SIGKILL.
 *
 * Guarantees: only the pids handed in (found by pid file, matcher, instance root or the agent's
 * memory, each verified as the instance's, and their descendants) and the process groups led by
 * one of them are signalled — never by a broad name; never what identity.ts refuses: pid 1, the
 * init of a nested PID namespace, this agent or an ancestor, a thread id (kill(tid) would signal
 * the whole process it belongs to), a kernel thread, one of our own processes (agents, the
 * coordinator, the fence, PM2), nor the process groups of our own; every pid is tied to its start
 * time when first seen (or to the one the caller remembered) and re-checked before each signal,
 * so a pid reused meanwhile by another process is never signalled; a zombie counts as gone.
 * Returns the pids that survived SIGKILL (normally none) and the ones it refused to touch.
 */
import type { Logger } from '../core/log';
import { sleep } from '../core/deadline';
import { describeProcess, refusal } from './identity';
import { invalidateSnapshot, protectedPids, readCmdlineSync, readStat, readStatSync, readStatusSync, sameProcess, stillRunning } from './table';

export interface KillOptions {
  /** Time between SIGTERM and SIGKILL. */
  graceMs: number;
  log?: Logger;
  /** pid → start time the caller saw: a pid whose start time differs now is another process, left alone. */
  expected?: ReadonlyMap<number, number>;
}

export interface KillReport {
  /** Pids that were signalled. */
  signalled: number[];
  /** Pids still alive after SIGKILL (should be empty). */
  survivors: number[];
  /** True when SIGKILL was needed. */
  forced: boolean;
  /** Pids handed in but never signalled, and why (ours, a thread, reused). */
  spared: Array<{ pid: number; why: string }>;
}

async function protectedGroups(): Promise<Set<number>> {
  const groups = new Set<number>();
  for (const pid of await protectedPids()) {
    const st = await readStat(pid);
    if (st) groups.add(st.pgid);
  }
  groups.add(0);
  groups.add(1);
  return groups;
}

/** SIGTERM → grace → SIGKILL the given pids (and the groups they lead). */
export async function killPids(pids: number[], opts: KillOptions): Promise<KillReport> {
  const safe = await protectedPids();
  const safeGroups = await protectedGroups();
  const spared: KillReport['spared'] = [];
  /** pid → start time: the one process each pid stands for. */
  const targets = new Map<number, number>();
  for (const p of new Set(pids)) {
    if (p <= 1 || safe.has(p)) { spared.push({ pid: p, why: p <= 1 ? 'pid 1 is init' : 'this agent or one of its ancestors' }); continue; }
    const st = readStatSync(p);
    if (!st || st.state === 'Z' || st.state === 'X') continue; // already gone
    const want = opts.expected?.get(p);
    if (want !== undefined && want !== st.starttime) { spared.push({ pid: p, why: 'pid reused by another process' }); continue; }
    const argv = st.kernelThread ? undefined : readCmdlineSync(p);
    const status = readStatusSync(p);
    const why = refusal(p, st, status, argv);
    if (why) { spared.push({ pid: p, why: `${describeProcess(p, argv, status?.uid)}: ${why}` }); continue; }
    targets.set(p, st.starttime);
  }
  if (spared.length > 0) opts.log?.warn(`not signalled: ${spared.map((s) => `${s.pid} (${s.why})`).join(', ')}`);
  const live = (): number[] => stillRunning(targets).map(([pid]) => pid);
  /*
   * A group is signalled only while a verified target is still in it (so the group id cannot
   * have been reused), and only when its leader was one of the instance's own processes.
   */
  const leaders = new Set<number>();
  for (const pid of targets.keys()) {
    const st = await readStat(pid);
    if (st && st.pgid === pid && !safeGroups.has(st.pgid)) leaders.add(pid);
  }
  const signal = async (sig: NodeJS.Signals, list: number[]): Promise<void> => {
    const groups = new Set<number>();
    for (const pid of list) {
      const st = await readStat(pid);
      if (st && leaders.has(st.pgid)) groups.add(st.pgid);
    }
    for (const g of groups) { try { process.kill(-g, sig); } catch { /* group gone */ } }
    // Each pid again just before its signal: the window for a reuse is one syscall wide.
    for (const pid of list) {
      if (!sameProcess(pid, targets.get(pid)!)) continue;
      try { process.kill(pid, sig); } catch { /* gone */ }
    }
  };
  const alive = live();
  if (alive.length === 0) return { signalled: [], survivors: [], forced: false, spared };
  opts.log?.trace(`SIGTERM to pids ${alive.join(' ')}${leaders.size ? ` and process groups ${[...leaders].join(' ')}` : ''}`);
  await signal('SIGTERM', alive);
  const graceEnd = Date.now() + opts.graceMs;
  let left = live();
  while (left.length > 0 && Date.now() < graceEnd) {
    await sleep(Math.min(100, graceEnd - Date.now()));
    left = live();
  }
  let forced = false;
  if (left.length > 0) {
    forced = true;
    opts.log?.warn(`SIGKILL to ${left.length} process(es) still running after ${opts.graceMs} ms: ${left.join(' ')}`);
    await signal('SIGKILL', left);
    const end = Date.now() + 3000;
    while (left.length > 0 && Date.now() < end) {
      await sleep(50);
      left = live();
    }
  }
  invalidateSnapshot();
  return { signalled: alive, survivors: left, forced, spared };
}
