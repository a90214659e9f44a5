/**
 * Kills what is left of ONE instance: SIGTERM, a grace period, then SIGKILL.
 *
 * Guarantees: only the pids handed in (found by pid file, matcher or instance root) and the
 * process groups led by one of them are signalled — never by a broad name; our own process, its
 * ancestors (the agent, PM2's daemon, init) and their process groups are never signalled; a
 * zombie counts as gone. Returns the pids that survived SIGKILL (normally none).
 */
import type { Logger } from '../log';
import { invalidateSnapshot, isAlive, listInstanceProcesses, protectedPids, readCmdline, readPidFile, readStat } from '../../probes/processes';
import { sleep } from '../../probes/deadline';

export interface KillOptions {
  /** Time between SIGTERM and SIGKILL. */
  graceMs: number;
  log?: Logger;
}

export interface KillReport {
  /** Pids that were signalled. */
  signalled: number[];
  /** Pids still alive after SIGKILL (should be empty). */
  survivors: number[];
  /** True when SIGKILL was needed. */
  forced: boolean;
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

async function aliveOf(pids: Iterable<number>): Promise<number[]> {
  const out: number[] = [];
  for (const pid of pids) if (await isAlive(pid)) out.push(pid);
  return out;
}

/** SIGTERM → grace → SIGKILL the given pids (and the groups they lead). */
export async function killPids(pids: number[], opts: KillOptions): Promise<KillReport> {
  const safe = await protectedPids();
  const safeGroups = await protectedGroups();
  const targets = new Set<number>();
  for (const p of pids) {
    if (p <= 1 || safe.has(p)) continue;
    // Belt and braces: a PM2 daemon is never an instance's leftover, whatever its paths say.
    const argv = await readCmdline(p);
    if (argv && /^PM2 v[\d.]+: God Daemon/.test(argv[0] ?? '')) continue;
    targets.add(p);
  }
  const groups = new Set<number>();
  for (const pid of targets) {
    const st = await readStat(pid);
    // A group is ours to kill only when its leader is one of the instance's own processes.
    if (st && st.pgid === pid && !safeGroups.has(st.pgid)) groups.add(st.pgid);
  }
  const signal = (sig: NodeJS.Signals, list: Iterable<number>): void => {
    for (const g of groups) { try { process.kill(-g, sig); } catch { /* group gone */ } }
    for (const pid of list) { try { process.kill(pid, sig); } catch { /* gone */ } }
  };
  const alive = await aliveOf(targets);
  if (alive.length === 0) return { signalled: [], survivors: [], forced: false };
  opts.log?.trace(`SIGTERM to pids ${alive.join(' ')}${groups.size ? ` and process groups ${[...groups].join(' ')}` : ''}`);
  signal('SIGTERM', alive);
  const graceEnd = Date.now() + opts.graceMs;
  let left = alive;
  while (left.length > 0 && Date.now() < graceEnd) {
    await sleep(Math.min(100, graceEnd - Date.now()));
    left = await aliveOf(left);
  }
  let forced = false;
  if (left.length > 0) {
    forced = true;
    opts.log?.warn(`SIGKILL to ${left.length} process(es) still running after ${opts.graceMs} ms: ${left.join(' ')}`);
    signal('SIGKILL', left);
    const end = Date.now() + 3000;
    while (left.length > 0 && Date.now() < end) {
      await sleep(50);
      left = await aliveOf(left);
    }
  }
  invalidateSnapshot();
  return { signalled: alive, survivors: left, forced };
}

/**
 * Kills every process of the instance under `root` (command line or cwd under it, and their
 * descendants) plus the processes named by `pidFiles` and `extraPids`.
 */
export async function killInstance(
  root: string | undefined,
  opts: KillOptions & { pidFiles?: string[]; extraPids?: number[] },
): Promise<KillReport> {
  const extra = [...(opts.extraPids ?? [])];
  for (const f of opts.pidFiles ?? []) {
    const pid = await readPidFile(f);
    if (pid !== undefined) extra.push(pid);
  }
  const pids = root ? await listInstanceProcesses(root, extra) : extra;
  return killPids(pids, opts);
}
