/**
 * Who holds a TCP port we wanted to listen on: the listening socket's owner (uid, from
 * /proc/net/tcp and tcp6, this network namespace) and, when `findPid` is set, the process that
 * has it open (a scan of /proc/<pid>/fd, so only when the socket changed).
 *
 * Guarantees: never throws (unreadable /proc gives undefined); reads only /proc and /etc/passwd.
 * Not guaranteed: the pid of a socket held by a process in another PID namespace (then only the uid).
 */
import * as fs from 'node:fs';

export interface PortOwner {
  /** The listening socket's owner. */
  uid: number;
  user?: string;
  /** Kernel inode of the socket: the same holder keeps the same inode. */
  inode: number;
  pid?: number;
  command?: string;
}

const LISTEN = '0A';

/** The listening socket on `port` (any local address), or undefined. */
export function portOwner(port: number, findPid = true): PortOwner | undefined {
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try { text = fs.readFileSync(table, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode …
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== LISTEN) continue;
      if (parseInt(f[1]!.split(':').pop()!, 16) !== port) continue;
      const uid = Number(f[7]);
      const inode = Number(f[9]);
      const owner: PortOwner = { uid, inode, ...userOf(uid) };
      if (findPid && inode > 0) Object.assign(owner, processOf(inode));
      return owner;
    }
  }
  return undefined;
}

/** e.g. "uid 65534 (nobody), pid 4242 python3" */
export function describeOwner(o: PortOwner): string {
  return `uid ${o.uid}${o.user ? ` (${o.user})` : ''}${o.pid ? `, pid ${o.pid}${o.command ? ` ${o.command}` : ''}` : ''}`;
}

function userOf(uid: number): { user?: string } {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === uid && id !== '') return { user: name };
    }
  } catch { /* no name */ }
  return {};
}

function processOf(inode: number): { pid?: number; command?: string } {
  const want = `socket:[${inode}]`;
  let pids: string[];
  try { pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return {}; }
  for (const pid of pids) {
    let fds: string[];
    try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      let target: string;
      try { target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
      if (target !== want) continue;
      let command: string | undefined;
      try { command = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { /* exited */ }
      return { pid: Number(pid), ...(command ? { command } : {}) };
    }
  }
  return {};
}
