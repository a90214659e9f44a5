/**
 * Every metric of the product, in one place (prefix `msgha_`; the coordinator's process metrics
 * keep their standard `process_*` / `nodejs_*` names, metrics.ts). Identity labels are only
 * `group`, `resource`, `type`, `service`, `device` (a link resource's network interface) and
 * `from` (the node that probed a group through its VIP), plus `node`, which the registry adds to
 * every series as a default label. The remaining label names — `state`, `reason`, `function`, `phase`,
 * `outcome` — are closed enums from snapshot.ts: the series count depends on the configuration
 * alone. No metric carries a secret, a user name, a reason sentence or a probe detail string.
 *
 * Names, label names and buckets are validated when a family is constructed (family.ts), so a
 * mistake here fails at start-up, not at the first scrape.
 */
import { CounterFamily, GaugeFamily, HistogramFamily, type AnyFamily } from './family';

export const PREFIX = 'msgha_';

/** The label names allowed anywhere: identity labels plus the closed-enum dimensions. */
export const IDENTITY_LABELS = ['node', 'group', 'resource', 'type', 'service', 'device', 'from'] as const;
export const ENUM_LABELS = ['state', 'reason', 'function', 'phase', 'outcome', 'kind'] as const;
/** The labels of `msgha_build_info` alone: one series per node, value 1 (Prometheus' `*_build_info` convention). */
export const BUILD_LABELS = ['version', 'nodejs'] as const;

// Agent functions run from milliseconds (monitor) to minutes (online of a big store: OnlineTimeout
// 300 s). The histogram is per group, type and function, not per resource: per resource it was
// over half the bytes of a scrape (bench/results/metrics.md); the last duration per resource
// is a gauge.
const FUNCTION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300];
// A synthetic login is tens of ms when healthy; the Netscape policy allows timeouts of minutes.
const PROBE_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30];
// One 512-byte record rewrite; on a healthy NFS well under 50 ms, slow beyond seconds.
const RENEW_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricSet {
  buildInfo: GaugeFamily<typeof BUILD_LABELS[number]>;
  // Computed at scrape time from the snapshot.
  groups: GaugeFamily<never>;
  groupState: GaugeFamily<'group' | 'state'>;
  groupStateCode: GaugeFamily<'group'>;
  groupFrozen: GaugeFamily<'group'>;
  resourceState: GaugeFamily<'group' | 'resource' | 'type' | 'state'>;
  resourceStateCode: GaugeFamily<'group' | 'resource' | 'type'>;
  leaseHeld: GaugeFamily<'group'>;
  leaseEpoch: GaugeFamily<'group'>;
  leaseRemaining: GaugeFamily<'group'>;
  leaseHoldersSeen: GaugeFamily<'group'>;
  certExpiry: GaugeFamily<'group' | 'resource' | 'service'>;
  linkUp: GaugeFamily<'group' | 'resource' | 'device'>;
  remoteProbeSuccess: GaugeFamily<'group' | 'service' | 'from'>;
  remoteProbePhase: GaugeFamily<'group' | 'service' | 'from' | 'phase'>;
  groupUnreachable: GaugeFamily<'group'>;
  snapshotErrors: CounterFamily<never>;
  // Recorded by events.
  functionDuration: HistogramFamily<'group' | 'type' | 'function'>;
  functionLast: GaugeFamily<'group' | 'resource' | 'function'>;
  probeDuration: HistogramFamily<'group' | 'resource' | 'service'>;
  probePhase: GaugeFamily<'group' | 'resource' | 'service' | 'phase'>;
  probeSuccess: GaugeFamily<'group' | 'resource' | 'service'>;
  probes: CounterFamily<'group' | 'resource' | 'service' | 'outcome'>;
  restarts: CounterFamily<'group' | 'resource'>;
  faults: CounterFamily<'group' | 'resource' | 'reason'>;
  failovers: CounterFamily<'group' | 'reason'>;
  concurrencyViolations: CounterFamily<'group' | 'resource'>;
  leaseRenewDuration: HistogramFamily<'group'>;
  leaseRenewFailures: CounterFamily<'group'>;
  sharedDirRejected: CounterFamily<'kind'>;
}

/** The scrape-time gauges (rebuilt from the snapshot at every scrape). */
export const SNAPSHOT_GAUGES = [
  'groups', 'groupState', 'groupStateCode', 'groupFrozen', 'resourceState', 'resourceStateCode',
  'leaseHeld', 'leaseEpoch', 'leaseRemaining', 'leaseHoldersSeen', 'certExpiry',
  'linkUp', 'remoteProbeSuccess', 'remoteProbePhase', 'groupUnreachable',
] as const satisfies ReadonlyArray<keyof MetricSet>;

/** Constructs every metric of the product, in exposition order. */
export function defineMetrics(): { set: MetricSet; families: AnyFamily[] } {
  const families: AnyFamily[] = [];
  const add = <F extends AnyFamily>(f: F): F => {
    if (families.some((x) => x.name === f.name)) throw new Error(`metric ${f.name} defined twice`);
    const allowed: readonly string[] = f.name === `${PREFIX}build_info` ? BUILD_LABELS : [...IDENTITY_LABELS, ...ENUM_LABELS];
    for (const l of f.labelNames) if (!allowed.includes(l) || l === 'node') throw new Error(`metric ${f.name}: label '${l}' is not one of ${allowed.join(', ')} (node is added to every series)`);
    families.push(f);
    return f;
  };
  const g = <L extends string>(name: string, help: string, labels: readonly L[]) => add(new GaugeFamily<L>(PREFIX + name, help, labels));
  const c = <L extends string>(name: string, help: string, labels: readonly L[]) => add(new CounterFamily<L>(PREFIX + name, help, labels));
  const h = <L extends string>(name: string, help: string, labels: readonly L[], buckets: number[]) => add(new HistogramFamily<L>(PREFIX + name, help, labels, buckets));

  const set: MetricSet = {
    buildInfo: g('build_info', 'Always 1: the msgha version and the Node.js version this coordinator runs (compare nodes during a rolling upgrade).', BUILD_LABELS),
    groups: g('groups', 'Service groups configured on this node.', []),
    groupState: g('group_state', 'Group state on this node as a state set: 1 for the current state, 0 for the others.', ['group', 'state']),
    groupStateCode: g('group_state_code', 'Group state on this node as a number: 0 OFFLINE, 1 STARTING, 2 ONLINE, 3 PARTIAL, 4 STOPPING, 5 FAULTED.', ['group']),
    groupFrozen: g('group_frozen', '1 when the group is frozen (no automatic action) on this node.', ['group']),
    resourceState: g('resource_state', 'Resource state on this node as a state set: 1 for the current state, 0 for the others.', ['group', 'resource', 'type', 'state']),
    resourceStateCode: g('resource_state_code', 'Resource state on this node as a number: 0 OFFLINE, 1 STARTING, 2 ONLINE, 3 STOPPING, 4 FAULTED, 5 UNKNOWN.', ['group', 'resource', 'type']),
    leaseHeld: g('lease_held', '1 when this node holds the lease of the group.', ['group']),
    leaseEpoch: g('lease_epoch', 'Fencing epoch of the group lease as last seen by this node.', ['group']),
    leaseRemaining: g('lease_remaining_serve_seconds', 'Seconds this node may still serve the group without another renewal (0 when not the holder).', ['group']),
    leaseHoldersSeen: g('lease_holders_seen', 'Nodes that the published node views show serving the group; more than 1 means two holders.', ['group']),
    certExpiry: g('tls_cert_expiry_timestamp_seconds', 'Unix time at which the TLS certificate of the service expires, as last probed.', ['group', 'resource', 'service']),
    linkUp: g('link_up', '1 when the link resource (NIC) of the group is up on this node: carrier and, when ping hosts are known, one answers; 0 when down (no sample before its first check).', ['group', 'resource', 'device']),
    remoteProbeSuccess: g('remote_probe_success', '1 when the last probe of the service through the group\'s VIP from node `from` (a standby) succeeded, 0 when it failed or timed out.', ['group', 'service', 'from']),
    remoteProbePhase: g('remote_probe_phase_seconds', 'Duration of each phase of the last probe of the service through the group\'s VIP from node `from` (connect, tls, greeting, login, command, logout, total).', ['group', 'service', 'from', 'phase']),
    groupUnreachable: g('group_unreachable_from_network', '1 when this node holds the group, its local checks pass and no live standby reaches it through the VIP (serving locally, unreachable from the network); only on the holder.', ['group']),
    snapshotErrors: c('snapshot_errors_total', 'Scrapes at which the coordinator snapshot could not be read (state metrics were left out).', []),

    functionDuration: h('agent_function_duration_seconds', 'Duration of agent functions (online, offline, monitor, clean) by group and resource type.', ['group', 'type', 'function'], FUNCTION_BUCKETS),
    functionLast: g('agent_function_last_duration_seconds', 'Duration of the last call of each agent function of the resource.', ['group', 'resource', 'function']),
    probeDuration: h('probe_duration_seconds', 'Total duration of protocol probes (synthetic transactions) by service.', ['group', 'resource', 'service'], PROBE_BUCKETS),
    probePhase: g('probe_phase_seconds', 'Duration of each phase of the last probe of the service (connect, tls, greeting, login, command, logout, total).', ['group', 'resource', 'service', 'phase']),
    probeSuccess: g('probe_success', '1 when the last probe of the service succeeded, 0 when it failed or timed out.', ['group', 'resource', 'service']),
    probes: c('probes_total', 'Protocol probes run, by outcome (ok, fail, timeout).', ['group', 'resource', 'service', 'outcome']),
    restarts: c('resource_restarts_total', 'Restarts in place of the resource on this node.', ['group', 'resource']),
    faults: c('resource_faults_total', 'Faults of the resource on this node, by reason.', ['group', 'resource', 'reason']),
    failovers: c('group_failovers_total', 'Failovers of the group started by this node, by reason.', ['group', 'reason']),
    concurrencyViolations: c('concurrency_violations_total', 'Times the resource was found running on this node while the node did not hold its group.', ['group', 'resource']),
    leaseRenewDuration: h('lease_renew_duration_seconds', 'Duration of lease renewals (one record rewrite in the shared directory), successful or not.', ['group'], RENEW_BUCKETS),
    leaseRenewFailures: c('lease_renew_failures_total', 'Lease renewals that failed or timed out.', ['group']),
    sharedDirRejected: c('shared_dir_rejected_total', 'Files of the shared directory ignored because they did not verify (forged, replayed, unsigned, a link, not ours), by kind: lease, view, admin, cluster.', ['kind']),
  };
  return { set, families };
}
