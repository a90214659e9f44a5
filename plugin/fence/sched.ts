/**
 * Scheduling of the fence process. After a thaw (SIGCONT of a paused node) the fence and the
 * group's daemons become runnable at the same instant; under SCHED_FIFO the fence preempts them
 * at once and its kill lands before they get a time slice worth having (sbd runs SCHED_RR for the
 * same reason). Set with util-linux `chrt` (Node has no sched_setscheduler) on the main thread,
 * which runs the timers and the kill, with SCHED_RESET_ON_FORK so that nothing it starts
 * (threads, daemons, umount) inherits real-time priority or a negative nice value: V8's helper
 * threads at real-time priority could keep the killed daemons from running their exit.
 * Guarantees: never throws; describes what was obtained. Not guaranteed: locked memory — Node
 * cannot call mlockall without a native addon, so a fence page evicted under memory pressure
 * costs a page fault on the wake-up path (the fence keeps its heap small instead).
 * Only node: modules (the fence has no dependencies).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

const POLICY: Record<number, string> = { 0: 'SCHED_OTHER', 1: 'SCHED_FIFO', 2: 'SCHED_RR', 3: 'SCHED_BATCH', 5: 'SCHED_IDLE' };

function chrt(args: string[]): boolean {
  const r = spawnSync('chrt', args, { stdio: 'ignore', timeout: 5000 });
  return r.status === 0;
}

/** 'SCHED_FIFO 10', 'SCHED_OTHER nice -10', … from /proc/<pid>/stat (policy, rt_priority, nice). */
export function describeSched(pid = process.pid): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 19 (nice), 40 (rt_priority), 41 (policy) of proc(5), counted from field 3 here.
    const nice = Number(f[16]);
    const rt = Number(f[37]);
    const policy = POLICY[Number(f[38]) & 0xff] ?? `policy ${f[38]}`;
    return rt > 0 ? `${policy} ${rt}` : `${policy} nice ${nice}`;
  } catch {
    return 'unknown';
  }
}

/**
 * SCHED_FIFO `priority` (1–99; 0 = none) for the main thread, else nice −10. Either way with
 * reset-on-fork, so spawned daemons run as ordinary processes.
 */
export function raisePriority(priority: number): string {
  const pid = String(process.pid);
  const rt = priority > 0 && chrt(['--reset-on-fork', '--fifo', '--pid', String(Math.min(99, Math.round(priority))), pid]);
  if (!rt) {
    try { os.setPriority(-10); } catch { /* not permitted */ }
    chrt(['--reset-on-fork', '--other', '--all-tasks', '--pid', '0', pid]);
  }
  return describeSched();
}
