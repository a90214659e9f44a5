/**
 * Pid files, checked against the kernel's view. A pid read from a pid file is evidence, not
 * truth: it counts only when it names a live thread-group leader (never a thread id: kill(tid)
 * would signal the whole process) that is not a kernel thread, not one of our own processes
 * (`ownProcess`: agents, coordinator, fence, CLI, PM2) and, where the caller says how, a process
 * of the instance. Pid files are read bounded and never through a symlink.
 * Not guaranteed: a pid file with neither a matcher nor a root to check against is trusted once
 * the checks above pass.
 */
import { closeSync, constants as fsc, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import { ownProcess } from './own';
import { readCmdlineSync, readStatSync, readStatusSync, type ProcessInfo } from './table';

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
