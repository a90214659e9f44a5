/**
 * Whose a process is, from the kernel's view only (never from a pid file or a title): the checks
 * a pid must pass before it counts as an instance's process or may be signalled, and the owner
 * rule.
 *
 * Guarantees: `refusal` refuses pid 1, the init of a nested PID namespace (a container's or a
 * node's), this process and its ancestors, a thread id (kill(tid) signals the whole process), a
 * kernel thread and our own processes (own.ts: agents, coordinator, fence, CLI, PM2). An
 * instance's processes run as one of its `Owners` (real uid: a setuid program started by nobody
 * is still nobody's). Every refusal is a phrase that says what the process is and which rule it
 * broke ("/usr/sbin/sshd (uid 0)", "it runs as uid 0; this instance's processes run as User mail
 * (uid 8)").
 */
import { ownProcess } from './own';
import { exeOf, protectedPidsSync, readCmdlineSync, type ProcStat, type ProcStatus } from './table';

/** The users an instance's processes may run as (real uids), and how to name them in a message. */
export interface Owners {
  uids: readonly number[];
  /** "root", "User mail (uid 8)", …: for messages. */
  what: string;
}

/** The agent's own user: whose processes an instance has when the resource names no user. */
export function agentOwners(): Owners {
  const uid = process.getuid?.() ?? 0;
  return { uids: [uid], what: uid === 0 ? 'root' : `uid ${uid} (the agent's user)` };
}

/**
 * Why `pid` can never be an instance's process nor be signalled, as a phrase; undefined when no
 * generic rule refuses it. `stat` and `status` are the caller's reads of it (status undefined:
 * gone; stat may be left out for a process that has a command line: no kernel thread has one).
 */
export function refusal(pid: number, stat: ProcStat | undefined, status: ProcStatus | undefined, argv?: string[]): string | undefined {
  if (pid <= 1) return 'pid 1 is init';
  if (protectedPidsSync().has(pid)) return pid === process.pid ? 'it is this agent process itself' : 'it is an ancestor of this agent (PM2 or init)';
  if (stat?.kernelThread) return 'it is a kernel thread';
  if (!status) return undefined;
  if (status.tgid !== pid) return `it is a thread of process ${status.tgid}, not a process`;
  if (status.namespaceInit) return 'it is the init of a nested PID namespace (a container or a node)';
  const own = ownProcess(pid, argv ?? readCmdlineSync(pid), status.uid);
  if (own) return `it is one of our own processes (${own})`;
  return undefined;
}

/** Why a process of uid `uid` is not one of `owners`'; undefined when it is. */
export function ownerRefusal(uid: number, owners: Owners): string | undefined {
  if (owners.uids.includes(uid)) return undefined;
  return `it runs as uid ${uid}; this instance's processes run as ${owners.what}`;
}

/** "/usr/sbin/sshd (uid 0)": the executable (else argv[0]) and real uid of a process, for messages. */
export function describeProcess(pid: number, argv: string[] | undefined, uid: number | undefined): string {
  const exe = exeOf(pid) ?? argv?.[0] ?? 'an unreadable process';
  return `${printable(exe)}${uid === undefined ? '' : ` (uid ${uid})`}`;
}

/**
 * A name or command line chosen by whoever started the process, made safe for one log line:
 * control characters escaped (\n, \x1b, …), cut to `max` characters.
 */
export function printable(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  // eslint-disable-next-line no-control-regex
  return cut.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}
