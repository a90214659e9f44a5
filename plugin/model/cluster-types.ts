/**
 * The shape of a cluster file. The same object is accepted from a `.js` ecosystem
 * file (through `defineCluster`) and from a `.json` file.
 */

export type GroupDependencyKind =
  | 'online-global-soft'
  | 'online-global-firm'
  | 'online-global-hard'
  | 'online-local-soft'
  | 'online-local-firm'
  | 'online-local-hard';

export interface ClusterSettings {
  /** Cluster name, used in PM2 app names only for display. */
  name: string;
  /** Nodes of the cluster (2–32 for failover; 1 is accepted for single-node use). */
  nodes: string[];
  /** Shared directory holding leases, node states and operator requests. */
  sharedDir?: string;
  /** acceptUnsigned: trust format-1 (unsigned) shared-directory files, only during a rolling upgrade. */
  lease?: { profile?: 'nfs' | 'local' | 'fast'; acceptUnsigned?: boolean };
  /** The per-node fence process (docs/lease.md). */
  fence?: FenceSettings;
  metrics?: MetricsSettings;
  /** Remote probes through each group's VIP from the nodes that do not hold it (docs/network.md). */
  remoteProbes?: RemoteProbeSettings;
  /** Cluster key for `enc:v1:` secrets (default /etc/msgha/cluster.key, or $MSGHA_KEY_FILE). */
  keyFile?: string;
}

export interface FenceSettings {
  /** Watchdog device the fence pets (e.g. /dev/watchdog); the node resets when the fence stops. */
  watchdog?: string;
  /** W in whole seconds (default: half the profile's stop budget K; must be ≤ K). */
  watchdogTimeout?: number;
}

/** config/keys.ts declares the defaults. */
export interface RemoteProbeSettings {
  /** Seconds between two cycles. */
  interval?: number;
  /** Seconds one cycle may take (≤ interval). */
  timeout?: number;
  /** Consecutive failed cycles before the holder judges its group unreachable. */
  failures?: number;
  /** false: report only. */
  act?: boolean;
}

/** Prometheus exporter of the coordinator. */
export interface MetricsSettings {
  /** HOST:PORT of /metrics and /healthz (default 127.0.0.1:9464). */
  listen?: string;
  /** HTTP basic auth for /metrics; the password is read from a file (mode 0600), never from here. */
  basicAuth?: { user: string; passwordFile: string };
  /** File (mode 0600) holding a bearer token that scrapers must send. */
  bearerTokenFile?: string;
}

export interface GroupDependency {
  group: string;
  kind: GroupDependencyKind;
}

export interface GroupConfig {
  /** Nodes that may run the group, in priority order (default: cluster.nodes). */
  systemList?: string[];
  /** Bring the group online when the coordinator starts (default true). */
  autoStart?: boolean;
  dependsOn?: GroupDependency[];
  frozen?: boolean;
  failoverPolicy?: 'priority';
  resources: Record<string, ResourceConfig>;
}

export interface ResourceConfig {
  type: string;
  /** Resources of the same group that must be ONLINE before this one starts. */
  requires?: string[];
  [attribute: string]: unknown;
}

export interface ClusterDefinition {
  cluster: ClusterSettings;
  groups: Record<string, GroupConfig>;
}

/** A resource after validation: attributes with defaults applied. */
export interface ResolvedResource {
  /** `<group>.<resource>`: also its PM2 app name. */
  id: string;
  group: string;
  name: string;
  type: string;
  requires: string[];
  attrs: Record<string, unknown>;
}

export interface ResolvedGroup {
  name: string;
  systemList: string[];
  autoStart: boolean;
  dependsOn: GroupDependency[];
  frozen: boolean;
  /** Resources in online order (every resource after the ones it requires). */
  resources: ResolvedResource[];
}

export interface ResolvedCluster {
  file: string;
  settings: ClusterSettings;
  groups: ResolvedGroup[];
}
