/**
 * Checks of the shared directory: on shared storage and mounted, the coordinator's own start-up
 * check (owner and mode of every directory it uses), NFS mount options, and the lease I/O
 * latency measured against each profile's T_io, with the profile to use.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execProgram } from '../core/exec';
import { leaseRoot } from '../lease';
import { PROFILES, getProfile, validateTimings, type ProfileName } from '../lease/profiles';
import { compiledScript } from '../lease/script-path';
import type { TreeCheck } from '../lease/store';
import type { ResolvedCluster } from '../model/cluster-types';
import { isMountPoint, mountOf, nfsOptionVerdicts, realPathOrParent, storageKind, type MountEntry, type StorageKind } from './mounts';
import { latencyOf, type Latency } from './latency';
import { fail, pass, warn, type CheckResult } from './result';
import { readMountinfo } from '../proc/mountinfo';

export { latencyOf, type Latency } from './latency';

/** How long the latency is measured (the issue: "a few seconds"). */
export const MEASURE_MS = 3000;

/** Profiles in order of preference for each storage kind (the first that meets T4 is advised). */
const PREFERENCE: Readonly<Record<StorageKind, readonly ProfileName[]>> = {
  nfs: ['nfs'],
  'network-other': ['nfs'],
  'cluster-fs': ['local', 'nfs'],
  block: ['fast', 'local', 'nfs'],
  memory: ['fast', 'local', 'nfs'],
};

/** Profiles whose T_io is at least 5 × the measured p99 (rule T4, lease.md). */
export function profilesMeetingT4(p99Ms: number): ProfileName[] {
  return (Object.keys(PROFILES) as ProfileName[]).filter((n) => validateTimings(PROFILES[n].timings, p99Ms).length === 0);
}

export function recommendProfile(kind: StorageKind, p99Ms: number): ProfileName | undefined {
  const ok = profilesMeetingT4(p99Ms);
  return PREFERENCE[kind].find((n) => ok.includes(n));
}

/** Mount-level verdicts (pure, so recorded mount tables can be checked). */
export function mountVerdicts(shared: string, real: string, mount: MountEntry | undefined, mounts: readonly MountEntry[], nodes: number, pollMs: number): CheckResult[] {
  const out: CheckResult[] = [];
  const where = mount ? `${mount.fsType} ${mount.source} mounted on ${mount.mountPoint}` : 'no mount found';
  const mountFix = `mount the shared file system on ${shared} on EVERY node at this same path (e.g. /etc/fstab: nfs-server:/srv/msgha ${shared} nfs hard,actimeo=1,_netdev 0 0), then: mount ${shared}`;
  const kind = mount ? storageKind(mount.fsType) : 'block';
  if (!mount) out.push(fail('shared-dir.mounted', shared, `cannot find the mount of ${real}`, mountFix));
  else if (nodes >= 2 && (kind === 'block' || kind === 'memory')) {
    out.push(fail('shared-dir.mounted', shared, `${real} is on ${where}: a file system of this node only, so the other nodes do not see the leases`, mountFix));
  } else if (kind === 'network-other') {
    out.push(warn('shared-dir.mounted', shared, `${real} is on ${where}: link() as an atomic create and O_DSYNC writes seen by the next open on every node are not verified for ${mount.fsType}`, `prefer NFS (v4.1 or later) or a cluster file system (GFS2, OCFS2): ${mountFix}`));
  } else {
    const own = isMountPoint(mounts, real) ? 'its own mount' : `inside ${mount.mountPoint}`;
    out.push(pass('shared-dir.mounted', shared, `${real} is on ${where} (${own}); mount it at this same path on every node`));
  }
  if (mount && kind === 'nfs') {
    const v = nfsOptionVerdicts(mount.options, mount.mountPoint, pollMs);
    if (!v.length) out.push(pass('shared-dir.nfs-options', mount.mountPoint, `NFS options ${mount.options.join(',')}: hard, writable, close-to-open, short directory caching`));
    for (const x of v) out.push((x.level === 'FAIL' ? fail : warn)('shared-dir.nfs-options', mount.mountPoint, `${x.text} (options: ${mount.options.join(',')})`, x.fix));
  }
  return out;
}

interface ChildReport { tree?: TreeCheck | { error: string }; latency?: Latency; ioError?: string }

export async function checkSharedDir(cluster: ResolvedCluster, mountsFile?: string): Promise<CheckResult[]> {
  const shared = cluster.settings.sharedDir;
  if (!shared) return [pass('shared-dir.mounted', 'cluster.sharedDir', 'not set: one node, no lease')];
  const real = realPathOrParent(shared);
  if (!fs.existsSync(shared)) {
    return [fail('shared-dir.mounted', shared, `${shared} does not exist`, `mkdir -p ${shared} && chmod 755 ${shared}, then mount the shared file system on it on every node (docs/preflight.md)`)];
  }
  const mounts = readMountinfo(mountsFile);
  const mount = mountOf(mounts, real);
  const profile = getProfile(cluster.settings.lease?.profile);
  const out = mountVerdicts(shared, real, mount, mounts, cluster.settings.nodes.length, profile.timings.pollMs);

  const tmp = path.join(shared, `.msgha-preflight.${process.pid}.${crypto.randomBytes(4).toString('hex')}`);
  const script = compiledScript(__dirname, 'shared-dir-child');
  const groups = cluster.groups.map((g) => g.name).join(',');
  const deadline = MEASURE_MS + 20_000;
  const r = await execProgram([process.execPath, script, leaseRoot(shared, cluster.settings.name), groups, tmp, String(MEASURE_MS)], { timeoutMs: deadline });
  fs.rmSync(tmp, { force: true });
  let rep: ChildReport | undefined;
  try { rep = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as ChildReport; } catch { /* below */ }
  if (!rep) {
    const why = r.timedOut ? `did not finish within ${deadline / 1000} s (the storage hangs?)` : `failed (${r.stderr.trim().split('\n').pop() || r.spawnError?.message || `exit ${r.code}, no report`})`;
    out.push(fail('shared-dir.latency', shared, `the shared-directory check ${why}`, `check the storage: stat ${shared}; mount | grep ' ${mount?.mountPoint ?? shared} '`));
    return out;
  }
  const treeFix = `chown root:root ${shared} ${path.join(shared, '.cluster')}; chmod 755 ${shared} ${path.join(shared, '.cluster')} (and every directory below); over NFS export it to the cluster's nodes only with no_root_squash (docs/security.md)`;
  if (rep.tree && 'error' in rep.tree) out.push(fail('shared-dir.owner-mode', shared, `the coordinator would refuse it: ${rep.tree.error}`, treeFix));
  else if (rep.tree?.squashed) out.push(warn('shared-dir.owner-mode', shared, `this node's files there are owned by uid ${rep.tree.ownerUid}, not root (NFS root_squash): any process of that uid on any client can delete them`, '/etc/exports on the server: /srv/msgha mx1(rw,sync,no_root_squash,no_subtree_check) mx2(…); exportfs -ra'));
  else out.push(pass('shared-dir.owner-mode', shared, `${shared}, .cluster/${cluster.settings.name} and every directory below: owned by root, not writable by group or others`));

  const lat = rep.latency;
  if (rep.ioError || !lat) {
    out.push(fail('shared-dir.latency', shared, `cannot write a temp file in ${shared}: ${rep.ioError ?? 'no sample'}`, `touch ${path.join(shared, '.probe')} && rm ${path.join(shared, '.probe')} as root; check the mount is rw and no_root_squash`));
    return out;
  }
  out.push(latencyVerdict(shared, lat, mount ? storageKind(mount.fsType) : 'block', profile.name as ProfileName));
  return out;
}

export function latencyVerdict(shared: string, lat: Latency, kind: StorageKind, configured: ProfileName): CheckResult {
  const ms = (x: number): string => `${x < 10 ? x.toFixed(2) : x.toFixed(0)} ms`;
  const each = (Object.keys(PROFILES) as ProfileName[]).map((n) => `${n} (T_io ${PROFILES[n].timings.ioTimeoutMs} ms) ${validateTimings(PROFILES[n].timings, lat.p99Ms).length ? 'too slow' : 'ok'}`).join(', ');
  const seen = `lease I/O over ${MEASURE_MS / 1000} s: ${lat.samples} writes, p50 ${ms(lat.p50Ms)}, p99 ${ms(lat.p99Ms)}, max ${ms(lat.maxMs)}; T_io must be ≥ 5 × p99: ${each}`;
  const best = recommendProfile(kind, lat.p99Ms);
  const set = (p: string): string => `cluster: { lease: { profile: '${p}' } } in the cluster file, the same on every node (docs/lease.md, Timing profiles and their rules)`;
  if (!profilesMeetingT4(lat.p99Ms).includes(configured)) {
    return fail('shared-dir.latency', shared, `${seen}; the configured profile '${configured}' breaks rule T4`, best ? set(best) : `the storage is too slow for every profile: find what delays writes (nfsstat -c, the server's disk), then run msgha preflight again`);
  }
  if (best && best !== configured) return warn('shared-dir.latency', shared, `${seen}; '${configured}' works, '${best}' is advised for ${kind} storage`, set(best));
  return pass('shared-dir.latency', shared, `${seen}; profile '${configured}' fits`);
}
