/**
 * Process trees: the live descendants of some pids (children of daemons such as Dovecot's and
 * Postfix's lose the instance root in their titles, so they are found through their parents).
 * Callers hand in only pids already verified as the instance's (pid files and matches that
 * passed identity.ts and the owner rule): the descendants of anything else are not ours to kill.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { readStatSync, snapshot, startTimeOf, type ProcessInfo } from './table';

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
