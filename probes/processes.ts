/**
 * First-level process detection from /proc (Linux only).
 *
 * Guarantees: a zombie (state Z or X) or a vanished pid is dead; a process is attributed to an
 * instance only when its command line contains the instance root as a whole path (so
 * `/srv/msg` never matches `/srv/msg2`); one monitor cycle reads /proc/<pid>/cmdline once per
 * process for all its matchers (the snapshot is cached for a few hundred ms); our own process
 * and its ancestors (the agent, PM2's daemon) are never reported. Not guaranteed: pid reuse
 * between a scan and a later kill (callers re-check cheaply with `isAlive`).
 *
 * Cost (why it is built this way): on a virtual machine a wakeup of a Node process and a read of
 * a /proc file each cost tens to hundreds of microseconds, and a node runs one agent process per
 * resource. So a monitor cycle re-checks the processes it found last time (one stat and one
 * cmdline read each) instead of rescanning all of /proc, and rescans only when one of them is
 * gone or every RESCAN_MS; and all exit watches of a process share one timer that reads each
 * watched pid's stat through a file descriptor kept open (no open/close per poll).
 */
import { closeSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ProcessMatcher } from '../plugin/agents/types';

export interface ProcessInfo {
  pid: number;
  /** argv as the kernel reports it (NUL-separated in /proc). */
  argv: string[];
  /** argv joined with single spaces, for substring matching. */
  cmdline: string;
}

export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
  /** Start time in clock ticks since boot: tells a process from a later one with the same pid. */
  starttime: number;
}

const SNAPSHOT_MAX_AGE_MS = 300;
let cached: { at: number; list: ProcessInfo[] } | undefined;

/** Reads /proc/<pid>/stat; undefined when the process is gone. */
export async function readStat(pid: number): Promise<ProcStat | undefined> {
  return readStatSync(pid);
}

/*
 * /proc lives in memory and never blocks like a disk or NFS can, and a synchronous read costs
 * a few microseconds where the promise API costs a thread-pool round trip per call: the scan
 * reads synchronously (measured: ~10x cheaper per cycle).
 */
function readStatSync(pid: number): ProcStat | undefined {
  try {
    return parseStat(pid, readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function parseStat(pid: number, text: string): ProcStat | undefined {
  // The command name may contain spaces and parentheses: fields start after the LAST ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 2).split(' ');
  return { pid, state: f[0] ?? '?', ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), starttime: Number(f[19]) };
}

/** True when the pid exists and is neither a zombie nor dead (Z/X count as exited). */
export async function isAlive(pid: number): Promise<boolean> {
  const st = await readStat(pid);
  return !!st && st.state !== 'Z' && st.state !== 'X';
}

export async function readCmdline(pid: number): Promise<string[] | undefined> {
  return readCmdlineSync(pid);
}

function readCmdlineSync(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!raw) return undefined; // kernel thread or zombie
    const argv = raw.split('\0');
    if (argv[argv.length - 1] === '') argv.pop();
    return argv;
  } catch {
    return undefined;
  }
}

async function readCwd(pid: number): Promise<string | undefined> {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** Our own pid and every ancestor up to init: never ours to match or kill. */
let protectedCache: Set<number> | undefined;
export async function protectedPids(): Promise<Set<number>> {
  if (protectedCache) return protectedCache;
  const set = new Set<number>([process.pid, 1]);
  let pid = process.ppid;
  for (let i = 0; i < 64 && pid > 1 && !set.has(pid); i++) {
    set.add(pid);
    const st = await readStat(pid);
    if (!st) break;
    pid = st.ppid;
  }
  // The ancestry of a running agent never changes except on reparenting to 1, so cache it.
  protectedCache = set;
  return set;
}

/**
 * One pass over /proc reading only cmdline. Kernel threads and zombies have an empty cmdline
 * and are skipped. The result is shared for SNAPSHOT_MAX_AGE_MS so that all resources checked
 * in one cycle pay for one scan.
 */
export async function snapshot(maxAgeMs = SNAPSHOT_MAX_AGE_MS): Promise<ProcessInfo[]> {
  const now = performance.now();
  if (cached && now - cached.at <= maxAgeMs) return cached.list;
  const skip = await protectedPids();
  const list: ProcessInfo[] = [];
  for (const e of readdirSync('/proc')) {
    const c = e.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(e);
    if (skip.has(pid)) continue;
    const argv = readCmdlineSync(pid);
    if (argv) list.push({ pid, argv, cmdline: argv.join(' ') });
  }
  list.sort((a, b) => a.pid - b.pid);
  cached = { at: performance.now(), list };
  return list;
}

/** Forget the cached snapshot (after a start or a kill, the next look must be fresh). */
export function invalidateSnapshot(): void {
  cached = undefined;
  known.clear();
}

/** True when `text` contains `root` as a whole path: followed by '/', a separator or the end. */
export function containsPath(text: string, root: string): boolean {
  const r = root.length > 1 && root.endsWith('/') ? root.slice(0, -1) : root;
  let from = 0;
  for (;;) {
    const i = text.indexOf(r, from);
    if (i < 0) return false;
    const next = text.charAt(i + r.length);
    if (next === '' || next === '/' || !/[A-Za-z0-9_.-]/.test(next)) return true;
    from = i + 1;
  }
}

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
  const cwd = await readCwd(p.pid);
  return !!cwd && isUnder(cwd, m.cwdUnder);
}

function isUnder(file: string, dir: string): boolean {
  const d = dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
  return file === d || file.startsWith(d + '/');
}

/** Reads a pid file: the pid when it names a live, non-zombie process; else undefined. */
export async function readPidFile(file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim().split(/\s+/)[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return (await isAlive(pid)) ? pid : undefined;
}

async function fromPidFile(m: ProcessMatcher): Promise<number | undefined> {
  if (!m.pidFile) return undefined;
  const pid = await readPidFile(m.pidFile);
  if (pid === undefined) return undefined;
  const argv = await readCmdline(pid);
  if (!argv) return undefined;
  return (await matches({ pid, argv, cmdline: argv.join(' ') }, m)) ? pid : undefined;
}

/*
 * What the last scan found for each matcher. Why: most monitor cycles find exactly the
 * processes of the cycle before, and re-checking those (stat + cmdline of each) costs a few
 * reads where a scan reads every process's cmdline. A full scan still runs when any of them is
 * gone or changed, when a matcher had none, on `fresh`, after invalidateSnapshot() (starts and
 * kills), and at least every RESCAN_MS so that the pid lists stay complete.
 */
const RESCAN_MS = 30_000;
const known = new Map<string, { at: number; procs: Array<{ pid: number; starttime: number }> }>();

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
  if (!k || k.procs.length === 0 || performance.now() - k.at > RESCAN_MS) return undefined;
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
  known.set(matcherKey(m), { at: performance.now(), procs });
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
 * Every live process of one instance: command line containing `root` as a path, or working
 * directory under `root`, plus all their descendants (children such as Dovecot's and
 * Postfix's lose the root in their titles). For killing leftovers of THIS instance only: a
 * relative or system-wide root (/, /usr, /opt, …) matches nothing but `extraPids`.
 */
export async function listInstanceProcesses(root: string, extraPids: number[] = []): Promise<number[]> {
  invalidateSnapshot();
  const skip = await protectedPids();
  const list = await snapshot(0);
  const found = new Set<number>();
  const rootNoSlash = path.resolve(root);
  if (isInstanceRoot(root)) await Promise.all(list.map(async (p) => {
    if (containsPath(p.cmdline, rootNoSlash)) { found.add(p.pid); return; }
    const cwd = await readCwd(p.pid);
    if (cwd && isUnder(cwd, rootNoSlash)) found.add(p.pid);
  }));
  for (const pid of extraPids) if (!skip.has(pid) && (await isAlive(pid))) found.add(pid);
  return [...(await withDescendants(found, list))].filter((pid) => !skip.has(pid)).sort((a, b) => a - b);
}

/** Adds every live descendant of `pids` (one stat read per listed process). */
export async function withDescendants(pids: Iterable<number>, list?: ProcessInfo[]): Promise<Set<number>> {
  const all = new Set<number>(pids);
  const procs = list ?? (await snapshot(0));
  const parent = new Map<number, number>();
  for (const p of procs) {
    const st = readStatSync(p.pid);
    if (st && st.state !== 'Z' && st.state !== 'X') parent.set(p.pid, st.ppid);
  }
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (!all.has(pid) && all.has(ppid)) { all.add(pid); grew = true; }
    }
  }
  return all;
}

/**
 * How often a watched pid is polled by default. Why 100 ms: a crash must be noticed well inside
 * the 400 ms crash-to-answering goal (the restart itself takes 100–200 ms), and one poll of a
 * few pids costs about as much as the wakeup itself (~0.1–0.2 ms here), so ten polls a second
 * cost about 0.1–0.2 % of a core per agent. Callers that watch many agents' worth of pids in one
 * process, or care more about CPU than latency, pass a longer interval.
 */
export const PID_WATCH_INTERVAL_MS = 100;

interface WatchEntry {
  /** pid → open fd of /proc/<pid>/stat (-1: could not open, i.e. already gone). */
  fds: Map<number, number>;
  onExit: (pid: number) => void;
  intervalMs: number;
  nextAt: number;
}

const watches = new Set<WatchEntry>();
let pollTimer: NodeJS.Timeout | undefined;
let pollAt = Number.POSITIVE_INFINITY;
const statBuf = Buffer.alloc(1024);

/*
 * A descriptor of /proc/<pid>/stat belongs to that very process: after it is reaped the read
 * fails (ESRCH), even if the pid has been reused meanwhile — so no start-time check is needed.
 */
function exitedByFd(fd: number): boolean {
  if (fd < 0) return true;
  try {
    const n = readSync(fd, statBuf, 0, statBuf.length, 0);
    const close = statBuf.lastIndexOf(0x29 /* ) */, n - 1);
    if (close < 0 || close + 2 >= n) return true;
    const state = statBuf[close + 2];
    return state === 0x5a /* Z */ || state === 0x58 /* X */;
  } catch {
    return true;
  }
}

function openStat(pid: number): number {
  try {
    return openSync(`/proc/${pid}/stat`, 'r');
  } catch {
    return -1;
  }
}

function closeFd(fd: number): void {
  if (fd < 0) return;
  try { closeSync(fd); } catch { /* already closed */ }
}

function schedulePoll(): void {
  let next = Number.POSITIVE_INFINITY;
  for (const w of watches) next = Math.min(next, w.nextAt);
  if (next === Number.POSITIVE_INFINITY) {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = undefined;
    pollAt = next;
    return;
  }
  if (pollTimer && pollAt <= next) return;
  if (pollTimer) clearTimeout(pollTimer);
  pollAt = next;
  pollTimer = setTimeout(poll, Math.max(0, next - performance.now()));
  pollTimer.unref?.();
}

/** One wakeup checks every watch that is due; exits are reported after the sweep. */
function poll(): void {
  pollTimer = undefined;
  pollAt = Number.POSITIVE_INFINITY;
  const now = performance.now();
  const exits: Array<[WatchEntry, number]> = [];
  for (const w of watches) {
    // 2 ms of slack so that a watch due a hair later than the timer fired is not left for a whole interval.
    if (w.nextAt > now + 2) continue;
    w.nextAt = now + w.intervalMs;
    for (const [pid, fd] of w.fds) {
      if (!exitedByFd(fd)) continue;
      closeFd(fd);
      w.fds.delete(pid);
      exits.push([w, pid]);
    }
    if (w.fds.size === 0) watches.delete(w);
  }
  if (exits.length > 0) invalidateSnapshot();
  for (const [w, pid] of exits) {
    // A watch stopped by an earlier callback of this sweep reports nothing more.
    if (w.nextAt === Number.NEGATIVE_INFINITY) continue;
    try { w.onExit(pid); } catch { /* the caller's bug must not stop other watches */ }
  }
  schedulePoll();
}

/**
 * Notices the exit of known pids at once: polls /proc/<pid>/stat every `intervalMs` (no /proc
 * rescan) through a descriptor opened when the watch starts; a zombie counts as exited, and so
 * does a pid that is already gone when the watch starts (reported at the first poll, right
 * away). `onExit` is called once per pid. Every watch of the process shares one timer. Stops by
 * itself when every pid has exited, or on stop().
 */
export function watchPids(pids: number[], onExit: (pid: number) => void, intervalMs = PID_WATCH_INTERVAL_MS): { stop(): void } {
  const w: WatchEntry = { fds: new Map(), onExit, intervalMs: Math.max(1, intervalMs), nextAt: performance.now() };
  for (const pid of new Set(pids)) w.fds.set(pid, openStat(pid));
  if (w.fds.size > 0) {
    watches.add(w);
    schedulePoll();
  }
  return {
    stop(): void {
      w.nextAt = Number.NEGATIVE_INFINITY; // marks it stopped, also for a sweep in progress
      const wasActive = watches.delete(w);
      for (const fd of w.fds.values()) closeFd(fd);
      w.fds.clear();
      if (wasActive) schedulePoll();
    },
  };
}
