/**
 * First-level process detection: which live processes are an instance's daemons (matchers:
 * pid file, daemon name, instance root, working directory), and every process of an instance
 * (for killing its leftovers).
 *
 * Guarantees: a process is attributed to an instance only when its command line contains the
 * instance root as a whole path (so `/srv/msg` never matches `/srv/msg2`); one monitor cycle
 * reads /proc/<pid>/cmdline once per process for all its matchers (the shared snapshot); our own
 * process, its ancestors and our other processes (`ownProcess`) are never reported.
 * Not guaranteed: pid reuse between a scan and a later kill (callers re-check the start time,
 * `sameProcess`).
 *
 * Cost (why it is built this way): on a virtual machine a read of a /proc file costs tens to
 * hundreds of microseconds, and a node runs one agent process per resource. So a monitor cycle
 * re-checks the processes it found last time (one stat and one cmdline read each) instead of
 * rescanning all of /proc, and rescans only when one of them is gone or every RESCAN_MS.
 */
import * as path from 'node:path';
import type { ProcessMatcher } from '../core/results';
import { ownProcess } from './own';
import { containsPath, isUnder } from './paths';
import { checkPidFile } from './pid-files';
import {
  SNAPSHOT_MAX_AGE_MS, cwdOf, invalidateSnapshot, isAlive, protectedPids, readCmdlineSync, readStatSync, snapshot, snapshotGeneration,
  type ProcessInfo,
} from './table';
import { withDescendants } from './tree';

/**
 * Does the daemon `name` appear in argv? As the basename of argv[0] (or of a word of argv[0],
 * for processes that retitle themselves, e.g. "stored -d /srv/msg"), as the basename of
 * argv[1] (interpreted daemons: `node /srv/msg/lib/stored`), or as a component of a path
 * argument. Bare words in later arguments do not count: `msstart -k sched store` is not sched.
 */
export function nameMatches(argv: string[], name: string): boolean {
  if (argv.length === 0) return false;
  const first = argv[0]!.split(/\s+/).filter(Boolean);
  for (const w of first) if (path.basename(w) === name) return true;
  if (argv.length > 1 && path.basename(argv[1]!) === name) return true;
  for (const arg of [...first, ...argv.slice(1)]) {
    if (!arg.includes('/')) continue;
    for (const part of arg.split(/[/=:,\s]+/)) if (part === name) return true;
  }
  return false;
}

function matchesWithoutCwd(p: ProcessInfo, m: ProcessMatcher): boolean {
  if (m.match === 'substring') return p.cmdline.includes(m.name) && (!m.root || containsPath(p.cmdline, m.root));
  if (!nameMatches(p.argv, m.name)) return false;
  return !m.root || containsPath(p.cmdline, m.root);
}

async function matches(p: ProcessInfo, m: ProcessMatcher): Promise<boolean> {
  if (matchesWithoutCwd(p, m)) return true;
  if (!m.cwdUnder) return false;
  const nameOk = m.match === 'substring' ? p.cmdline.includes(m.name) : nameMatches(p.argv, m.name);
  if (!nameOk) return false;
  const cwd = cwdOf(p.pid);
  return !!cwd && isUnder(cwd, m.cwdUnder);
}

/** The matcher's test for a process named by a pid file. */
export function matcherBelongs(m: ProcessMatcher): (p: ProcessInfo) => Promise<boolean> {
  return (p) => matches(p, m);
}

async function fromPidFile(m: ProcessMatcher): Promise<number | undefined> {
  if (!m.pidFile) return undefined;
  const v = await checkPidFile(m.pidFile, matcherBelongs(m));
  return v.ok ? v.pid : undefined;
}

/*
 * What the last scan found for each matcher. Why: most monitor cycles find exactly the
 * processes of the cycle before, and re-checking those (stat + cmdline of each) costs a few
 * reads where a scan reads every process's cmdline. A full scan still runs when any of them is
 * gone or changed, when a matcher had none, on `fresh`, after invalidateSnapshot() (starts and
 * kills), and at least every RESCAN_MS so that the pid lists stay complete.
 */
const RESCAN_MS = 30_000;
/** `generation`: the snapshot generation it was learnt in; invalidateSnapshot() outdates it. */
const known = new Map<string, { at: number; generation: number; procs: Array<{ pid: number; starttime: number }> }>();

function matcherKey(m: ProcessMatcher): string {
  return JSON.stringify([m.name, m.root ?? '', m.cwdUnder ?? '', m.match ?? 'name']);
}

/**
 * The matcher's known pids when every one is still the same live, matching process; 'changed'
 * when one of them is gone or different (the caller then needs a fresh scan, not a cached one);
 * undefined when nothing usable is known.
 */
async function stillKnown(m: ProcessMatcher): Promise<number[] | 'changed' | undefined> {
  const k = known.get(matcherKey(m));
  if (!k || k.generation !== snapshotGeneration() || k.procs.length === 0 || performance.now() - k.at > RESCAN_MS) return undefined;
  const pids: number[] = [];
  for (const { pid, starttime } of k.procs) {
    const st = readStatSync(pid);
    if (!st || st.state === 'Z' || st.state === 'X' || st.starttime !== starttime) return 'changed';
    const argv = readCmdlineSync(pid);
    if (!argv || !(await matches({ pid, argv, cmdline: argv.join(' ') }, m))) return 'changed';
    pids.push(pid);
  }
  return pids;
}

function remember(m: ProcessMatcher, pids: number[]): void {
  const procs: Array<{ pid: number; starttime: number }> = [];
  for (const pid of pids) {
    const st = readStatSync(pid);
    if (st) procs.push({ pid, starttime: st.starttime });
  }
  known.set(matcherKey(m), { at: performance.now(), generation: snapshotGeneration(), procs });
}

/**
 * Finds the processes of every matcher: pid files first (a live, non-zombie pid whose command
 * line matches), then the processes found last time if they are all still there (not with
 * `fresh`), then one shared /proc snapshot for the matchers still unsettled. Returns matcher
 * name → pids (empty array when none). Matchers with the same name share a key.
 */
export async function findProcesses(matchers: ProcessMatcher[], opts: { fresh?: boolean } = {}): Promise<Map<string, number[]>> {
  const result = new Map<string, number[]>();
  const add = (name: string, pid: number): void => {
    const pids = result.get(name)!;
    if (!pids.includes(pid)) pids.push(pid);
  };
  const pending: ProcessMatcher[] = [];
  let fresh = opts.fresh === true;
  for (const m of matchers) {
    if (!result.has(m.name)) result.set(m.name, []);
    const pid = await fromPidFile(m);
    if (pid !== undefined) { add(m.name, pid); continue; }
    const again = fresh ? undefined : await stillKnown(m);
    if (Array.isArray(again)) { for (const p of again) add(m.name, p); continue; }
    // A known process is gone: a snapshot from before its exit would not show its replacement.
    if (again === 'changed') fresh = true;
    pending.push(m);
  }
  if (pending.length > 0) {
    const list = await snapshot(fresh ? 0 : SNAPSHOT_MAX_AGE_MS);
    const found = new Map<ProcessMatcher, number[]>(pending.map((m) => [m, []]));
    for (const p of list) {
      for (const m of pending) {
        if (await matches(p, m)) found.get(m)!.push(p.pid);
      }
    }
    // The snapshot may be a few hundred ms old: a matched pid must still be alive now.
    for (const [m, pids] of found) {
      const live: number[] = [];
      for (const pid of pids) if (await isAlive(pid)) live.push(pid);
      remember(m, live);
      for (const pid of live) add(m.name, pid);
    }
  }
  return result;
}

/*
 * Roots that are never an instance's own directory: killing "every process whose command line
 * contains /usr" would take the machine down. A misconfigured ServerRoot must not do that.
 */
const SYSTEM_DIRS = new Set(['/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/media', '/mnt',
  '/opt', '/proc', '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/usr/bin', '/usr/lib', '/usr/libexec',
  '/usr/local', '/usr/local/bin', '/usr/local/sbin', '/usr/sbin', '/usr/share', '/var', '/var/lib', '/var/run', '/var/tmp']);

/** True when `root` is absolute and not a system-wide directory (safe to kill everything under it). */
export function isInstanceRoot(root: string): boolean {
  if (!path.isAbsolute(root)) return false;
  return !SYSTEM_DIRS.has(path.resolve(root));
}

/**
 * Every live process of one instance: command line containing one of `roots` as a path, or
 * working directory under one, plus all their descendants (children such as Dovecot's and
 * Postfix's lose the root in their titles). For killing leftovers of THIS instance only: a
 * relative or system-wide root (/, /usr, /opt, …) matches nothing but `extraPids`; our own
 * processes (ownProcess: an agent whose working directory is under a root) are never listed.
 */
export async function listInstanceProcesses(roots: string | readonly string[], extraPids: number[] = []): Promise<number[]> {
  invalidateSnapshot();
  const skip = await protectedPids();
  const list = await snapshot(0);
  const found = new Set<number>();
  const usable = (typeof roots === 'string' ? [roots] : roots).filter(isInstanceRoot).map((r) => path.resolve(r));
  if (usable.length > 0) await Promise.all(list.map(async (p) => {
    if (usable.some((r) => containsPath(p.cmdline, r))) { found.add(p.pid); return; }
    const cwd = cwdOf(p.pid);
    if (cwd && usable.some((r) => isUnder(cwd, r))) found.add(p.pid);
  }));
  for (const pid of extraPids) if (!skip.has(pid) && (await isAlive(pid))) found.add(pid);
  const all = [...(await withDescendants(found, list))].filter((pid) => !skip.has(pid));
  return all.filter((pid) => !ownProcess(pid)).sort((a, b) => a - b);
}
