/**
 * Rules across resources (and across groups): listeners on the same host and port, one
 * virtual address or mount point claimed twice, one server instance managed by two resources
 * or two groups, and start orders that would run a server before its disk or its core.
 * With the cluster section: cluster.fence (the watchdog and its timeout against the lease
 * profile) and shared disks with a non-cluster file system but no watchdog.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { keyFilePath, keyFileProblem } from '../secrets/key-file';
import { checkWatchdogMs, defaultWatchdogMs, getProfile, MIN_WATCHDOG_MS } from '../lease/profiles';
import { isPlainObject, portMap, str, type CheckedResource, type Report } from '../model/check-context';
import { CLUSTER_KEYS, LEASE_PROFILES, keyDefault } from './keys';
import { reachable } from './graph';
import { listOf, pathProblem } from '../model/values';
import { parseIPv4Cidr } from '../core/net';
import { checkLinks } from './network-rules';

interface Listener { host: string; port: number; label: string; r: CheckedResource }

/** Every host:port a resource listens on (or probes, for Application). */
function listeners(r: CheckedResource): Listener[] {
  const out: Listener[] = [];
  const add = (host: unknown, port: unknown, label: string): void => {
    if (typeof host === 'string' && typeof port === 'number' && Number.isInteger(port) && port > 0 && port <= 65535) out.push({ host: host.toLowerCase().replace(/\.$/, ''), port, label, r });
  };
  const a = r.attrs;
  switch (r.type.name) {
    case 'SunJESMsg':
      for (const [s, p] of Object.entries(portMap(a.MsgServices))) add(a.MsgHost, p, `MsgServices.${s}`);
      break;
    case 'NetscapeMsg':
      for (const [s, p] of Object.entries(portMap(a.Ports))) add(a.MsgHost, p, `Ports.${s}`);
      break;
    case 'SunJESAdm':
      add(a.AdminHost, a.AdminPort, 'AdminPort');
      break;
    case 'SunJESLDAP':
      add(a.LDAPHost, a.LDAPPort, 'LDAPPort');
      add(a.LDAPHost, a.SSLPort, 'SSLPort');
      break;
    case 'Application':
      for (const [s, p] of Object.entries(portMap(a.ProbeServices))) add(a.ProbeHost, p, `ProbeServices.${s}`);
      break;
  }
  return out;
}

function checkPorts(report: Report, all: readonly CheckedResource[]): void {
  const byAddress = new Map<string, Listener>();
  for (const r of all) {
    for (const l of listeners(r)) {
      const key = `${l.host}:${l.port}`;
      const first = byAddress.get(key);
      if (!first) { byAddress.set(key, l); continue; }
      const other = first.r === r ? first.label : `${first.r.where} (${first.label})`;
      report.error(r.where, l.label.split('.')[0]!, `port ${l.port} on ${l.host} (${l.label}) is also used by ${other}`,
        'give each listener its own port, or its own virtual host');
    }
  }
}

/** `value` of attribute `attr` must be unique among resources of `type`. */
function unique(report: Report, all: readonly CheckedResource[], type: string, attr: string, key: (v: string) => string | undefined, what: string): void {
  const seen = new Map<string, CheckedResource>();
  for (const r of all) {
    if (r.type.name !== type) continue;
    const v = str(r.attrs[attr]);
    const k = v === undefined ? undefined : key(v);
    if (k === undefined) continue;
    const first = seen.get(k);
    if (first) report.error(r.where, attr, `${what} ${k} is also used by ${first.where}`);
    else seen.set(k, r);
  }
}

const normPath = (p: string): string => path.posix.normalize(p).replace(/(.)\/$/, '$1');

/** Roots of server instances; the same root in two resources is the same instance. */
const ROOT_ATTR: Record<string, string> = { SunJESMsg: 'ServerRoot', SunJESAdm: 'ServerRoot', SunJESLDAP: 'InstanceRoot', NetscapeMsg: 'ServerRoot' };

function checkInstances(report: Report, all: readonly CheckedResource[]): void {
  const byRoot = new Map<string, CheckedResource[]>();
  for (const r of all) {
    const attr = ROOT_ATTR[r.type.name];
    const root = attr ? str(r.attrs[attr]) : undefined;
    if (!attr || root === undefined) continue;
    const key = `${r.type.name}\0${normPath(root)}`;
    byRoot.set(key, [...(byRoot.get(key) ?? []), r]);
  }
  for (const [key, rs] of byRoot) {
    const [type, root] = key.split('\0') as [string, string];
    const attr = ROOT_ATTR[type]!;
    const groups = [...new Set(rs.map((r) => r.group))];
    if (groups.length > 1) {
      report.warn(rs[0]!.where, attr, `${attr} ${root} is used by groups ${groups.join(', ')}: one instance would be started by two groups`,
        'give each group its own instance');
    }
    if (type === 'SunJESMsg') checkMsgInstance(report, root, rs, all);
    else {
      const why = type === 'NetscapeMsg' ? 'one NetscapeMsg instance per server root' : 'one resource per instance';
      for (const r of rs.slice(1)) report.error(r.where, attr, `${attr} ${root} is already managed by ${rs[0]!.where} (${why})`);
    }
  }
}

/** One messaging server instance split over several resources (core + services). */
function checkMsgInstance(report: Report, root: string, rs: readonly CheckedResource[], all: readonly CheckedResource[]): void {
  const owner = new Map<string, CheckedResource>();
  for (const r of rs) {
    for (const s of Object.keys(portMap(r.attrs.MsgServices))) {
      const first = owner.get(s);
      if (first && first !== r) report.error(r.where, 'MsgServices', `service ${s} of ServerRoot ${root} is already managed by ${first.where}`);
      else owner.set(s, r);
    }
  }
  const smtp = owner.get('smtp');
  const lmtp = owner.get('lmtp');
  if (smtp && lmtp && smtp !== lmtp) {
    report.error(lmtp.where, 'MsgServices', `lmtp of ServerRoot ${root} is in another resource than smtp (${smtp.where}): they cannot be controlled separately`,
      'list smtp and lmtp in the same resource');
  }
  const msg = rs.filter((r) => r.attrs.ServerType !== 'MMP');
  const core = owner.get('core');
  if (!core && msg.length > 0) {
    report.warn(msg[0]!.where, 'MsgServices', `no resource has core for ServerRoot ${root}: store, sched and watcher are not managed`,
      'add a resource with MsgServices { core: <watcher port> }');
  }
  const imap = owner.get('imap');
  for (const r of msg) {
    const needs = requiredBy(r, all);
    if (core && core !== r && core.group === r.group && !needs.has(core.name)) {
      report.warn(r.where, 'requires', `does not require ${core.name} (core of the same ServerRoot): the services could start before store and sched`,
        `add "${core.name}" to requires`);
    }
    const services = Object.keys(portMap(r.attrs.MsgServices));
    if (services.includes('http') && imap && imap !== r && imap.group === r.group && !needs.has(imap.name)) {
      report.warn(r.where, 'requires', `webmail (http) reads the store over IMAP but does not require ${imap.name}`, `add "${imap.name}" to requires`);
    }
  }
}

/** Names of every resource `r` requires, directly or not. */
function requiredBy(r: CheckedResource, all: readonly CheckedResource[]): Set<string> {
  const byName = new Map(all.filter((x) => x.group === r.group).map((x) => [x.name, x.requires]));
  return reachable(r.name, (n) => byName.get(n) ?? []);
}

/** A server whose root is on a mounted disk must start after the Mount resource. */
function checkMountOrder(report: Report, all: readonly CheckedResource[]): void {
  const mounts = all.filter((r) => r.type.name === 'Mount' && str(r.attrs.MountPoint) !== undefined);
  for (const r of all) {
    const attr = ROOT_ATTR[r.type.name] ?? (r.type.name === 'Application' ? 'ProcessRoot' : undefined);
    if (!attr) continue;
    for (const root of listOf(r.attrs[attr])) for (const m of mounts) {
      const mp = normPath(str(m.attrs.MountPoint)!);
      const inside = normPath(root) === mp || normPath(root).startsWith(mp === '/' ? '/' : `${mp}/`);
      if (!inside || mp === '/') continue;
      if (m.group !== r.group) {
        report.warn(r.where, attr, `${root} is on ${mp}, which is mounted by another group (${m.where})`, 'keep a server in the same group as its disk');
      } else if (!requiredBy(r, all).has(m.name)) {
        report.warn(r.where, 'requires', `${attr} ${root} is on ${mp} but the resource does not require ${m.name}: it could start before the disk is mounted`,
          `add "${m.name}" to requires (directly or through another resource)`);
      }
    }
  }
}

/** File systems that several nodes may mount at once, or that are not on a shared block device. */
const SAFE_FS = new Set(['gfs2', 'ocfs2', 'nfs', 'nfs4', 'cifs', 'smb3', 'ceph', 'glusterfs', 'fuse.glusterfs', 'fuse.sshfs', 'tmpfs', 'lustre', 'gpfs']);

/**
 * cluster.fence: its keys, the watchdog timeout against the lease profile (T2: W ≤ K, whole
 * seconds), and a warning for every shared disk with a non-cluster file system on a multi-node
 * cluster without a watchdog. `cluster` is the raw section (checkClusterSettings has reported
 * its shape; here only what concerns the fence).
 */
function checkFence(report: Report, cluster: unknown, all: readonly CheckedResource[]): void {
  if (!isPlainObject(cluster)) return;
  const where = 'cluster';
  const fence = cluster.fence;
  let watchdog: string | undefined;
  if (fence !== undefined) {
    if (!isPlainObject(fence)) {
      report.error(where, 'fence', "must be an object, e.g. { watchdog: '/dev/watchdog' }");
      return;
    }
    for (const k of Object.keys(fence)) {
      if (k !== 'watchdog' && k !== 'watchdogTimeout') report.error(where, `fence.${k}`, 'unknown key', 'known: watchdog, watchdogTimeout');
    }
    if (fence.watchdog !== undefined) {
      if (typeof fence.watchdog !== 'string' || pathProblem(fence.watchdog)) report.error(where, 'fence.watchdog', "must be the absolute path of a watchdog device, e.g. '/dev/watchdog'");
      else watchdog = fence.watchdog;
    }
    const w = fence.watchdogTimeout;
    if (w !== undefined && fence.watchdog === undefined) report.warn(where, 'fence.watchdogTimeout', 'has no effect without fence.watchdog');
    const profileName = isPlainObject(cluster.lease) && typeof cluster.lease.profile === 'string' ? cluster.lease.profile : keyDefault<string>(CLUSTER_KEYS, 'lease.profile');
    if (watchdog && (LEASE_PROFILES as readonly string[]).includes(profileName)) {
      const t = getProfile(profileName).timings;
      const k = `${t.stopBudgetMs / 1000} s`;
      if (w !== undefined) {
        if (typeof w !== 'number') report.error(where, 'fence.watchdogTimeout', 'must be a whole number of seconds');
        else {
          for (const e of checkWatchdogMs(t, w * 1000)) {
            report.error(where, 'fence.watchdogTimeout', `${w} s does not fit lease profile ${profileName}: ${e}`,
              defaultWatchdogMs(t) ? `leave it unset (${defaultWatchdogMs(t)! / 1000} s for ${profileName}) or use 1–${Math.floor(t.stopBudgetMs / 1000)} s` : undefined);
          }
        }
      } else if (defaultWatchdogMs(t) === undefined) {
        report.error(where, 'fence.watchdog', `lease profile ${profileName} has a stop budget K of ${k}, shorter than the shortest watchdog timeout (${MIN_WATCHDOG_MS / 1000} s): T2 (W ≤ K) cannot hold`,
          "use lease profile 'local' or 'nfs' with a watchdog, or remove fence.watchdog");
      }
    }
    if (watchdog && cluster.sharedDir === undefined) report.warn(where, 'fence.watchdog', 'has no effect without sharedDir: the fence runs only on a cluster with a lease');
  }
  const nodes = Array.isArray(cluster.nodes) ? cluster.nodes.length : 0;
  if (watchdog || nodes < 2) return;
  for (const r of all) {
    const fs = r.type.name === 'Mount' ? str(r.attrs.FSType) : undefined;
    // A storage fence claims the device before each mount: a frozen holder cannot write after that.
    if (fs === undefined || SAFE_FS.has(fs.toLowerCase()) || r.attrs.FenceProgram !== undefined) continue;
    report.warn(r.where, 'FSType', `${fs} is not a cluster file system and neither a watchdog nor a FenceProgram is configured: a holder whose processes freeze and thaw (and its kernel meanwhile) can still write to the disk after another node mounted it, which corrupts it`,
      "give the Mount a FenceProgram that claims the device at the storage (SCSI-3 reservations; docs/lease.md, The storage fence), or set cluster.fence.watchdog (e.g. '/dev/watchdog', or softdog) with lease profile local or nfs");
  }
}

/**
 * A multi-node cluster (sharedDir, two nodes or more) signs everything in its shared directory
 * with a key derived from the cluster key (docs/lease.md): its key file must exist here and pass
 * the key file's trust rule (plugin/secrets/key-file.ts).
 */
function checkClusterKey(report: Report, cluster: unknown): void {
  if (!isPlainObject(cluster) || cluster.sharedDir === undefined || !Array.isArray(cluster.nodes) || cluster.nodes.length < 2) return;
  const file = keyFilePath({ keyFile: typeof cluster.keyFile === 'string' ? cluster.keyFile : undefined });
  if (!fs.existsSync(file)) {
    report.error('cluster', 'keyFile', `the cluster key file ${file} does not exist: a multi-node cluster signs its shared directory with it, and its coordinators refuse to start without it`,
      `run \`msgha keygen --key-file ${file}\` on one node and copy the file (mode 0600, owner root) to every node`);
  } else {
    const problem = keyFileProblem(file);
    if (problem) report.error('cluster', 'keyFile', problem.message);
  }
  if (isPlainObject(cluster.lease) && cluster.lease.acceptUnsigned === true) {
    report.warn('cluster', 'lease.acceptUnsigned', 'unsigned (format 1) lease records, views and requests from an older release are trusted: anyone who can write the shared directory can keep a dead holder alive or freeze a group',
      'only during a rolling upgrade; remove it once every node runs this release (docs/lease.md, Upgrading)');
  }
}

export function checkCrossResource(report: Report, all: readonly CheckedResource[], cluster?: unknown): void {
  if (cluster !== undefined) { checkFence(report, cluster, all); checkClusterKey(report, cluster); }
  checkPorts(report, all);
  unique(report, all, 'IP', 'Address', (v) => parseIPv4Cidr(v)?.address, 'address');
  unique(report, all, 'Mount', 'MountPoint', normPath, 'mount point');
  unique(report, all, 'Mount', 'BlockDevice', normPath, 'device');
  unique(report, all, 'NetscapeMsg', 'MsgHost', (v) => v.toLowerCase(), 'logical host (one NetscapeMsg instance per host)');
  checkInstances(report, all);
  checkMountOrder(report, all);
  checkLinks(report, all, isPlainObject(cluster) && Array.isArray(cluster.nodes) && cluster.nodes.length < 2);
}
