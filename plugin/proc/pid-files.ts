/**
 * Pid files, checked against the kernel's view. A pid read from a pid file is evidence, not
 * truth: it counts only when it names a live process of the instance — not refused by
 * identity.ts (pid 1, a namespace's init, an ancestor, a thread id, a kernel thread, one of our
 * own processes), running as one of the instance's `Owners`, and passing the type's own test
 * (its argv, instance root or executable). Pid files are read bounded and never through a
 * symlink. A pid that fails is reported in one sentence: "names pid 4242, which is
 * /usr/sbin/sshd (uid 0), not this instance" and the rule it broke.
 */
import { closeSync, constants as fsc, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import { agentOwners, describeProcess, ownerRefusal, refusal, type Owners } from './identity';
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
   * program's or another user's): such a file is removed before a start. False for a missing
   * file, a valid one, or content that is not a pid at all (the path may be misconfigured:
   * never deleted).
   */
  stale: boolean;
  /** Why it does not count, as a phrase ("names pid 12, which is /usr/bin/sleep (uid 0), not this instance"). */
  why?: string;
  /** The rule the process broke ("it runs as uid 65534; this instance's processes run as root"). */
  rule?: string;
  /** Start time of the process it names (ok only): tells it from a later one with the same pid. */
  starttime?: number;
}

/** What makes a process this instance's, beyond the generic checks. */
export interface InstanceTest {
  /** The users its processes run as (default: the agent's user). */
  owners?: Owners;
  /** The type's own test of the process (argv, instance root, executable). */
  belongs?: (p: ProcessInfo) => boolean | Promise<boolean>;
  /** What `belongs` checks, for messages ("its command line contains no MonitorProcesses string"). */
  rule?: string;
}

/** "pid file F names pid N, …: ignored (rule)": the sentence for a monitor's reason or a log. */
export function pidFileSentence(v: PidFileVerdict): string {
  if (v.ok) return `pid file ${v.file} names pid ${v.pid}, a process of this instance`;
  return `pid file ${v.file} ${v.why ?? 'names no process of this instance'}${v.stale ? ': ignored' : ''}${v.rule ? ` (${v.rule})` : ''}`;
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
 * Checks a pid file: the pid must name a live, non-zombie process that no generic rule refuses
 * (identity.ts), running as one of the instance's owners, and passing the type's `belongs`.
 */
export async function checkPidFile(file: string, test: InstanceTest = {}): Promise<PidFileVerdict> {
  const n = readPidNumber(file);
  if (n.pid === undefined) return { file, ok: false, stale: false, why: n.why };
  const pid = n.pid;
  const gone = (): PidFileVerdict => ({ file, pid, ok: false, stale: true, why: `names pid ${pid}, which is not running` });
  const st = readStatSync(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return gone();
  const status = readStatusSync(pid);
  if (!status && !st.kernelThread) return gone();
  const argv = st.kernelThread ? undefined : readCmdlineSync(pid);
  const notOurs = (rule: string): PidFileVerdict => ({
    file, pid, ok: false, stale: true, rule,
    why: `names pid ${pid}, which is ${st.kernelThread ? 'a kernel thread' : describeProcess(pid, argv, status?.uid)}, not this instance`,
  });
  const generic = refusal(pid, st, status, argv);
  if (generic) return notOurs(generic);
  if (!argv || !status) return gone();
  const owner = ownerRefusal(status.uid, test.owners ?? agentOwners());
  if (owner) return notOurs(owner);
  const info: ProcessInfo = { pid, argv, cmdline: argv.join(' ') };
  if (test.belongs && !(await test.belongs(info))) return notOurs(test.rule ?? 'its command line is not the one this instance runs');
  // Re-read: the process may have exited (and the pid been reused) while we looked at it.
  const again = readStatSync(pid);
  if (!again || again.starttime !== st.starttime) return gone();
  return { file, pid, ok: true, stale: false, starttime: st.starttime };
}

/**
 * Removes the pid files that are stale (see PidFileVerdict.stale), after checking each again:
 * returns one sentence per file removed (or that could not be removed), naming file, pid and why.
 */
export async function removeStalePidFiles(verdicts: PidFileVerdict[], testOf: (file: string) => InstanceTest): Promise<string[]> {
  const out: string[] = [];
  for (const v of verdicts) {
    if (!v.stale) continue;
    const now = await checkPidFile(v.file, testOf(v.file));
    if (!now.stale) continue;
    const why = `${now.why}${now.rule ? ` (${now.rule})` : ''}`;
    try {
      unlinkSync(v.file);
      out.push(`stale pid file ${v.file} removed: it ${why}`);
    } catch (err) {
      out.push(`stale pid file ${v.file} (it ${why}) could not be removed: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  return out;
}
