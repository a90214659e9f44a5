/**
 * The coordinator's metrics: the Prometheus exporter on `cluster.metrics.listen`, the snapshot
 * it renders at each scrape (built from the group runners' memory), the events the group
 * runners and the agents' observations feed in, and the @pm2/io metrics of `pm2 show msgha`.
 *
 * Guarantees: a scrape reads memory only (never PM2, the shared directory or a probe); the
 * exporter failing to start (port in use, missing credential file) is logged as an ERROR that
 * names the address and the key to change, and the coordinator keeps running without /metrics
 * (a port in use is tried again with a bounded backoff — metrics/exporter-keeper.ts — and shown
 * in `msgha status` and `pm2 show` with its holder, so a foreign /healthz is told apart);
 * label values are configured names or closed enums (a check becomes its service name); no
 * reason sentence, user name or secret reaches a metric. /healthz is 200 while the
 * coordinator's reconcile loop is current (the lease bookkeeping joins when the lease lands).
 */
import type { ResolvedCluster, ResolvedResource } from '../model/cluster-types';
import type { Logger } from '../core/log';
import { createMetrics, type Metrics } from '../metrics/metrics';
import { DEFAULT_LISTEN, startExporter, type Exporter } from '../metrics/exporter';
import { ExporterKeeper, type ExporterState } from '../metrics/exporter-keeper';
import { publishCoordinatorMetrics, type Pm2IoLike } from '../metrics/pm2-io';
import {
  AGENT_FUNCTIONS, serviceOfCheck, type GroupSnapshot, type LeaseEvents, type LeaseSnapshot, type NodeSnapshot,
} from '../metrics/snapshot';
import type { Observation } from '../pm2/protocol';
import type { GroupEvents } from './group-runner';

/** What the observability layer reads from the coordinator. */
export interface ObservedCoordinator {
  /** One snapshot per group this node may run, from memory. */
  groupSnapshots(): GroupSnapshot[];
  /** True while the coordinator's bookkeeping is current. */
  healthy(): boolean;
}

export interface ObservabilityOptions {
  cluster: ResolvedCluster;
  node: string;
  log: Logger;
  /** The lease's view of a group, once the lease is integrated; omitted → no lease series values. */
  lease?: (group: string) => LeaseSnapshot | undefined;
  /** First retry delay when the listen port is in use (default 2 s; 0 = never), doubling up to retryMaxMs (default 10 s). */
  retryMs?: number;
  retryMaxMs?: number;
}

export class Observability {
  readonly metrics: Metrics;
  private readonly keeper: ExporterKeeper;
  private source: ObservedCoordinator | undefined;
  /** resource id → service → certificate expiry (ms since the epoch), as last probed. */
  private readonly certExpiresAt = new Map<string, Map<string, number>>();

  constructor(private readonly options: ObservabilityOptions) {
    this.metrics = createMetrics({ node: options.node });
    this.metrics.setSnapshotProvider(() => this.snapshot());
    const settings = options.cluster.settings.metrics ?? {};
    const listen = settings.listen ?? DEFAULT_LISTEN;
    this.keeper = new ExporterKeeper({
      listen, log: options.log, file: options.cluster.file, retryMs: options.retryMs, retryMaxMs: options.retryMaxMs,
      start: () => startExporter(this.metrics, {
        listen,
        ...(settings.basicAuth ? { basicAuth: settings.basicAuth } : {}),
        ...(settings.bearerTokenFile ? { bearerTokenFile: settings.bearerTokenFile } : {}),
        healthy: () => this.source?.healthy() ?? false,
      }),
    });
  }

  attach(source: ObservedCoordinator): void {
    this.source = source;
  }

  /** Starts /metrics and /healthz; on failure logs why, keeps trying when that can help, and resolves without an exporter. */
  startExporter(): Promise<Exporter | undefined> {
    return this.keeper.start();
  }

  /** Whether our exporter holds the port (for `msgha status`). */
  exporterState(): ExporterState {
    return this.keeper.state();
  }

  /** `pm2 show msgha`: per-group state and lease, groups online. `io` is the app's own @pm2/io. */
  publishPm2(io: Pm2IoLike): void {
    const groups = this.options.cluster.groups.filter((g) => g.systemList.includes(this.options.node)).map((g) => g.name);
    publishCoordinatorMetrics(io, () => this.snapshot(), groups);
    // A closed state, never the holder's name: `msgha status` has the details.
    const shown: Record<ExporterState['state'], string> = { starting: 'starting', listening: 'listening', 'port-taken': 'port taken, retrying', failed: 'failed', closed: 'closed' };
    io.metric({ name: 'metrics exporter', value: (() => shown[this.keeper.state().state]) as unknown as () => number });
  }

  snapshot(): NodeSnapshot {
    const now = Date.now();
    const groups = this.source?.groupSnapshots() ?? [];
    for (const g of groups) {
      const lease = this.options.lease?.(g.group);
      if (lease) g.lease = lease;
      for (const r of g.resources) {
        const certs = this.certExpiresAt.get(`${g.group}.${r.resource}`);
        if (!certs) continue;
        const left: Record<string, number> = {};
        for (const [service, at] of certs) left[service] = Math.round((at - now) / 1000);
        r.certExpirySeconds = left;
      }
    }
    return { node: this.options.node, groups };
  }

  /** One agent function run (from the bus): its duration, and what its checks found. */
  observed(o: Observation, res: ResolvedResource): void {
    if ((AGENT_FUNCTIONS as readonly string[]).includes(o.fn) && Number.isFinite(o.durationMs)) {
      this.metrics.functionDuration(res.group, res.name, res.type, o.fn, o.durationMs / 1000);
    }
    for (const c of o.checks ?? []) {
      if (!c || typeof c.check !== 'string') continue;
      const service = serviceOfCheck(c.check);
      // Expiry goes through the snapshot (computed at scrape time from the absolute date).
      this.metrics.probe(res.group, res.name, service, { outcome: c.outcome, phases: c.phases ?? {} });
      const left = Number(c.details?.certExpirySeconds);
      if (Number.isFinite(left)) {
        let certs = this.certExpiresAt.get(res.id);
        if (!certs) this.certExpiresAt.set(res.id, (certs = new Map()));
        certs.set(service, Date.now() + left * 1000);
      }
    }
  }

  /** Lease renewals and failovers of the multi-node coordinator. */
  leaseEvents(): LeaseEvents {
    return {
      leaseRenew: (group, seconds, ok) => this.metrics.leaseRenew(group, seconds, ok),
      failover: (group, reason) => this.metrics.failover(group, reason),
      sharedDirRejected: (kind) => this.metrics.sharedDirRejected(kind),
    };
  }

  /** The event sink of one group runner. */
  groupEvents(group: string): GroupEvents {
    return {
      restart: (res) => this.metrics.restart(res.group, res.name),
      fault: (res, reason) => this.metrics.fault(res.group, res.name, reason),
      failover: (reason) => this.metrics.failover(group, reason),
      violation: (res) => this.metrics.concurrencyViolation(res.group, res.name),
    };
  }

  close(): Promise<void> {
    return this.keeper.close();
  }
}
