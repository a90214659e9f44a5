/**
 * The mount table (/proc/self/mountinfo) and the rules for an NFS shared directory's mount
 * options. Parsing and rules are pure, so they are checked on recorded lines as well as on the
 * live table.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MountEntry } from '../proc/mountinfo';

export type { MountEntry } from '../proc/mountinfo';


/** The mount a path lives on: the last-mounted entry whose mount point is the longest prefix. */
export function mountOf(mounts: readonly MountEntry[], file: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const inside = file === m.mountPoint || m.mountPoint === '/' || file.startsWith(m.mountPoint + '/');
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** The real path of `file`, or of its nearest existing parent (a path not created yet). */
export function realPathOrParent(file: string): string {
  let p = path.resolve(file);
  const rest: string[] = [];
  for (;;) {
    try { return path.join(fs.realpathSync(p), ...rest); } catch {
      if (p === '/') return path.join('/', ...rest);
      rest.unshift(path.basename(p));
      p = path.dirname(p);
    }
  }
}

export const isMountPoint = (mounts: readonly MountEntry[], dir: string): boolean => mounts.some((m) => m.mountPoint === dir);

export type StorageKind = 'nfs' | 'cluster-fs' | 'network-other' | 'block' | 'memory';

export function storageKind(fsType: string): StorageKind {
  if (fsType === 'nfs' || fsType === 'nfs4') return 'nfs';
  if (fsType === 'gfs2' || fsType === 'ocfs2') return 'cluster-fs';
  if (['cifs', 'smb3', 'glusterfs', 'ceph', 'fuse.glusterfs', 'fuse.sshfs', '9p', 'virtiofs'].includes(fsType)) return 'network-other';
  if (fsType === 'tmpfs' || fsType === 'ramfs') return 'memory';
  return 'block';
}

const option = (opts: readonly string[], name: string): string | undefined => {
  const hit = [...opts].reverse().find((o) => o === name || o.startsWith(name + '='));
  return hit === undefined ? undefined : hit.includes('=') ? hit.slice(hit.indexOf('=') + 1) : '';
};

export interface OptionVerdict { level: 'FAIL' | 'WARN'; text: string; fix: string }

/** Linux's default acdirmax when the table does not show one. */
const DEFAULT_ACDIRMAX_S = 60;

/**
 * The NFS client options the lease relies on (docs/preflight.md, shared-dir.nfs-options):
 * `hard` (a `soft` mount returns errors for writes that may still land, and the mail store with
 * it can lose data); writable; close-to-open consistency (the lease reads with a fresh open each
 * time); directory attributes cached no longer than the `nfs` profile's poll interval, so a
 * follower's listing sees a new epoch file within a poll or two.
 */
export function nfsOptionVerdicts(opts: readonly string[], mountPoint: string, pollMs: number): OptionVerdict[] {
  const out: OptionVerdict[] = [];
  const remount = (o: string): string => `set \`${o}\` for ${mountPoint} in /etc/fstab, then: umount ${mountPoint} && mount ${mountPoint}`;
  if (option(opts, 'soft') !== undefined || option(opts, 'softerr') !== undefined) {
    out.push({ level: 'FAIL', text: 'mounted `soft`: an NFS call that times out returns an error although the write may still reach the server', fix: remount('hard (drop soft/softerr)') });
  }
  if (option(opts, 'ro') !== undefined) out.push({ level: 'FAIL', text: 'mounted read-only', fix: remount('rw') });
  if (option(opts, 'nocto') !== undefined) {
    out.push({ level: 'FAIL', text: '`nocto` turns off close-to-open consistency: a fresh open may read stale lease bytes', fix: remount('cto (drop nocto)') });
  }
  const noac = option(opts, 'noac') !== undefined;
  const acdirmax = Number(option(opts, 'acdirmax') ?? option(opts, 'actimeo') ?? DEFAULT_ACDIRMAX_S);
  if (!noac && Number.isFinite(acdirmax) && acdirmax * 1000 > pollMs) {
    out.push({ level: 'WARN', text: `directory attributes are cached up to ${acdirmax} s (acdirmax): a node may list a new epoch file that late (no two holders follow from it, only a slower view)`, fix: remount('actimeo=1 (or acdirmax=1)') });
  }
  return out;
}
