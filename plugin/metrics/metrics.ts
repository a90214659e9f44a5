/**
 * The coordinator's metrics: every family of definitions.ts plus the coordinator's own process
 * metrics (prom-client's default metrics on a private Registry), all with `node` on every series.
 * The process metrics keep their standard names (`process_cpu_seconds_total`, `nodejs_heap_*`, …)
 * so that stock Node.js / process dashboards and alerts find them; `job` and `instance` tell them
 * apart from other exporters' on the same Prometheus.
 *
 * Guarantees: state gauges are rebuilt from one snapshot per scrape (the provider is called once
 * per scrape, never between scrapes); event counters of every group and resource in the snapshot
 * exist from the first scrape at 0, for every reason, so `increase()` sees the first event and
 * the series count never changes while resources cycle through states. Event methods never
 * throw and never do I/O. Unknown states or reasons are recorded as 'UNKNOWN' / 'unknown'.
 * Network gauges (link up, remote probes, unreachable from the network) are rebuilt from the
 * snapshot too: a link not checked yet and a group this node does not hold have no sample (not a
 * 0 an alert would read as "down"); a remote probe has all seven phase series, 0 for a phase not
 * reached, and its `service` label is narrowed like a local probe's (serviceOfCheck).
 * Not guaranteed: a snapshot provider that blocks blocks the scrape — it must answer from memory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { ProbeResult } from '../../probes/types';
import { packageRoot } from '../core/package-root';
import { SNAPSHOT_GAUGES, defineMetrics } from './definitions';
import type { Cell, FamilyInfo } from './family';
import {
  AGENT_FUNCTIONS, FAILOVER_REASONS, FAULT_REASONS, GROUP_STATES, PROBE_OUTCOMES, PROBE_PHASES, RESOURCE_STATES, SHARED_DIR_KINDS, oneOf, serviceOfCheck,
  type AgentFunctionName, type FailoverReason, type FaultReason, type GroupSnapshot, type NodeSnapshot, type SharedDirKind, type SnapshotProvider,
} from './snapshot';

export interface MetricsOptions {
  /** This node's name: the `node` label of every series. */
  node: string;
  /** Also export the coordinator's process metrics (default true). */
  processMetrics?: boolean;
  /** The `version` of msgha_build_info (default: this package's package.json). */
  version?: string;
}

export interface Metrics {
  readonly node: string;
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
  /** A file of the shared directory did not verify and was ignored. */
  sharedDirRejected(kind: SharedDirKind): void;
  /** The /metrics body (Prometheus text format 0.0.4). */
  render(): Promise<string>;
  readonly contentType: string;
  /** Name, type, help and labels of every family of ours (not the process metrics). */
  catalog(): FamilyInfo[];
}

// prom-client names these gauges *_total, which `promtool check metrics` rejects (a _total suffix
// promises a counter); they add little to the process metrics, so they are left out.
const REJECTED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function createMetrics(options: MetricsOptions): Metrics {
  if (!options.node) throw new Error('createMetrics: node must be a non-empty node name');
  const node = options.node;
  const { set: m, families } = defineMetrics();
  for (const f of families) f.setConstantLabel('node', node);
  const registry = new Registry();
  if (options.processMetrics !== false) {
    // The event-loop lag is sampled by a timer: once a second, not every 10 ms (the default woke
    // the coordinator a hundred times a second, more than all else it does on an idle node).
    collectDefaultMetrics({ register: registry, labels: { node }, eventLoopMonitoringPrecision: 1000 });
    for (const name of REJECTED_DEFAULTS) registry.removeSingleMetric(name);
  }
  m.buildInfo.set({ version: options.version ?? packageVersion(), nodejs: process.version }, 1);
  let provider: SnapshotProvider | undefined;
  let generation = 0;
  const certExpiryAt = new Map<string, { group: string; resource: string; service: string; at: number }>();
  const initialised = new Set<string>();
  // Zero-valued from the start, so that an increase() alert sees the first rejection.
  for (const kind of SHARED_DIR_KINDS) m.sharedDirRejected.inc({ kind }, 0);

  function rebuild(): void {
    const gen = ++generation;
    try {
      if (provider) fill(provider(), gen);
    } catch {
      m.snapshotErrors.inc({});
    }
    for (const name of SNAPSHOT_GAUGES) m[name].sweep(gen);
  }

  // Per group and resource, the cells of their scrape-time series, kept between scrapes so a
  // scrape writes numbers instead of hashing labels (cells of a row unseen for a scrape may have
  // been swept, so such a row is rebuilt).
  interface GroupRow { gen: number; state: Cell[]; code: Cell; frozen: Cell; held: Cell; epoch: Cell; remaining: Cell; holders: Cell }
  interface ResourceRow { gen: number; state: Cell[]; code: Cell }
  const groupRows = new Map<string, GroupRow>();
  const resourceRows = new Map<string, ResourceRow>();

  function groupRow(group: string, gen: number): GroupRow {
    let row = groupRows.get(group);
    if (!row || row.gen !== gen - 1) {
      row = {
        gen, state: GROUP_STATES.map((state) => m.groupState.cell({ group, state })), code: m.groupStateCode.cell({ group }),
        frozen: m.groupFrozen.cell({ group }), held: m.leaseHeld.cell({ group }), epoch: m.leaseEpoch.cell({ group }),
        remaining: m.leaseRemaining.cell({ group }), holders: m.leaseHoldersSeen.cell({ group }),
      };
      groupRows.set(group, row);
      initGroup(group);
    }
    row.gen = gen;
    return row;
  }

  function resourceRow(group: string, resource: string, type: string, gen: number): ResourceRow {
    const k = key(group, resource, type);
    let row = resourceRows.get(k);
    if (!row || row.gen !== gen - 1) {
      const labels = { group, resource, type };
      row = { gen, state: RESOURCE_STATES.map((state) => m.resourceState.cell({ ...labels, state })), code: m.resourceStateCode.cell(labels) };
      resourceRows.set(k, row);
      initResource(group, resource);
    }
    row.gen = gen;
    return row;
  }

  const write = (cell: Cell, value: number, gen: number): void => { cell.value = value; cell.seen = gen; };

  function fill(snap: NodeSnapshot, gen: number): void {
    const now = Date.now() / 1000;
    m.groups.set({}, snap.groups.length, gen);
    for (const g of snap.groups) {
      const row = groupRow(g.group, gen);
      const gi = GROUP_STATES.indexOf(g.state);
      const gState = gi < 0 ? GROUP_STATES.indexOf('FAULTED') : gi;
      for (let i = 0; i < row.state.length; i++) write(row.state[i], i === gState ? 1 : 0, gen);
      write(row.code, gState, gen);
      write(row.frozen, g.frozen ? 1 : 0, gen);
      const lease = g.lease;
      write(row.held, lease?.holderIsMe ? 1 : 0, gen);
      write(row.epoch, finite(lease?.epoch), gen);
      write(row.remaining, lease?.holderIsMe ? Math.max(0, finite(lease.remainingServeSeconds)) : 0, gen);
      write(row.holders, lease?.holdersSeen ?? (lease?.holder ? 1 : 0), gen);
      for (const r of g.resources) {
        const rrow = resourceRow(g.group, r.resource, r.type, gen);
        const ri = RESOURCE_STATES.indexOf(r.state);
        const rState = ri < 0 ? RESOURCE_STATES.indexOf('UNKNOWN') : ri;
        for (let i = 0; i < rrow.state.length; i++) write(rrow.state[i], i === rState ? 1 : 0, gen);
        write(rrow.code, rState, gen);
        if (r.certExpirySeconds) {
          for (const service in r.certExpirySeconds) {
            const seconds = r.certExpirySeconds[service];
            if (Number.isFinite(seconds)) certExpiryAt.set(key(g.group, r.resource, service), { group: g.group, resource: r.resource, service, at: now + seconds });
          }
        }
      }
      fillNetwork(g, gen);
    }
    for (const c of certExpiryAt.values()) {
      m.certExpiry.set({ group: c.group, resource: c.resource, service: c.service }, Math.round(c.at), gen);
    }
  }

  function fillNetwork(g: GroupSnapshot, gen: number): void {
    const group = g.group;
    for (const l of g.links ?? []) {
      if (typeof l.up === 'boolean') m.linkUp.set({ group, resource: l.resource, device: l.device }, l.up ? 1 : 0, gen);
    }
    // Two results for one service and node (two checks of the same service): a failure wins.
    const seen = new Set<string>();
    for (const r of g.remoteProbes ?? []) {
      const labels = { group, service: serviceOfCheck(r.service), from: r.from };
      const k = key(labels.service, labels.from);
      const first = !seen.has(k);
      seen.add(k);
      const success = m.remoteProbeSuccess.cell(labels, gen);
      success.value = first ? (r.ok ? 1 : 0) : Math.min(success.value, r.ok ? 1 : 0);
      if (!first && r.ok) continue;
      for (const phase of PROBE_PHASES) {
        const v = r.phases?.[phase];
        m.remoteProbePhase.set({ ...labels, phase }, validSeconds(v) ? v : 0, gen);
      }
    }
    if (typeof g.unreachableFromNetwork === 'boolean') m.groupUnreachable.set({ group }, g.unreachableFromNetwork ? 1 : 0, gen);
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

  m.snapshotErrors.inc({}, 0);

  return {
    node,
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    catalog: () => families.map((f) => ({ name: f.name, type: f.type, help: f.help, labelNames: ['node', ...f.labelNames] })),
    setSnapshotProvider(p) { provider = p; },
    functionDuration(group, resource, type, fn, seconds) {
      if (!validSeconds(seconds) || !(AGENT_FUNCTIONS as readonly string[]).includes(fn)) return;
      m.functionDuration.observe({ group, type, function: fn }, seconds);
      m.functionLast.set({ group, resource, function: fn }, seconds);
    },
    probe(group, resource, service, result) {
      const labels = { group, resource, service };
      const outcome = oneOf(PROBE_OUTCOMES, result.outcome, 'fail');
      for (const o of PROBE_OUTCOMES) m.probes.inc({ ...labels, outcome: o }, o === outcome ? 1 : 0);
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
    sharedDirRejected(kind) { m.sharedDirRejected.inc({ kind: oneOf(SHARED_DIR_KINDS, kind, 'lease') }); },
    leaseRenew(group, seconds, ok) {
      if (validSeconds(seconds)) m.leaseRenewDuration.observe({ group }, seconds);
      m.leaseRenewFailures.inc({ group }, ok ? 0 : 1);
    },
    async render() {
      rebuild();
      let out = '';
      for (const f of families) out += f.render() + '\n';
      return options.processMetrics === false ? out : out + (await registry.metrics());
    },
  };
}

/** Read once, at construction: a scrape never does I/O. */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' && pkg.version ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
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
