/**
 * What a component's processes cost together, for `pm2 show <app>`: CPU (utime + stime from
 * /proc/<pid>/stat) in % of one core since the previous reading, and memory as PSS (smaps_rollup:
 * shared pages split among their users, so the daemons of two components never count twice).
 *
 * Guarantees: reads never throw (a process gone between two readings counts as nothing); CPU is
 * counted only for processes seen at both readings, so a new daemon's past never shows as a spike.
 * Assumes the kernel's USER_HZ of 100 (every Linux architecture we run on).
 */
import { readFileSync } from 'node:fs';
import { readStatSync } from './table';

const USER_HZ = 100;

export interface Usage { cpuPercent: number; memoryMb: number }

/** Proportional set size in kB; undefined when the process is gone (or the kernel has no smaps_rollup). */
export function pssKb(pid: number): number | undefined {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** A reader that remembers its previous reading (one per component). */
export function usageSampler(now: () => number = () => performance.now()): (pids: readonly number[]) => Usage | undefined {
  let last = new Map<number, number>();
  let lastAt = 0;
  return (pids) => {
    if (pids.length === 0) { last = new Map(); return undefined; }
    const ticks = new Map<number, number>();
    for (const p of pids) {
      const t = readStatSync(p)?.cpuTicks;
      if (t !== undefined) ticks.set(p, t);
    }
    const at = now();
    let used = 0;
    for (const [p, t] of ticks) if (last.has(p)) used += t - last.get(p)!;
    const seconds = (at - lastAt) / 1000;
    const cpuPercent = lastAt > 0 && seconds > 0 ? Math.round((used / USER_HZ / seconds) * 1000) / 10 : 0;
    last = ticks;
    lastAt = at;
    const memoryMb = Math.round(pids.reduce((s, p) => s + (pssKb(p) ?? 0), 0) / 102.4) / 10;
    return { cpuPercent, memoryMb };
  };
}
