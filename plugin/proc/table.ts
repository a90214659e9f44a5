/**
 * Reading the /proc process table (Linux only): one process's stat, status, cmdline and cwd, and
 * the snapshot of every process's command line that one monitor cycle shares.
 *
 * Guarantees: a zombie (state Z or X) or a vanished pid is dead; reads never throw (a process
 * that is gone reads as undefined); the snapshot leaves out this process and its ancestors, and
 * is reused for a few hundred ms so that all resources checked in one cycle pay for one scan.
 * Not guaranteed: that a pid still names the same process a moment later (compare start times:
 * `sameProcess`).
 */
import { closeSync, constants as fsc, openSync, readFileSync, readSync, readdirSync, readlinkSync } from 'node:fs';

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
  /** A kernel thread (PF_KTHREAD): never a daemon, never ours to signal. */
  kernelThread: boolean;
  /** utime + stime in clock ticks (USER_HZ). */
  cpuTicks: number;
  /** cutime + cstime: the children it waited for, in clock ticks. */
  childCpuTicks: number;
}

/** The kernel's flag for its own threads (include/linux/sched.h). */
const PF_KTHREAD = 0x00200000;

/** How long one snapshot is reused (one monitor cycle of all resources). */
export const SNAPSHOT_MAX_AGE_MS = 300;

/** Reads /proc/<pid>/stat; undefined when the process is gone. */
export async function readStat(pid: number): Promise<ProcStat | undefined> {
  return readStatSync(pid);
}

/*
 * /proc lives in memory and never blocks like a disk or NFS can, and a synchronous read costs
 * a few microseconds where the promise API costs a thread-pool round trip per call: the scan
 * reads synchronously (measured: ~10x cheaper per cycle).
 */
export function readStatSync(pid: number): ProcStat | undefined {
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
  return {
    pid, state: f[0] ?? '?', ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), starttime: Number(f[19]),
    kernelThread: (Number(f[6]) & PF_KTHREAD) !== 0,
    cpuTicks: Number(f[11]) + Number(f[12]), childCpuTicks: Number(f[13]) + Number(f[14]),
  };
}

/** True when the pid exists and is neither a zombie nor dead (Z/X count as exited). */
export async function isAlive(pid: number): Promise<boolean> {
  const st = readStatSync(pid);
  return !!st && st.state !== 'Z' && st.state !== 'X';
}

/** argv of a process; undefined when it is gone, a kernel thread or a zombie (empty cmdline). */
export function readCmdlineSync(pid: number): string[] | undefined {
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

/** What /proc/<pid>/status says about who a process is. */
export interface ProcStatus {
  /** One letter, as in stat: Z and X are dead. */
  state: string;
  tgid: number;
  /** Real uid: the user who runs it (a setuid program run by nobody still has nobody's real uid). */
  uid: number;
  /** The process is pid 1 of a PID namespace nested in ours (a container's or a node's init). */
  namespaceInit: boolean;
}

/** Tgid, real uid and PID-namespace position from /proc/<pid>/status (first 4 KiB: all come early). */
export function readStatusSync(pid: number): ProcStatus | undefined {
  let text: string;
  try { text = readBounded(`/proc/${pid}/status`, 4096); } catch { return undefined; }
  const state = /^State:\s*(\S)/m.exec(text)?.[1] ?? '?';
  const tgid = /^Tgid:\s*(\d+)/m.exec(text);
  const uid = /^Uid:\s*(\d+)/m.exec(text);
  if (!tgid || !uid) return undefined;
  // NSpid lists the pid in our namespace first and in the process's own namespace last.
  const nspid = /^NSpid:\s*([\d\s]+?)\s*$/m.exec(text)?.[1]?.split(/\s+/) ?? [];
  const namespaceInit = nspid.length > 1 && nspid[nspid.length - 1] === '1';
  return { state, tgid: Number(tgid[1]), uid: Number(uid[1]), namespaceInit };
}

/** The executable a process runs (as this mount namespace sees it), undefined when unreadable or a kernel thread. */
export function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
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

/** Our own pid and every ancestor up to init: never ours to match or kill. */
let protectedCache: Set<number> | undefined;
export async function protectedPids(): Promise<Set<number>> {
  return protectedPidsSync();
}

export function protectedPidsSync(): Set<number> {
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

let cached: { at: number; list: ProcessInfo[] } | undefined;
/** Counts invalidateSnapshot() calls: caches built on a scan (matching.ts) are stale once it moves. */
let generation = 0;

/**
 * One pass over /proc reading only cmdline. Kernel threads and zombies have an empty cmdline
 * and are skipped. The result is shared for SNAPSHOT_MAX_AGE_MS so that all resources checked
 * in one cycle pay for one scan.
 */
export async function snapshot(maxAgeMs = SNAPSHOT_MAX_AGE_MS): Promise<ProcessInfo[]> {
  const now = performance.now();
  if (cached && now - cached.at <= maxAgeMs) return cached.list;
  const skip = protectedPidsSync();
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
  generation++;
}

/** Changes on every invalidateSnapshot(): what was learnt from an older scan is not to be reused. */
export function snapshotGeneration(): number {
  return generation;
}
