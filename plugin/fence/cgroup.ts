/**
 * cgroup v2 containment for the fence: one cgroup per group under `<cgroup2>/msgha/<node>/`.
 * A process in the cgroup cannot leave it by forking, double-forking or setsid, so killing the
 * cgroup (cgroup.kill, else SIGKILL of every member until empty) kills everything the group's
 * services started after adoption.
 * Guarantees: usable() is true only when the cgroup2 hierarchy is mounted and writable here
 * (checked by creating our directory). Not guaranteed: processes created before adoption that
 * were not moved; a process stuck in uninterruptible I/O dies only when that I/O returns.
 * Only node: modules (the fence has no dependencies).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const SAFE = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_');

/** The cgroup2 mount point from /proc/self/mounts (e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified). */
export function findCgroup2Root(mounts = '/proc/self/mounts'): string | undefined {
  try {
    for (const line of fs.readFileSync(mounts, 'utf8').split('\n')) {
      const f = line.split(' ');
      if (f[2] === 'cgroup2' && f[1]) return f[1];
    }
  } catch { /* no /proc */ }
  return undefined;
}

/** The cgroup v2 path of this process relative to the hierarchy root ('0::/path' in /proc/self/cgroup). */
function ownCgroup(): string {
  try {
    const line = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
    return line ? line.slice(3) : '/';
  } catch { return '/'; }
}

export class Cgroups {
  readonly base: string;
  /** Where the fence itself lives; it returns there after each spawn. */
  private readonly origin: string;

  constructor(root: string, node: string) {
    this.base = path.join(root, 'msgha', SAFE(node));
    this.origin = path.join(root, ownCgroup());
  }

  static detect(node: string): Cgroups | undefined {
    if (process.env.MSGHA_FENCE_NO_CGROUP === '1') return undefined;
    const root = findCgroup2Root();
    if (!root) return undefined;
    const cg = new Cgroups(root, node);
    try {
      fs.mkdirSync(cg.base, { recursive: true });
      fs.accessSync(path.join(cg.base, 'cgroup.procs'), fs.constants.W_OK);
      return cg;
    } catch {
      return undefined;
    }
  }

  dir(group: string): string { return path.join(this.base, SAFE(group)); }

  ensure(group: string): string {
    const d = this.dir(group);
    fs.mkdirSync(d, { recursive: true });
    return d;
  }

  /** Moves one process (all its threads) into the group's cgroup. */
  add(group: string, pid: number): void {
    fs.writeFileSync(path.join(this.ensure(group), 'cgroup.procs'), String(pid));
  }

  /** Moves one process back to the fence's own cgroup (used by the fence around a spawn). */
  addToOrigin(pid: number): void {
    fs.writeFileSync(path.join(this.origin, 'cgroup.procs'), String(pid));
  }

  members(group: string): number[] {
    try {
      return fs.readFileSync(path.join(this.dir(group), 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** SIGKILLs every member: one write to cgroup.kill (the kernel signals them all, forks in flight too). */
  kill(group: string): void {
    const killFile = path.join(this.dir(group), 'cgroup.kill');
    try {
      fs.writeFileSync(killFile, '1');
    } catch {
      // kernels before 5.14 have no cgroup.kill: signal members until none is left
      for (let round = 0; round < 10; round++) {
        const left = this.members(group);
        if (!left.length) break;
        for (const pid of left) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      }
    }
  }

  remove(group: string): void {
    try { fs.rmdirSync(this.dir(group)); } catch { /* members left, or gone */ }
  }

  removeBase(): void {
    try { fs.rmdirSync(this.base); } catch { /* in use */ }
    try { fs.rmdirSync(path.dirname(this.base)); } catch { /* other nodes */ }
  }
}
