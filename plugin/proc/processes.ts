/**
 * First-level process detection from /proc (Linux only).
 *
 * Guarantees: a zombie (state Z or X) or a vanished pid is dead; a process is attributed to an
 * instance only when its command line contains the instance root as a whole path (so
 * `/srv/msg` never matches `/srv/msg2`); one monitor cycle reads /proc/<pid>/cmdline once per
 * process for all its matchers (the snapshot is cached for a few hundred ms); our own process
 * and its ancestors (the agent, PM2's daemon) are never reported. A pid read from a pid file is
 * evidence, not truth: it counts only when it names a live thread-group leader (never a thread
 * id: kill(tid) would signal the whole process) that is not a kernel thread, not one of our own
 * processes (`ownProcess`: agents, coordinator, fence, CLI, PM2) and, where the caller says how,
 * a process of the instance; pid files are read bounded and never through a symlink.
 * Not guaranteed: pid reuse between a scan and a later kill (callers re-check the start time,
 * `sameProcess`); a pid file with neither a matcher nor a root to check against is trusted once
 * the checks above pass.
 *
 * Cost (why it is built this way): on a virtual machine a wakeup of a Node process and a read of
 * a /proc file each cost tens to hundreds of microseconds, and a node runs one agent process per
 * resource. So a monitor cycle re-checks the processes it found last time (one stat and one
 * cmdline read each) instead of rescanning all of /proc, and rescans only when one of them is
 * gone or every RESCAN_MS; and all exit watches of a process share one timer that reads each
 * watched pid's stat through a file descriptor kept open (no open/close per poll).
 */
import { closeSync, constants as fsc, fstatSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, realpathSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../core/package-root';
import type { ProcessMatcher } from '../core/results';

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

/** The working directory of a process (as this mount namespace sees it), undefined when unreadable. */
export function cwdOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

async function readCwd(pid: number): Promise<string | undefined> {
  return cwdOf(pid);
}

/** Our own pid and every ancestor up to init: never ours to match or kill. */
let protectedCache: Set<number> | undefined;
export async function protectedPids(): Promise<Set<number>> {
  return protectedPidsSync();
}

function protectedPidsSync(): Set<number> {
  if (protectedCache) return protectedCache;
  const set = new Set<number>([process.pid, 1]);
  let pid = process.ppid;
  for (let i = 0; i < 64 && pid > 1 && !set.has(pid); i++) {
    set.add(pid);
    const st = readStatSync(pid);
    if (!st) break;
    pid = st.ppid;
  }
  // The ancestry of a running agent never changes except on reparenting to 1, so cache it.
  protectedCache = set;
  return set;
}

/** Tgid and real uid from /proc/<pid>/status (first 4 KiB: both come early). */
function readStatusSync(pid: number): { tgid: number; uid: number } | undefined {
  let text: string;
  try { text = readBounded(`/proc/${pid}/status`, 4096); } catch { return undefined; }
  const tgid = /^Tgid:\s*(\d+)/m.exec(text);
  const uid = /^Uid:\s*(\d+)/m.exec(text);
  if (!tgid || !uid) return undefined;
  return { tgid: Number(tgid[1]), uid: Number(uid[1]) };
}

/** The process a pid belongs to (its thread-group id; equal to pid for a process), undefined when gone. */
export function threadGroupOf(pid: number): number | undefined {
  return readStatusSync(pid)?.tgid;
}

/** At most `max` bytes of a file, never through a symlink (O_NOFOLLOW) and never from a FIFO. */
function readBounded(file: string, max: number): string {
  const fd = openSync(file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(max);
    let n = 0;
    while (n < max) {
      const r = readSync(fd, buf, n, max - n, null);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

const PM2_DAEMON_TITLE = /^PM2 v[\d.]+: God Daemon/;
let ownCode: { root: string; nodeExe: string } | undefined;

function ownCodeInfo(): { root: string; nodeExe: string } {
  if (!ownCode) {
    let nodeExe = process.execPath;
    try { nodeExe = realpathSync(process.execPath); } catch { /* keep the path as given */ }
    ownCode = { root: packageRoot(), nodeExe };
  }
  return ownCode;
}

/** The script a Node process runs: its first non-option argument (a retitled process has one argv word). */
function scriptOf(argv: string[]): string | undefined {
  const words = argv.length === 1 ? argv[0]!.split(/\s+/).filter(Boolean) : argv;
  return words.slice(1).find((w) => !w.startsWith('-'));
}

/**
 * Why `pid` is one of our own processes, or undefined. Ours: this process and its ancestors
 * (the agent, PM2's daemon, init); of our uid only: a process titled as PM2's God Daemon, and any Node process
 * whose script is under this package's directory (agents, coordinator, fence, the
 * CLI, and PM2 or test runners installed there) or in a `pm2` package (PM2's fork containers).
 * Decided from the kernel's view (/proc exe, status, cmdline), never from a pid file.
 */
export function ownProcess(pid: number, argv?: string[]): string | undefined {
  if (protectedPidsSync().has(pid)) return pid === process.pid ? 'this agent process itself' : 'an ancestor of this agent (PM2 or init)';
  const args = argv ?? readCmdlineSync(pid);
  if (!args || args.length === 0) return undefined;
  // Only processes of our own user count: anybody can give a process PM2's title or our paths.
  const status = readStatusSync(pid);
  if (!status || status.uid !== (process.getuid?.() ?? 0)) return undefined;
  if (PM2_DAEMON_TITLE.test(args[0]!)) return "PM2's daemon";
  let exe: string;
  try { exe = readlinkSync(`/proc/${pid}/exe`); } catch { return undefined; }
  const own = ownCodeInfo();
  if (exe !== own.nodeExe && !/^node(js)?[\d.]*$/.test(path.basename(exe))) return undefined;
  const script = scriptOf(args);
  if (!script || !path.isAbsolute(script)) return undefined;
  if (isUnder(path.resolve(script), own.root)) return `our own Node process (${script})`;
  if (path.resolve(script).includes('/node_modules/pm2/')) return `a PM2 process (${script})`;
  return undefined;
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

/** True when `file` is `dir` or inside it (paths compared as strings, no symlink resolution). */
export function isUnder(file: string, dir: string): boolean {
  const d = dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
  return file === d || file.startsWith(d + '/');
}

/** What a pid file says, after checking it against the kernel's view. */
export interface PidFileVerdict {
  file: string;
  /** The number in the file, when there is one. */
  pid?: number;
  /** True when `pid` names a live process of the instance: the only case where it counts. */
  ok: boolean;
  /**
   * True when the file holds a pid that is not this instance's (gone, a thread, ours, another
   * program's): such a file is removed before a start. False for a missing file, a valid one,
   * or content that is not a pid at all (the path may be misconfigured: never deleted).
   */
  stale: boolean;
  /** Why it does not count, as a phrase ("names pid 12, a thread of process 10"). */
  why?: string;
  /** Start time of the process it names (ok only): tells it from a later one with the same pid. */
  starttime?: number;
}

/** Reads the pid number of a pid file: bounded (64 bytes), regular files only, no symlinks. */
function readPidNumber(file: string): { pid?: number; why?: string; missing?: boolean } {
  let text: string;
  try {
    const fd = openSync(file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
    try {
      if (!fstatSync(fd).isFile()) return { why: 'is not a regular file' };
      const buf = Buffer.alloc(64);
      const n = readSync(fd, buf, 0, buf.length, 0);
      text = buf.subarray(0, n).toString('latin1');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { missing: true, why: 'does not exist' };
    if (code === 'ELOOP') return { why: 'is a symbolic link (not followed)' };
    return { why: `cannot be read (${code ?? String(err)})` };
  }
  const m = /^\s*(\d{1,10})\s*$/.exec(text);
  if (!m) return { why: 'does not hold a pid' };
  const pid = Number(m[1]);
  return pid > 0 ? { pid } : { why: 'does not hold a pid' };
}

/**
 * Checks a pid file: the pid must name a live, non-zombie thread-group leader with a command
 * line (not a kernel thread), not one of our own processes, and — when `belongs` is given — a
 * process of the instance. `belongs` gets the process's pid and argv.
 */
export async function checkPidFile(file: string, belongs?: (p: ProcessInfo) => boolean | Promise<boolean>): Promise<PidFileVerdict> {
  const n = readPidNumber(file);
  if (n.pid === undefined) return { file, ok: false, stale: false, why: n.why };
  const pid = n.pid;
  const bad = (why: string): PidFileVerdict => ({ file, pid, ok: false, stale: true, why: `names pid ${pid}, ${why}` });
  const st = readStatSync(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return bad('which is not running');
  const status = readStatusSync(pid);
  if (!status) return bad('which is not running');
  // /proc/<tid> exists for every thread, and kill(tid) signals the whole process it belongs to.
  if (status.tgid !== pid) return bad(`a thread of process ${status.tgid}, not a process`);
  const argv = readCmdlineSync(pid);
  if (!argv) return bad('a kernel thread');
  const own = ownProcess(pid, argv);
  if (own) return bad(`one of our own processes (${own})`);
  const info: ProcessInfo = { pid, argv, cmdline: argv.join(' ') };
  if (belongs && !(await belongs(info))) return bad(`which is not this instance (${shorten(info.cmdline)})`);
  // Re-read: the process may have exited (and the pid been reused) while we looked at it.
  const again = readStatSync(pid);
  if (!again || again.starttime !== st.starttime) return bad('which is not running');
  return { file, pid, ok: true, stale: false, starttime: st.starttime };
}

function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** Reads a pid file: the pid when it names a live process that may be an instance's (checkPidFile without an instance test). */
export async function readPidFile(file: string): Promise<number | undefined> {
  const v = await checkPidFile(file);
  return v.ok ? v.pid : undefined;
}

/**
 * Removes the pid files that are stale (see PidFileVerdict.stale), after checking each again:
 * returns one sentence per file removed (or that could not be removed), naming file, pid and why.
 */
export async function removeStalePidFiles(verdicts: PidFileVerdict[], belongsOf: (file: string) => ((p: ProcessInfo) => boolean | Promise<boolean>) | undefined): Promise<string[]> {
  const out: string[] = [];
  for (const v of verdicts) {
    if (!v.stale) continue;
    const now = await checkPidFile(v.file, belongsOf(v.file));
    if (!now.stale) continue;
    try {
      unlinkSync(v.file);
      out.push(`stale pid file ${v.file} removed: it ${now.why}`);
    } catch (err) {
      out.push(`stale pid file ${v.file} (it ${now.why}) could not be removed: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  return out;
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
    const cwd = await readCwd(p.pid);
    if (cwd && usable.some((r) => isUnder(cwd, r))) found.add(p.pid);
  }));
  for (const pid of extraPids) if (!skip.has(pid) && (await isAlive(pid))) found.add(pid);
  const all = [...(await withDescendants(found, list))].filter((pid) => !skip.has(pid));
  return all.filter((pid) => !ownProcess(pid)).sort((a, b) => a - b);
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

/** Start time of a live, non-zombie process (undefined when gone): with the pid, names one process. */
export function startTimeOf(pid: number): number | undefined {
  const st = readStatSync(pid);
  return st && st.state !== 'Z' && st.state !== 'X' ? st.starttime : undefined;
}

/** True when `pid` is still the live process that had `starttime` (not a later one reusing the pid). */
export function sameProcess(pid: number, starttime: number): boolean {
  return startTimeOf(pid) === starttime;
}

/** The entries of `procs` (pid → start time) that are still those same live processes. */
export function stillRunning(procs: Iterable<[number, number]>): Array<[number, number]> {
  return [...procs].filter(([pid, t]) => sameProcess(pid, t));
}

/**
 * `pids` and all their live descendants, each with its start time, read from
 * /proc/<pid>/task/<tid>/children: cost grows with the size of the tree, not with the number
 * of processes on the machine (for a monitor cycle). At most `max` entries. Falls back to one
 * /proc scan when the kernel has no children files (CONFIG_PROC_CHILDREN off).
 */
export function treeOf(pids: Iterable<number>, max = 4096): Map<number, number> {
  const out = new Map<number, number>();
  const queue: number[] = [];
  for (const pid of pids) {
    const t = startTimeOf(pid);
    if (t !== undefined && !out.has(pid)) { out.set(pid, t); queue.push(pid); }
  }
  let childrenFiles = true;
  while (queue.length > 0 && out.size < max) {
    const pid = queue.shift()!;
    let tids: string[];
    try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tids) {
      let text: string;
      try { text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1'); } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && tid === String(pid) && startTimeOf(pid) !== undefined) childrenFiles = false;
        continue;
      }
      for (const w of text.split(' ')) {
        const child = Number(w);
        if (!Number.isInteger(child) || child <= 0 || out.has(child)) continue;
        const t = startTimeOf(child);
        if (t === undefined) continue;
        out.set(child, t);
        queue.push(child);
      }
    }
    if (!childrenFiles) break;
  }
  if (!childrenFiles) {
    const parent = new Map<number, { ppid: number; starttime: number }>();
    for (const e of readdirSync('/proc')) {
      const c = e.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const st = readStatSync(Number(e));
      if (st && st.state !== 'Z' && st.state !== 'X') parent.set(st.pid, { ppid: st.ppid, starttime: st.starttime });
    }
    let grew = true;
    while (grew && out.size < max) {
      grew = false;
      for (const [pid, p] of parent) if (!out.has(pid) && out.has(p.ppid)) { out.set(pid, p.starttime); grew = true; }
    }
  }
  return out;
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
