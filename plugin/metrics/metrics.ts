/**
 * The coordinator's metrics: a private prom-client registry with every metric of
 * definitions.ts, the coordinator's own process metrics (prefixed `msgha_`) and `node` on every
 * series.
 *
 * Guarantees: state gauges are rebuilt from one snapshot per scrape (the provider is called once
 * per scrape, never between scrapes); event counters of every group and resource in the snapshot
 * exist from the first scrape at 0, for every reason, so `increase()` sees the first event and
 * the series count never changes while resources cycle through states. Event methods never
 * throw and never do I/O. Unknown states or reasons are recorded as 'UNKNOWN' / 'unknown'.
 * Not guaranteed: a snapshot provider that blocks blocks the scrape — it must answer from memory.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { ProbeResult } from '../../probes/types';
import { PREFIX, defineMetrics, type MetricSet } from './definitions';
import {
  AGENT_FUNCTIONS, FAILOVER_REASONS, FAULT_REASONS, GROUP_STATES, PROBE_OUTCOMES, PROBE_PHASES, RESOURCE_STATES, oneOf,
  type AgentFunctionName, type FailoverReason, type FaultReason, type NodeSnapshot, type SnapshotProvider,
} from './snapshot';

export interface MetricsOptions {
  /** This node's name: the `node` label of every series. */
  node: string;
  /** Also export the coordinator's process metrics (default true; benchmarks turn it off). */
  processMetrics?: boolean;
}

export interface Metrics {
  readonly node: string;
  readonly registry: Registry;
  /** Registers (or replaces) the function that describes this node at scrape time. */
  setSnapshotProvider(provider: SnapshotProvider): void;
  /** An agent function finished after `seconds`. */
  functionDuration(group: string, resource: string, type: string, fn: AgentFunctionName, seconds: number): void;
  /** A probe of `service` finished: phase durations, success, outcome count, certificate expiry. */
  probe(group: string, resource: string, service: string, result: ProbeResult): void;
  restart(group: string, resource: string): void;
  fault(group: string, resource: string, reason: FaultReason): void;
  failover(group: string, reason: FailoverReason): void;
  concurrencyViolation(group: string, resource: string): void;
  leaseRenew(group: string, seconds: number, ok: boolean): void;
  /** The /metrics body (Prometheus text format 0.0.4). */
  render(): Promise<string>;
  readonly contentType: string;
}

export function createMetrics(options: MetricsOptions): Metrics {
  if (!options.node) throw new Error('createMetrics: node must be a non-empty node name');
  const node = options.node;
  const registry = new Registry();
  registry.setDefaultLabels({ node });
  let provider: SnapshotProvider | undefined;
  let fresh = false;
  const certExpiryAt = new Map<string, { group: string; resource: string; service: string; at: number }>();
  const initialised = new Set<string>();

  const m: MetricSet = defineMetrics(registry, () => {
    // Called by every scrape-time gauge; the first call of a scrape does the work, the rest of
    // the same synchronous collection pass reuse it (the flag clears in a microtask).
    if (fresh) return;
    fresh = true;
    queueMicrotask(() => { fresh = false; });
    rebuild();
  });
  if (options.processMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: PREFIX });
    // prom-client names these gauges *_total, which `promtool check metrics` rejects (a _total
    // suffix promises a counter); they add little to the process metrics, so leave them out.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      registry.removeSingleMetric(PREFIX + name);
    }
  }

  function rebuild(): void {
    for (const gauge of [m.groups, m.groupState, m.groupStateCode, m.groupFrozen, m.resourceState, m.resourceStateCode,
      m.leaseHeld, m.leaseEpoch, m.leaseRemaining, m.leaseHoldersSeen, m.certExpiry]) gauge.reset();
    if (!provider) return;
    let snap: NodeSnapshot;
    try {
      snap = provider();
    } catch {
      m.snapshotErrors.inc();
      return;
    }
    const now = Date.now() / 1000;
    m.groups.set(snap.groups.length);
    for (const g of snap.groups) {
      const group = g.group;
      const gState = oneOf(GROUP_STATES, g.state, 'FAULTED');
      for (const s of GROUP_STATES) m.groupState.set({ group, state: s }, s === gState ? 1 : 0);
      m.groupStateCode.set({ group }, GROUP_STATES.indexOf(gState));
      m.groupFrozen.set({ group }, g.frozen ? 1 : 0);
      const lease = g.lease;
      m.leaseHeld.set({ group }, lease?.holderIsMe ? 1 : 0);
      m.leaseEpoch.set({ group }, finite(lease?.epoch));
      m.leaseRemaining.set({ group }, lease?.holderIsMe ? Math.max(0, finite(lease.remainingServeSeconds)) : 0);
      m.leaseHoldersSeen.set({ group }, lease?.holdersSeen ?? (lease?.holder ? 1 : 0));
      initGroup(group);
      for (const r of g.resources) {
        const labels = { group, resource: r.resource, type: r.type };
        const rState = oneOf(RESOURCE_STATES, r.state, 'UNKNOWN');
        for (const s of RESOURCE_STATES) m.resourceState.set({ ...labels, state: s }, s === rState ? 1 : 0);
        m.resourceStateCode.set(labels, RESOURCE_STATES.indexOf(rState));
        for (const [service, seconds] of Object.entries(r.certExpirySeconds ?? {})) {
          if (Number.isFinite(seconds)) certExpiryAt.set(key(group, r.resource, service), { group, resource: r.resource, service, at: now + seconds });
        }
        initResource(group, r.resource);
      }
    }
    for (const c of certExpiryAt.values()) {
      m.certExpiry.set({ group: c.group, resource: c.resource, service: c.service }, Math.round(c.at));
    }
  }

  // Zero-valued series for every reason, created once per group/resource.
  function initGroup(group: string): void {
    if (!once(`g\0${group}`)) return;
    for (const reason of FAILOVER_REASONS) m.failovers.inc({ group, reason }, 0);
    m.leaseRenewFailures.inc({ group }, 0);
  }
  function initResource(group: string, resource: string): void {
    if (!once(key(group, resource))) return;
    for (const reason of FAULT_REASONS) m.faults.inc({ group, resource, reason }, 0);
    m.restarts.inc({ group, resource }, 0);
    m.concurrencyViolations.inc({ group, resource }, 0);
  }
  function once(k: string): boolean {
    if (initialised.has(k)) return false;
    initialised.add(k);
    return true;
  }

  return {
    node,
    registry,
    contentType: registry.contentType,
    setSnapshotProvider(p) { provider = p; },
    functionDuration(group, resource, type, fn, seconds) {
      if (!validSeconds(seconds) || !(AGENT_FUNCTIONS as readonly string[]).includes(fn)) return;
      m.functionDuration.observe({ group, resource, type, function: fn }, seconds);
    },
    probe(group, resource, service, result) {
      const labels = { group, resource, service };
      const outcome = oneOf(PROBE_OUTCOMES, result.outcome, 'fail');
      m.probes.inc({ ...labels, outcome });
      for (const o of PROBE_OUTCOMES) if (o !== outcome) m.probes.inc({ ...labels, outcome: o }, 0);
      m.probeSuccess.set(labels, outcome === 'ok' ? 1 : 0);
      const phases = result.phases ?? {};
      for (const phase of PROBE_PHASES) {
        const v = phases[phase];
        // A phase not reached this time reads 0, so the series set stays the same between probes.
        m.probePhase.set({ ...labels, phase }, validSeconds(v) ? v : 0);
      }
      if (validSeconds(phases.total)) m.probeDuration.observe(labels, phases.total);
      const expiry = result.details?.certExpirySeconds;
      if (typeof expiry === 'number' && Number.isFinite(expiry)) {
        certExpiryAt.set(key(group, resource, service), { group, resource, service, at: Date.now() / 1000 + expiry });
      }
    },
    restart(group, resource) { m.restarts.inc({ group, resource }); },
    fault(group, resource, reason) { m.faults.inc({ group, resource, reason: oneOf(FAULT_REASONS, reason, 'unknown') }); },
    failover(group, reason) { m.failovers.inc({ group, reason: oneOf(FAILOVER_REASONS, reason, 'unknown') }); },
    concurrencyViolation(group, resource) { m.concurrencyViolations.inc({ group, resource }); },
    leaseRenew(group, seconds, ok) {
      if (validSeconds(seconds)) m.leaseRenewDuration.observe({ group }, seconds);
      if (ok) m.leaseRenewFailures.inc({ group }, 0);
      else m.leaseRenewFailures.inc({ group });
    },
    render: () => registry.metrics(),
  };
}

function key(...parts: string[]): string {
  return parts.join('\0');
}

function finite(v: number | undefined): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function validSeconds(v: number | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}
