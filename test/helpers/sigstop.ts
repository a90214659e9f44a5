/**
 * SIGSTOP that tests can rely on: returns only once every thread of the processes is stopped.
 *
 * kill(pid, SIGSTOP) returning does not mean the process is stopped. The kernel queues the stop
 * for the whole thread group but wakes ONE thread (the main thread) to take it; the other
 * threads are told to stop only when that thread runs. Until then they run on: slapd's listener
 * and worker threads, woken by the probe's connection, accepted it and answered the cn=monitor
 * search in 2 ms while "stopped" (1 in 300 tries on an idle two-core machine; stopping every
 * thread took up to 6 ms idle and 16 ms with one core busy). A stopped thread shows state T in
 * /proc/<pid>/task/<tid>/stat, and nothing wakes it but SIGCONT/SIGKILL.
 */
import fs from 'node:fs';

/** The state letter of each thread of `pid`; empty once the process is gone. */
export function threadStates(pid: number): string[] {
  let tids: string[];
  try { tids = fs.readdirSync(`/proc/${pid}/task`); } catch { return []; }
  const out: string[] = [];
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const i = stat.lastIndexOf(')');
      out.push(stat.slice(i + 2, i + 3));
    } catch { /* thread just exited */ }
  }
  return out;
}

/** Every thread of `pid` stopped (T), exiting (Z, X), or the process gone. */
export function fullyStopped(pid: number): boolean {
  return threadStates(pid).every((s) => s === 'T' || s === 'Z' || s === 'X');
}

/**
 * SIGSTOPs each pid (a pid already gone is skipped) and resolves once all their threads are
 * stopped; rejects after `timeoutMs` naming the threads still running. Pids are pushed to
 * `stopped` as they are signalled, so the caller's finally can SIGCONT them even on rejection.
 */
export async function sigstopAll(pids: number[], stopped: number[] = [], timeoutMs = 5000): Promise<number[]> {
  for (const pid of pids) {
    try { process.kill(pid, 'SIGSTOP'); stopped.push(pid); } catch { /* already gone */ }
  }
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const running = stopped.filter((pid) => !fullyStopped(pid));
    if (running.length === 0) return stopped;
    if (performance.now() > deadline) {
      throw new Error(`SIGSTOP not in effect after ${timeoutMs} ms: ${running.map((p) => `${p} [${threadStates(p).join('')}]`).join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** SIGCONT to each pid; gone ones are skipped. */
export function sigcontAll(pids: number[]): void {
  for (const pid of pids) { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } }
}
