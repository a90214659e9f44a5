/**
 * Multi-node mode as the coordinator sees it (coordinator/cluster-mode.ts): the ClusterNode
 * (leases, views, fence), its operator verbs, and the cluster's part of `status` and of the
 * lease metrics. Built by plugin/main.ts when the cluster file sets cluster.sharedDir.
 */
import type { ResolvedCluster } from '../model/cluster-types';
import type { Logger } from '../core/log';
import type { GroupSnapshot, LeaseEvents, LeaseSnapshot } from '../metrics/snapshot';
import type { ClusterMode } from '../coordinator/cluster-mode';
import type { GroupRunner } from '../coordinator/group-runner';
import type { StatusReply } from '../coordinator/status-reply';
import { ClusterNode, runDirFromEnv } from './cluster-node';
import { ClusterOperator } from './cluster-operator';
import { groupIn, type NodeView } from './node-view';

/** The status reply in multi-node mode: the local one plus this node's view and its peers'. */
export interface ClusterStatusReply extends StatusReply {
  /** This node's published view (node-view.ts), as it would be written now. */
  view: NodeView;
  /** The other nodes' last published views, with this node's liveness judgement. */
  peers: Array<{ node: string; alive: boolean | null; view?: NodeView }>;
}

export class MultiNodeMode implements ClusterMode {
  readonly agentEnv: Readonly<Record<string, string>>;
  readonly node: ClusterNode;
  readonly operator: ClusterOperator;

  constructor(cluster: ResolvedCluster, nodeName: string, log: Logger, runners: ReadonlyMap<string, GroupRunner>, events?: LeaseEvents) {
    const runDir = runDirFromEnv();
    this.agentEnv = { MSGHA_LEASE: '1', MSGHA_RUN_DIR: runDir };
    this.node = new ClusterNode({ cluster, node: nodeName, log, runners, runDir, ...(events ? { events } : {}) });
    this.operator = new ClusterOperator(this.node, log);
  }

  runnerDeps(group: string): ReturnType<ClusterMode['runnerDeps']> {
    return {
      cleanViolations: true,
      onFaulted: (reason: string) => this.node.onGroupFaulted(group, reason, () => this.operator.target(group, this.node.node)),
      onPids: (_id: string, pids: number[]) => this.node.onPids(group, pids),
    };
  }

  prepare(): Promise<void> { return this.node.prepare(); }
  start(): Promise<void> { return this.node.start(); }
  kick(): void { this.node.kick(); }
  stop(): void { this.node.stop(); }

  status(local: StatusReply): ClusterStatusReply {
    const view = this.node.nodeView();
    const lease = view.groups.map((g) => `${g.name} ${g.state} (${g.role}${g.epoch !== null ? ` epoch ${g.epoch}` : ''}${g.holder && g.role !== 'holder' ? `, held by ${g.holder}` : ''}${g.frozen ? ', frozen' : ''})`);
    return {
      ...local, mode: 'multi-node', view,
      peers: [...this.node.peers()].map(([node, p]) => ({ node, alive: p.alive ?? null, ...(p.view ? { view: p.view } : {}) })),
      summary: `node ${local.node}: ${lease.length ? lease.join(', ') : 'no group may run here'}`,
    };
  }

  networkSnapshot(group: string): Pick<GroupSnapshot, 'links' | 'remoteProbes' | 'unreachableFromNetwork'> {
    const s = this.node.ctl.get(group)?.lease.status();
    return this.node.network.snapshot(group, s?.state === 'holder' ? { epoch: s.epoch ?? 0 } : undefined);
  }

  /** The lease as the metrics show it (memory only). */
  leaseSnapshot(group: string): LeaseSnapshot | undefined {
    const c = this.node.ctl.get(group);
    if (!c) return undefined;
    const s = c.lease.status();
    const mine = s.state === 'holder';
    let seen = mine ? 1 : 0;
    for (const [, p] of this.node.peers()) if (p.alive !== false && groupIn(p.view, group)?.role === 'holder') seen += 1;
    return {
      holder: s.leaseState === 'HELD' && s.holder ? s.holder : undefined, holderIsMe: mine, epoch: s.epoch ?? 0,
      remainingServeSeconds: mine ? Math.max(0, (s.remainingServeMs ?? 0) / 1000) : 0, holdersSeen: seen,
    };
  }
}
