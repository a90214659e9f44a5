/**
 * The coordinator of one node: registers one agent app per resource of every group this node
 * may run, adopts agents that already run (coordinator restart), brings autoStart groups online,
 * routes bus reports to the group runners and reconciles with pm2.list() on a timer.
 *
 * Guarantees: stopping the coordinator never takes a group offline — restarting it (`pm2 set`,
 * `pm2 restart msgha`, an upgrade) must never bounce the mail service; `pm2 kill` still stops
 * everything because every agent runs its offline on SIGINT. Bus events are hints: the reconcile
 * timer re-reads pm2.list(), re-registers a missing app and notices stopped or errored ones.
 *
 * Two modes, chosen by the cluster file:
 * - one-node (no cluster.sharedDir): autoStart groups come online at start, as they always did;
 * - multi-node (cluster.sharedDir set): cluster-node.ts — a lease per group; a group comes online
 *   here only once this node holds its lease; agents get MSGHA_LEASE=1 and MSGHA_RUN_DIR (their
 *   guard files); operator verbs go through cluster-operator.ts.
 * Stable interfaces (for operators and the cluster test harness): env MSGHA_NODE (node name),
 * MSGHA_RUN_DIR (runtime dir of the fence socket and guard files, default /run/msgha),
 * MSGHA_CLUSTER_FILE; `pm2 trigger msgha <action> [param]` with the actions of actions.ts.
 */
import { watchPids } from '../proc/processes';
import type { ResolvedCluster, ResolvedResource } from '../model/cluster-types';
import type { Logger } from '../core/log';
import type { GroupSnapshot } from '../metrics/snapshot';
import type { AgentReport, Observation } from '../pm2/protocol';
import { OBSERVE_EVENT, RESULT_EVENT, STATE_EVENT } from '../pm2/protocol';
import { timeoutSeconds, SETTLE_GRACE_MS } from '../resource-types/contract';
import * as client from '../pm2/pm2-client';
import type { BusPacket, ProcessEventPacket, Bus } from '../pm2/pm2-client';
import { AppRegistry, HELLO_TIMEOUT_MS } from './app-registry';
import { GroupRunner, type GroupEvents, type GroupStatus, type Outcome } from './group-runner';
import type { LeaseSnapshot } from '../metrics/snapshot';
import { ClusterNode, runDirFromEnv, type ClusterNodeEvents } from '../cluster/cluster-node';
import { ClusterOperator } from '../cluster/cluster-operator';
import { drillGroup, realDrillEnv, type DrillResult } from '../cluster/drill';
import { groupIn, type NodeView } from '../cluster/node-view';

/** Reconcile period: bus events are only hints, pm2.list() is the truth. */
export const RECONCILE_MS = 5000;
/** The coordinator counts as healthy while its last pm2.list() is at most this old. */
export const HEALTHY_WITHIN_MS = 3 * RECONCILE_MS;

/** Where the coordinator reports what happens, for the metrics (observability.ts). */
export interface CoordinatorObserver {
  groupEvents(group: string): GroupEvents;
  observed(observation: Observation, resource: ResolvedResource): void;
  /** Lease renewals and failovers (multi-node mode). */
  clusterEvents?(): ClusterNodeEvents;
}

export interface StatusReply {
  node: string;
  cluster: string;
  file: string;
  /** 'multi-node' when cluster.sharedDir is set. */
  mode: 'one-node' | 'multi-node';
  groups: GroupStatus[];
  summary: string;
  error?: string;
  /** Multi-node: this node's published view (node-view.ts), as it would be written now. */
  view?: NodeView;
  /** Multi-node: the other nodes' last published views, with this node's liveness judgement. */
  peers?: Array<{ node: string; alive: boolean | null; view?: NodeView }>;
}

export class Coordinator {
  readonly groups = new Map<string, GroupRunner>();
  private readonly registry: AppRegistry;
  private bus: Bus | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling = false;
  /** When pm2.list() last succeeded (0: never). */
  private listedAt = 0;
  /** Multi-node mode only. */
  readonly clusterNode: ClusterNode | undefined;
  private readonly operator: ClusterOperator | undefined;

  constructor(readonly cluster: ResolvedCluster, readonly node: string, private readonly log: Logger,
    private readonly observer?: CoordinatorObserver) {
    const multi = !!cluster.settings.sharedDir;
    const runDir = runDirFromEnv();
    this.registry = new AppRegistry(log, multi ? { MSGHA_LEASE: '1', MSGHA_RUN_DIR: runDir } : {});
    for (const g of cluster.groups) {
      if (!g.systemList.includes(node)) continue;
      this.groups.set(g.name, new GroupRunner(g, {
        agents: this.registry.port,
        log,
        restartApp: (id) => this.restartApp(id),
        watchPids,
        ...(observer ? { events: observer.groupEvents(g.name) } : {}),
        ...(multi ? {
          cleanViolations: true,
          onFaulted: (reason: string) => this.clusterNode?.onGroupFaulted(g.name, reason, () => this.operator?.target(g.name, node).to),
          onPids: (_id: string, pids: number[]) => this.clusterNode?.onPids(g.name, pids),
        } : {}),
      }));
    }
    if (multi) {
      const events = observer?.clusterEvents?.();
      this.clusterNode = new ClusterNode({ cluster, node, log, runners: this.groups, runDir, ...(events ? { events } : {}) });
      this.operator = new ClusterOperator(this.clusterNode, log);
    }
  }

  /** The lease as the metrics show it (multi-node mode; memory only). */
  leaseSnapshot(group: string): LeaseSnapshot | undefined {
    const c = this.clusterNode?.ctl.get(group);
    if (!c) return undefined;
    const s = c.lease.status();
    const mine = s.state === 'holder';
    let seen = mine ? 1 : 0;
    for (const [, p] of this.clusterNode!.peers()) if (p.alive !== false && groupIn(p.view, group)?.role === 'holder') seen += 1;
    return {
      holder: s.leaseState === 'HELD' && s.holder ? s.holder : undefined, holderIsMe: mine, epoch: s.epoch ?? 0,
      remainingServeSeconds: mine ? Math.max(0, (s.remainingServeMs ?? 0) / 1000) : 0, holdersSeen: seen,
    };
  }

  /** Every group of this node as the metrics see it (memory only: runs inside every scrape). */
  groupSnapshots(): GroupSnapshot[] {
    return [...this.groups.values()].map((g) => g.snapshot());
  }

  /** True while the reconcile loop is current (its last pm2.list() is recent). */
  healthy(now = Date.now()): boolean {
    return this.listedAt > 0 && now - this.listedAt <= HEALTHY_WITHIN_MS;
  }

  private resource(id: string) {
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
    if (this.clusterNode) await this.clusterNode.prepare();
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
      if (p?.event === 'exit' && this.resource(p.process?.name)) this.registry.noteExit(p.process.name);
    });

    const apps = await client.list();
    this.listedAt = Date.now();
    this.registry.refresh(apps);
    const byName = new Map(apps.map((a) => [a.name, a]));
    const reports = new Map<string, AgentReport>();
    const stopped = new Set<string>();
    const toRegister: string[] = [];
    await Promise.all([...this.groups.values()].flatMap((g) => g.group.resources.map(async (res) => {
      const app = byName.get(res.id);
      if (app?.status === 'online') {
        const rep = await this.registry.request(res.id, { cmd: 'state' }, 5000);
        if (rep.ok) { reports.set(res.id, rep); return; }
        this.log.warn(`${res.id}: running agent did not answer a state query (${rep.reason}); registering it again`);
      } else if (app?.status === 'stopped') {
        stopped.add(res.id);
        return;
      }
      toRegister.push(res.id);
    })));
    if (reports.size > 0) this.log.info(`adopting ${reports.size} running agent(s)`);
    await Promise.all(toRegister.map((id) => this.registry.register(this.resource(id)!.res, this.cluster.file, this.node)));
    for (const g of this.groups.values()) await g.adopt(reports, stopped);

    this.reconcileTimer = setInterval(() => { void this.reconcile(); }, RECONCILE_MS);
    if (this.clusterNode) {
      // Groups come online here only when their lease is won (or resumed through the fence).
      await this.clusterNode.start();
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
    this.registry.noteReport(report, p.process.pm_id);
    found.group.onReport(report);
  }

  private async restartApp(id: string): Promise<boolean> {
    const found = this.resource(id);
    if (!found) return false;
    return this.registry.register(found.res, this.cluster.file, this.node);
  }

  private async reconcile(): Promise<void> {
    if (this.reconciling) return;
    this.reconciling = true;
    try {
      const apps = await client.list();
      this.listedAt = Date.now();
      this.registry.refresh(apps);
      const byName = new Map(apps.map((a) => [a.name, a]));
      for (const g of this.groups.values()) {
        for (const res of g.group.resources) {
          const app = byName.get(res.id);
          if (!app) {
            this.log.warn(`${res.id}: agent app missing from PM2 (deleted?); registering it again`);
            void this.registry.register(res, this.cluster.file, this.node);
            continue;
          }
          g.onAppStatus(res.id, app.status);
        }
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
    const cn = this.clusterNode;
    if (!cn) {
      return {
        node: this.node, cluster: this.cluster.settings.name, file: this.cluster.file, mode: 'one-node', groups,
        summary: `node ${this.node}: ${parts.length ? parts.join(', ') : 'no group may run here'}`,
      };
    }
    const view = cn.nodeView();
    const lease = view.groups.map((g) => `${g.name} ${g.state} (${g.role}${g.epoch !== null ? ` epoch ${g.epoch}` : ''}${g.holder && g.role !== 'holder' ? `, held by ${g.holder}` : ''}${g.frozen ? ', frozen' : ''})`);
    return {
      node: this.node, cluster: this.cluster.settings.name, file: this.cluster.file, mode: 'multi-node', groups, view,
      peers: [...cn.peers()].map(([node, p]) => ({ node, alive: p.alive ?? null, ...(p.view ? { view: p.view } : {}) })),
      summary: `node ${this.node}: ${lease.length ? lease.join(', ') : 'no group may run here'}`,
    };
  }

  private group(name: string): GroupRunner | Outcome {
    const g = this.groups.get(name);
    if (g) return g;
    const known = [...this.groups.keys()].join(', ') || 'none';
    return { ok: false, reason: `no group '${name}' on node ${this.node} (groups here: ${known})` };
  }

  async online(name: string): Promise<Outcome> {
    if (this.operator) return this.operator.online(name);
    const g = this.group(name);
    return g instanceof GroupRunner ? g.online('operator request (pm2 trigger online)') : g;
  }

  async offline(name: string): Promise<Outcome> {
    if (this.operator) return this.operator.offline(name);
    const g = this.group(name);
    return g instanceof GroupRunner ? g.offline('operator request (pm2 trigger offline)') : g;
  }

  async clear(target: string): Promise<Outcome> {
    const found = this.resource(target);
    const g = found ? undefined : this.group(target);
    const out = found ? await found.group.clear(target) : g instanceof GroupRunner ? await g.clear() : g!;
    // Multi-node: a cleared group may contend for its lease here again.
    this.clusterNode?.kick();
    return out;
  }

  private oneNode(what: string): Outcome {
    return { ok: false, reason: `${what} needs multi-node mode: this cluster file has no cluster.sharedDir, so there is no other node` };
  }

  async switchGroup(param: string): Promise<Outcome> {
    return this.operator ? this.operator.switchGroup(param) : this.oneNode('switch');
  }

  async evacuate(): Promise<Outcome> {
    return this.operator ? this.operator.evacuate() : this.oneNode('evacuate');
  }

  async freeze(param: string): Promise<Outcome> {
    if (this.operator) return this.operator.freeze(param);
    const [name = '', mode = ''] = param.split(':');
    const g = this.group(name);
    if (!(g instanceof GroupRunner)) return g;
    if (mode) return mode === 'persistent' ? this.oneNode('a persistent freeze (stored in the shared directory)') : { ok: false, reason: `unknown freeze mode '${mode}'` };
    g.frozen = true;
    return { ok: true, reason: `group ${name} frozen on ${this.node} (until unfreeze or a coordinator restart): no automatic action` };
  }

  async unfreeze(name: string): Promise<Outcome> {
    if (this.operator) return this.operator.unfreeze(name);
    const g = this.group(name);
    if (!(g instanceof GroupRunner)) return g;
    g.frozen = false;
    return { ok: true, reason: `group ${name} unfrozen: automatic actions resume` };
  }

  async drill(name: string): Promise<Outcome & { drill?: DrillResult }> {
    if (this.operator) return this.operator.drill(name);
    const g = this.group(name);
    if (!(g instanceof GroupRunner)) return g;
    if (g.state !== 'OFFLINE' && g.state !== 'FAULTED') return { ok: false, reason: `group ${name} is ${g.state} on ${this.node}: a drill checks a node where the group does not run` };
    const d = await drillGroup(g.group, this.node, realDrillEnv);
    return { ok: d.ok, reason: d.reason, drill: d };
  }

  async probe(id: string): Promise<Outcome & { report?: AgentReport }> {
    const found = this.resource(id);
    if (!found) return { ok: false, reason: `no resource '${id}' on node ${this.node} (use <group>.<resource>)` };
    const timeout = timeoutSeconds(found.res, 'monitor') * 1000 + SETTLE_GRACE_MS + HELLO_TIMEOUT_MS / 10;
    const report = await this.registry.request(id, { cmd: 'monitor', deep: true }, timeout);
    return { ok: report.state === 'ONLINE', reason: `${id} ${report.state ?? 'UNKNOWN'}: ${report.reason}`, report };
  }

  /** Detach from PM2 without touching any group (see the module header for why). */
  stop(): void {
    this.clusterNode?.stop();
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.registry.close();
    try { this.bus?.close?.(); } catch { /* daemon may be gone */ }
    client.disconnect();
  }
}
