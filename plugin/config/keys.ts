/**
 * Declarations of the cluster-level and group-level keys of a cluster file (resource
 * attributes are declared in model/attributes.ts and by each resource type). Validation takes the
 * set of known keys from here and `msgha explain cluster|group` prints these tables.
 */
import type { GroupDependencyKind } from '../model/cluster-types';

export interface KeyDecl {
  /** Dotted for nested keys, e.g. 'lease.profile'. */
  name: string;
  /** Kind as shown to the user. */
  kind: string;
  doc: string;
  required?: boolean;
  default?: unknown;
  values?: readonly string[];
  unit?: string;
  example?: unknown;
}

export const LEASE_PROFILES = ['nfs', 'local', 'fast'] as const;

export const DEPENDENCY_KINDS: readonly GroupDependencyKind[] = [
  'online-global-soft', 'online-global-firm', 'online-global-hard',
  'online-local-soft', 'online-local-firm', 'online-local-hard',
];

/** Node, group and resource names become PM2 app names (`group.resource`) and file names. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
export const NODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const MAX_NODES = 32;

export const TOP_LEVEL_KEYS = ['cluster', 'groups'] as const;

export const CLUSTER_KEYS: readonly KeyDecl[] = [
  { name: 'name', kind: 'string', required: true, example: 'mail', doc: 'Cluster name (letters, digits, - and _).' },
  { name: 'nodes', kind: 'stringList', required: true, example: ['mx1', 'mx2'],
    doc: `Names of the nodes (1 to ${MAX_NODES}, unique). A node knows its own name from $MSGHA_NODE, else its host name.` },
  { name: 'sharedDir', kind: 'path', example: '/shared/msgha',
    doc: 'Shared directory (NFS, cluster file system) holding leases, node states, requests and events. Needed for failover between nodes.' },
  { name: 'lease', kind: 'object', doc: 'Lease settings: { profile, acceptUnsigned }.' },
  { name: 'lease.profile', kind: 'enum', values: LEASE_PROFILES, default: 'nfs',
    doc: 'Lease timing profile; every node must use the same one. nfs: L 40 s; local: cluster file system or shared LUN, L 20 s; fast: tests only.' },
  { name: 'lease.acceptUnsigned', kind: 'boolean', default: false,
    doc: 'Trust unsigned shared-directory files written by a release before signatures, by the old rules. Only during a rolling upgrade (docs/lease.md, Upgrading); msgha validate warns while it is set.' },
  { name: 'fence', kind: 'object', doc: 'Fence process settings: { watchdog, watchdogTimeout }.' },
  { name: 'fence.watchdog', kind: 'path', example: '/dev/watchdog',
    doc: 'Watchdog device the fence pets (hardware, softdog, or the hypervisor\'s): the node resets when the fence freezes, or when a group is not confirmed stopped by its kill deadline. Needed for a shared disk with a non-cluster file system (ext4, xfs). Opening it starts it: the fence then must run.' },
  { name: 'fence.watchdogTimeout', kind: 'integer', unit: 's',
    doc: 'Watchdog timeout W in whole seconds, set on the device (wdctl) by the fence. Default: half the lease profile\'s stop budget K (nfs 5 s, local 3 s); must be ≤ K. The fast profile (K 0.6 s) cannot use a watchdog.' },
  { name: 'metrics', kind: 'object', doc: 'Prometheus metrics settings: { listen, basicAuth, bearerTokenFile }.' },
  { name: 'metrics.listen', kind: 'host:port', default: '127.0.0.1:9464',
    doc: 'Address and port of /metrics and /healthz. An address other than loopback needs metrics.basicAuth or metrics.bearerTokenFile.' },
  { name: 'metrics.basicAuth', kind: '{ user, passwordFile }', example: { user: 'prometheus', passwordFile: '/etc/msgha/metrics.pass' },
    doc: 'Require HTTP basic auth on /metrics: the user name, and an absolute path to a file (mode 0600) holding the password.' },
  { name: 'metrics.bearerTokenFile', kind: 'path', example: '/etc/msgha/metrics.token',
    doc: 'Require a bearer token on /metrics: an absolute path to a file (mode 0600) holding it. Not together with metrics.basicAuth.' },
  { name: 'remoteProbes', kind: 'object', doc: 'Remote probes, run by every node that does not hold a group, through its VIP (docs/network.md): { interval, timeout, failures, act }.' },
  { name: 'remoteProbes.interval', kind: 'integer', unit: 's', default: 5,
    doc: 'Seconds between two remote probe cycles of a node (each probes every group it does not hold, and pings the other nodes).' },
  { name: 'remoteProbes.timeout', kind: 'integer', unit: 's', default: 3,
    doc: 'Deadline of one remote probe cycle; at most remoteProbes.interval.' },
  { name: 'remoteProbes.failures', kind: 'integer', default: 3,
    doc: 'Consecutive failed remote cycles, on every service and from every live standby, before the holder takes its group for unreachable from the network.' },
  { name: 'remoteProbes.act', kind: 'boolean', default: true,
    doc: 'false: remote probes are only reported (status, metrics, alert), never move a group.' },
  { name: 'keyFile', kind: 'path', default: '/etc/msgha/cluster.key',
    doc: 'Cluster key: decrypts enc:v2 (and older enc:v1) secrets and, with two nodes or more, signs the shared directory (else $MSGHA_KEY_FILE, else the default). Same file, root-owned, mode 0600, on every node.' },
];

export const GROUP_KEYS: readonly KeyDecl[] = [
  { name: 'resources', kind: 'map name → resource', required: true,
    doc: 'The resources of the group: { name: { type, requires, …attributes } }.' },
  { name: 'systemList', kind: 'stringList', example: ['mx1', 'mx2'],
    doc: 'Nodes that may run the group, in priority order (default: cluster.nodes).' },
  { name: 'autoStart', kind: 'bool', default: true, doc: 'Bring the group online when the cluster starts.' },
  { name: 'dependsOn', kind: 'list of { group, kind }', example: [{ group: 'directory', kind: 'online-global-soft' }],
    doc: `Groups that must be online before this one starts. kind: ${DEPENDENCY_KINDS.join(', ')}.` },
  { name: 'frozen', kind: 'bool', default: false, doc: 'Start frozen: no automatic action for the group until unfrozen.' },
  { name: 'failoverPolicy', kind: 'enum', values: ['priority'], default: 'priority',
    doc: 'How the next node is chosen: priority = the first healthy node of systemList.' },
];

export const RESOURCE_KEYS: readonly KeyDecl[] = [
  { name: 'type', kind: 'type name', required: true, doc: 'Resource type (see `msgha explain` for the list).' },
  { name: 'requires', kind: 'stringList', default: [],
    doc: 'Resources of the same group that must be ONLINE before this one starts (and go offline after it).' },
];

/** The declared default of a key: readers take it from here, so no one restates it. */
export function keyDefault<T>(keys: readonly KeyDecl[], name: string): T {
  const decl = keys.find((k) => k.name === name);
  if (!decl || decl.default === undefined) throw new Error(`key ${name} declares no default`);
  return decl.default as T;
}

/** Top-level names of a declaration list ('lease.profile' → 'lease'). */
export function topNames(keys: readonly KeyDecl[]): string[] {
  return [...new Set(keys.map((k) => k.name.split('.')[0]!))];
}
