/**
 * The coordinator of one node: registers one agent app per resource of every group this node
 * may run — started only while its resource should run here (agent-router.ts), so `pm2 ls`
 * shows the components — adopts agents that already run (coordinator restart), does the
 * standby's checks itself (standby-scan.ts), brings autoStart groups online, routes bus reports
 * to the group runners and reconciles with pm2.list() on a timer.
 *
 * Guarantees: stopping the coordinator never takes a group offline — restarting it (`pm2 set`,
 * `pm2 restart msgha`, an upgrade) must never bounce the mail service; `pm2 kill` still stops
 * everything because every agent runs its offline on SIGINT. Bus events are hints: the reconcile
 * timer re-reads pm2.list(), re-registers a missing app and notices stopped or errored ones.
 *
 * Two modes, chosen by the cluster file:
 * - one-node (no cluster.sharedDir): autoStart groups come online at start; operator verbs go to
 *   a LocalOperator (operator.ts);
 * - multi-node (cluster.sharedDir set): a ClusterMode (cluster-mode.ts; built by plugin/main.ts
 *   from plugin/cluster/) — a lease per group, a group comes online here only once this node
 *   holds its lease, and the operator verbs are the cluster's.
 * Stable interfaces (for operators and the cluster test harness): env MSGHA_NODE (node name),
 * MSGHA_RUN_DIR (runtime dir of the fence socket and guard files, default /run/msgha),
 * MSGHA_CLUSTER_FILE; `pm2 trigger msgha <action> [param]` with the actions of actions.ts.
 */
import { watchPids } from '../proc/pid-watch';
import type { ResolvedCluster, ResolvedResource } from '../model/cluster-types';
import type { Logger } from '../core/log';
import type { GroupSnapshot, LeaseEvents, LeaseSnapshot } from '../metrics/snapshot';
import type { AgentReport, Observation } from '../pm2/protocol';
import { OBSERVE_EVENT, RESULT_EVENT, STATE_EVENT } from '../pm2/protocol';
import { timeoutSeconds, SETTLE_GRACE_MS } from '../resource-types/contract';
import * as client from '../pm2/pm2-client';
import type { BusPacket, ProcessEventPacket, Bus } from '../pm2/pm2-client';
import { AgentRouter } from './apps/agent-router';
import { AppRegistry, HELLO_TIMEOUT_MS, appNameOf, resourceIdOf } from './apps/app-registry';
import { InProcessAgents } from './apps/in-process';
import { createSecretResolver } from '../secrets';
import { StandbyScan } from './apps/standby-scan';
import { GroupRunner, type GroupEvents, type Outcome } from './group-runner';
import type { ClusterMode, ClusterModeFactory } from './cluster-mode';
import type { DrillResult } from './drill';
import { LocalOperator, missingGroup, type Operator } from './operator';
import type { StatusReply } from './status-reply';

/** Reconcile period: bus events are only hints, pm2.list() is the truth. */
export const RECONCILE_MS = 5000;
/** The coordinator counts as healthy while its last pm2.list() is at most this old. */
export const HEALTHY_WITHIN_MS = 3 * RECONCILE_MS;

/** Where the coordinator reports what happens, for the metrics (observability.ts). */
export interface CoordinatorObserver {
  groupEvents(group: string): GroupEvents;
  observed(observation: Observation, resource: ResolvedResource): void;
  /** Lease renewals and failovers (multi-node mode). */
  leaseEvents?(): LeaseEvents;
}

export class Coordinator {
  readonly groups = new Map<string, GroupRunner>();
  private readonly registry: AppRegistry;
  private readonly router: AgentRouter;
  private readonly scan: StandbyScan;
  private bus: Bus | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling = false;
  /** When pm2.list() last succeeded (0: never). */
  private listedAt = 0;
  /** Multi-node mode only. */
  readonly clusterMode: ClusterMode | undefined;
  private readonly operator: Operator;

  /** `clusterMode`: given for a cluster file with cluster.sharedDir (plugin/main.ts builds it). */
  constructor(readonly cluster: ResolvedCluster, readonly node: string, private readonly log: Logger,
    private readonly observer?: CoordinatorObserver, clusterMode?: ClusterModeFactory) {
    let mode: ClusterMode | undefined;
    this.registry = new AppRegistry(log, () => mode?.agentEnv ?? {});
    const local = new InProcessAgents(() => createSecretResolver(cluster), node, log);
    this.router = new AgentRouter(this.registry, local, (id) => this.resource(id)?.res, cluster.file, node);
    this.scan = new StandbyScan(this.groups, this.registry, local);
    for (const g of cluster.groups) {
      if (!g.systemList.includes(node)) continue;
      this.groups.set(g.name, new GroupRunner(g, {
        agents: this.router,
        log,
        restartApp: (id) => this.restartApp(id),
        watchPids,
        ...(observer ? { events: observer.groupEvents(g.name) } : {}),
        cleanViolations: !!clusterMode,
        onFaulted: (reason: string) => mode?.runnerDeps(g.name).onFaulted?.(reason),
        onPids: (id: string, pids: number[]) => mode?.runnerDeps(g.name).onPids?.(id, pids),
      }));
    }
    mode = clusterMode?.(this.groups);
    this.clusterMode = mode;
    this.operator = mode?.operator ?? new LocalOperator(this.groups, node);
  }

  /** The lease as the metrics show it (multi-node mode; memory only). */
  leaseSnapshot(group: string): LeaseSnapshot | undefined {
    return this.clusterMode?.leaseSnapshot(group);
  }

  /** Every group of this node as the metrics see it (memory only: runs inside every scrape). */
  groupSnapshots(): GroupSnapshot[] {
    return [...this.groups.values()].map((g) => ({ ...g.snapshot(), ...this.clusterMode?.networkSnapshot(g.name) }));
  }

  /** True while the reconcile loop is current (its last pm2.list() is recent). */
  healthy(now = Date.now()): boolean {
    return this.listedAt > 0 && now - this.listedAt <= HEALTHY_WITHIN_MS;
  }

  /** By resource id (`mail.imap`) or app name (`mail:imap`). */
  private resource(idOrApp: string) {
    const id = resourceIdOf(idOrApp);
    for (const g of this.groups.values()) {
      const r = g.group.resources.find((x) => x.id === id);
      if (r) return { group: g, res: r };
    }
    return undefined;
  }

  async start(): Promise<void> {
    if (!this.cluster.settings.nodes.includes(this.node)) {
      this.log.warn(`node '${this.node}' is not in cluster.nodes (${this.cluster.settings.nodes.join(', ')}); set MSGHA_NODE`);
    }
    // Multi-node: the profile check and the fence come before anything is registered with PM2.
    if (this.clusterMode) await this.clusterMode.prepare();
    await client.connect();
    this.bus = await client.launchBus();
    this.bus.on(STATE_EVENT, (p: BusPacket<AgentReport>) => this.onState(p));
    this.bus.on(RESULT_EVENT, (p: BusPacket<AgentReport>) => {
      if (p?.data && this.resource(p.data.resource)) this.registry.noteResult(p.data, p.process.pm_id);
    });
    this.bus.on(OBSERVE_EVENT, (p: BusPacket<Observation[] | Observation>) => {
      // A batch (an agent of an older version may still send one observation per message).
      for (const o of Array.isArray(p?.data) ? p.data : p?.data ? [p.data] : []) {
        const found = o && typeof o.resource === 'string' ? this.resource(o.resource) : undefined;
        if (found && this.observer) this.observer.observed(o, found.res);
      }
    });
    this.bus.on('process:event', (p: ProcessEventPacket) => {
      const found = p?.event === 'exit' && typeof p.process?.name === 'string' ? this.resource(p.process.name) : undefined;
      if (found) this.registry.noteExit(found.res.id);
    });

    const apps = await client.list();
    this.listedAt = Date.now();
    this.registry.refresh(apps);
    const byName = new Map(apps.map((a) => [resourceIdOf(a.name), a]));
    const reports = new Map<string, AgentReport>();
    const toRegister: string[] = [];
    await Promise.all([...this.groups.values()].flatMap((g) => g.group.resources.map(async (res) => {
      const app = byName.get(res.id);
      if (app?.status === 'online') {
        const rep = await this.registry.request(res.id, { cmd: 'state' }, 5000);
        if (rep.ok) { this.registry.adopted(res.id); reports.set(res.id, rep); return; }
        this.log.warn(`${appNameOf(res.id)}: running agent did not answer a state query (${rep.reason}); starting it again`);
      } else if (app) {
        return; // registered and stopped: started when its resource is to run here
      }
      toRegister.push(res.id);
    })));
    if (reports.size > 0) this.log.info(`adopting ${reports.size} running agent(s)`);
    // A new app is registered by starting it (retired at its hello unless needed). In the
    // background and one at a time: no running resource waits for it, a restarted holder must
    // resume its lease in time, and a node's start must not be a burst of Node start-ups (an
    // online that needs one of them starts it at once: ensureUp).
    void (async () => {
      for (const id of toRegister) await this.registry.ensureUp(this.resource(id)!.res, this.cluster.file, this.node);
    })();
    for (const g of this.groups.values()) await g.adopt(reports);
    for (const g of this.groups.values()) g.retireIdle();
    this.scan.start();

    this.reconcileTimer = setInterval(() => { void this.reconcile(); }, RECONCILE_MS);
    if (this.clusterMode) {
      // Groups come online here only when their lease is won (or resumed through the fence).
      await this.clusterMode.start();
      return;
    }
    for (const g of this.groups.values()) {
      if (g.state === 'PARTIAL') void g.online('completing a partially running group after a coordinator restart');
      else if (g.state === 'OFFLINE' && g.group.autoStart && !g.group.frozen) {
        // Groups come online one after another, in file order (group dependencies: next issue).
        await g.online('autoStart');
      }
    }
  }

  private onState(p: BusPacket<AgentReport>): void {
    const report = p?.data;
    if (!report || typeof report.resource !== 'string') return;
    const found = this.resource(report.resource);
    if (!found) return;
    // Read before noteReport: a hello ends the start the coordinator is waiting for.
    const expected = report.fn === 'hello' && this.registry.isStarting(found.res.id);
    this.registry.noteReport(report, p.process.pm_id);
    found.group.onReport(report, expected);
  }

  private async restartApp(id: string): Promise<boolean> {
    const found = this.resource(id);
    if (!found) return false;
    return this.registry.ensureUp(found.res, this.cluster.file, this.node);
  }

  private async reconcile(): Promise<void> {
    if (this.reconciling) return;
    this.reconciling = true;
    try {
      const apps = await client.list();
      this.listedAt = Date.now();
      this.registry.refresh(apps);
      const byName = new Map(apps.map((a) => [resourceIdOf(a.name), a]));
      for (const g of this.groups.values()) {
        for (const res of g.group.resources) {
          const app = byName.get(res.id);
          if (!app) {
            this.log.warn(`${appNameOf(res.id)}: agent app missing from PM2 (deleted?); registering it again`);
            void this.registry.ensureUp(res, this.cluster.file, this.node);
            continue;
          }
          g.onAppStatus(res.id, app.status);
        }
        g.retireIdle();
      }
    } catch (err) {
      this.log.warn(`reconcile: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.reconciling = false;
    }
  }

  // ── operator actions ───────────────────────────────────────────────────────────────────

  status(): StatusReply {
    const groups = [...this.groups.values()].map((g) => g.status());
    const parts = groups.map((g) => {
      const on = g.resources.filter((r) => r.state === 'ONLINE').length;
      return `${g.name} ${g.state} (${on}/${g.resources.length} online)`;
    });
    const local: StatusReply = {
      node: this.node, cluster: this.cluster.settings.name, file: this.cluster.file, mode: 'one-node', groups,
      summary: `node ${this.node}: ${parts.length ? parts.join(', ') : 'no group may run here'}`,
    };
    return this.clusterMode ? this.clusterMode.status(local) : local;
  }

  online(name: string): Promise<Outcome> { return this.operator.online(name); }
  offline(name: string): Promise<Outcome> { return this.operator.offline(name); }
  switchGroup(param: string): Promise<Outcome> { return this.operator.switchGroup(param); }
  evacuate(): Promise<Outcome> { return this.operator.evacuate(); }
  freeze(param: string): Promise<Outcome> { return this.operator.freeze(param); }
  unfreeze(name: string): Promise<Outcome> { return this.operator.unfreeze(name); }
  drill(name: string): Promise<Outcome & { drill?: DrillResult }> { return this.operator.drill(name); }

  async clear(target: string): Promise<Outcome> {
    const found = this.resource(target);
    const g = found ? undefined : this.groups.get(target);
    const out = found ? await found.group.clear(target) : g ? await g.clear() : missingGroup(target, this.node, this.groups.keys());
    // Multi-node: a cleared group may contend for its lease here again.
    this.clusterMode?.kick();
    return out;
  }

  async probe(id: string): Promise<Outcome & { report?: AgentReport }> {
    const found = this.resource(id);
    if (!found) return { ok: false, reason: `no resource '${id}' on node ${this.node} (use <group>.<resource> or <group>:<resource>)` };
    const timeout = timeoutSeconds(found.res, 'monitor') * 1000 + SETTLE_GRACE_MS + HELLO_TIMEOUT_MS / 10;
    const report = await this.router.request(found.res.id, { cmd: 'monitor', deep: true }, timeout);
    return { ok: report.state === 'ONLINE', reason: `${id} ${report.state ?? 'UNKNOWN'}: ${report.reason}`, report };
  }

  /** Detach from PM2 without touching any group (see the module header for why). */
  stop(): void {
    this.clusterMode?.stop();
    this.scan.stop();
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.registry.close();
    try { this.bus?.close?.(); } catch { /* daemon may be gone */ }
    client.disconnect();
  }
}
