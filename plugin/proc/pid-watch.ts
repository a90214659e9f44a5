/**
 * The exit watch of known pids, so a crash is noticed at once rather than at the next monitor.
 *
 * Cost (why it is built this way): on a virtual machine a wakeup of a Node process and a read of
 * a /proc file each cost tens to hundreds of microseconds, and a node runs one agent process per
 * resource. So all exit watches of a process share one timer, which reads each watched pid's
 * stat through a file descriptor kept open (no /proc rescan, no open/close per poll), and watches
 * of one interval are polled on one grid (the multiples of the interval), so that a coordinator
 * watching a hundred resources wakes up ten times a second, not a thousand.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { invalidateSnapshot } from './table';

/**
 * How often a watched pid is polled by default. Why 100 ms: a crash must be noticed well inside
 * the 400 ms crash-to-answering goal (the restart itself takes 100–200 ms), and one poll of a
 * few pids costs about as much as the wakeup itself (~0.1–0.2 ms here), so ten polls a second
 * cost about 0.1–0.2 % of a core per agent. Callers that watch many agents' worth of pids in one
 * process, or care more about CPU than latency, pass a longer interval.
 */
const PID_WATCH_INTERVAL_MS = 100;
/** A watch due this much after a poll is polled with it. */
const SLACK_MS = 2;

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
  // Rounded up: a timer that fires before the watches are due only wakes the process for nothing.
  pollTimer = setTimeout(poll, Math.max(0, Math.ceil(next - performance.now())));
  pollTimer.unref?.();
}

/** One wakeup checks every watch that is due; exits are reported after the sweep. */
function poll(): void {
  pollTimer = undefined;
  pollAt = Number.POSITIVE_INFINITY;
  const now = performance.now();
  const exits: Array<[WatchEntry, number]> = [];
  for (const w of watches) {
    // SLACK_MS so that a watch due a hair later than the timer fired is not left for a whole interval.
    if (w.nextAt > now + SLACK_MS) continue;
    // The next multiple of the interval after this poll's slack, not now + interval: watches of
    // one interval (one per running resource) share every wakeup instead of each paying for its own.
    w.nextAt = (Math.floor((now + SLACK_MS) / w.intervalMs) + 1) * w.intervalMs;
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
