/**
 * What the coordinator hands the exporter at each scrape: an in-memory picture of this node's
 * groups, leases and resources, and the closed vocabularies (states, reasons) the metrics use.
 *
 * Guarantees: every string that can become a label value is either a configured name (node,
 * group, resource, type, service) or a member of one of the closed unions below, so the number
 * of series is fixed by the configuration, never by what happens at run time.
 */

export const GROUP_STATES = ['OFFLINE', 'STARTING', 'ONLINE', 'PARTIAL', 'STOPPING', 'FAULTED'] as const;
export type GroupState = (typeof GROUP_STATES)[number];

export const RESOURCE_STATES = ['OFFLINE', 'STARTING', 'ONLINE', 'STOPPING', 'FAULTED', 'UNKNOWN'] as const;
export type ResourceMetricState = (typeof RESOURCE_STATES)[number];

/** Why a resource was declared FAULTED (a bounded enum: anything else is recorded as 'unknown'). */
export const FAULT_REASONS = ['process-exit', 'monitor-offline', 'probe-failed', 'probe-timeout', 'online-failed', 'unknown'] as const;
export type FaultReason = (typeof FAULT_REASONS)[number];

/**
 * Why a group moved (a bounded enum, recorded by the node where the move starts or, for
 * 'lease-expired', by the node that claims the lease of a silent holder):
 *   resource-fault — a critical resource faulted beyond RestartLimit here;
 *   lease-lost     — this node could not renew its lease and gave the group up;
 *   lease-expired  — this node claimed the lease after the holder went silent;
 *   switch         — an operator switch (or `evacuate`) handed the group over;
 *   drill          — a failover drill;
 *   dependency     — a group this one depends on (firm/hard) went away;
 *   network        — served locally but unreachable from the network: the standbys' remote probes
 *                    agreed (docs/network.md);
 *   unknown        — anything else.
 */
export const FAILOVER_REASONS = ['resource-fault', 'lease-lost', 'lease-expired', 'switch', 'drill', 'dependency', 'network', 'unknown'] as const;
export type FailoverReason = (typeof FAILOVER_REASONS)[number];

/** What a rejected read of the shared directory was (lease/shared-key.ts RejectKind). */
export const SHARED_DIR_KINDS = ['lease', 'view', 'admin', 'cluster'] as const;
export type SharedDirKind = (typeof SHARED_DIR_KINDS)[number];

/** What the lease side of a node reports for the metrics (renewals, failovers, rejected reads). */
export interface LeaseEvents {
  leaseRenew(group: string, seconds: number, ok: boolean): void;
  failover(group: string, reason: FailoverReason): void;
  /** A record of the shared directory did not verify (or was a link, or not ours) and was ignored. */
  sharedDirRejected?(kind: SharedDirKind): void;
}

export const AGENT_FUNCTIONS = ['online', 'offline', 'monitor', 'clean'] as const;
export type AgentFunctionName = (typeof AGENT_FUNCTIONS)[number];

/** Probe phases, as in probes/types.ts (seconds). */
export const PROBE_PHASES = ['connect', 'tls', 'greeting', 'login', 'command', 'logout', 'total'] as const;
export type ProbePhase = (typeof PROBE_PHASES)[number];

export const PROBE_OUTCOMES = ['ok', 'fail', 'timeout'] as const;

export interface LeaseSnapshot {
  /** Node name that holds the lease as this node last saw it; undefined when nobody does. */
  holder: string | undefined;
  holderIsMe: boolean;
  /** Fencing epoch N of `groups/<g>/epoch.<N>` as last seen. */
  epoch: number;
  /** Seconds this node may still serve the group (0 when it is not the holder). */
  remainingServeSeconds: number;
  /**
   * Distinct nodes that the published node views (shared directory, as last read) show as
   * serving this group, this node included. More than 1 is the split-brain the lease forbids.
   * Omitted: 1 when `holder` is set, else 0.
   */
  holdersSeen?: number;
}

export interface ResourceSnapshot {
  resource: string;
  /** Resource type name (SunJESMsg, IP, …). */
  type: string;
  state: ResourceMetricState;
  /** Restarts in place since the coordinator started (shown in `pm2 show msgha`). */
  restarts: number;
  /**
   * Seconds until the TLS certificate of each service expires, as last probed. Optional: the
   * exporter also takes it from `probe()` results (details.certExpirySeconds); when both name
   * the same service, this value wins.
   */
  certExpirySeconds?: Record<string, number>;
}

/** A link resource (NIC) of this node as the coordinator's link watch last judged it. */
export interface LinkSnapshot {
  resource: string;
  device: string;
  /** undefined: not checked yet. */
  up: boolean | undefined;
}

/**
 * One client service of a group probed through its VIP by another node (`from`): this node's own
 * remote probes of groups held elsewhere, and — on the holder — the results its standbys published.
 */
export interface RemoteProbeSnapshot {
  service: string;
  /** The node that probed. */
  from: string;
  ok: boolean;
  /** Seconds per phase of the last probe (probes/types.ts). */
  phases?: Partial<Record<ProbePhase, number>>;
}

export interface GroupSnapshot {
  group: string;
  state: GroupState;
  frozen: boolean;
  lease?: LeaseSnapshot;
  resources: ResourceSnapshot[];
  /** Link resources of the group on this node (multi-node mode). */
  links?: LinkSnapshot[];
  /** Remote probe results for the group (multi-node mode). */
  remoteProbes?: RemoteProbeSnapshot[];
  /**
   * This node holds the group, its local checks pass, and no live standby reaches it through
   * the VIP (docs/network.md): 1 in msgha_group_unreachable_from_network. undefined: not the holder.
   */
  unreachableFromNetwork?: boolean;
}

export interface NodeSnapshot {
  node: string;
  groups: GroupSnapshot[];
}

/** Must return from memory at once: it runs inside every scrape. */
export type SnapshotProvider = () => NodeSnapshot;

/** Narrow any string to a member of a closed list, else the fallback (keeps labels bounded). */
export function oneOf<T extends string>(list: readonly T[], value: string, fallback: T): T {
  return (list as readonly string[]).includes(value) ? (value as T) : fallback;
}

/**
 * The `service` label of a check report: its configured service name (`imap:143` → `imap`,
 * `stored -tv` → `stored`, `MonitorProgram`). Check names are built by the agents from service
 * names and fixed words, never from free text; anything that does not look like a name is
 * recorded as 'other', so a label can never carry a sentence.
 */
export function serviceOfCheck(check: string): string {
  const name = check.split(':')[0]!.trim().split(/\s+/)[0] ?? '';
  return /^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(name) ? name : 'other';
}
