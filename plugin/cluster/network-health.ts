/**
 * One node's view of the client network (docs/network.md), for cluster-node.ts: the link watch
 * (this node's NIC resources, checked on every node), the remote probes this node runs through
 * the VIPs of groups held elsewhere, and — for the groups it holds — the verdict over what its
 * standbys published (reachability.ts). It decides nothing about the lease itself: cluster-node.ts
 * gates contention on linkDown(), releases a group whose verdict says unreachable, and clears a
 * group FAULTED by its link once its links pass again (LinkWatch.passedSince).
 */
import type { ResolvedCluster, ResolvedGroup } from '../model/cluster-types';
import type { Logger } from '../core/log';
import type { GroupSnapshot, RemoteProbeSnapshot } from '../metrics/snapshot';
import { LinkWatch } from './link-watch';
import { groupIn, type LinkView, type NodeView } from './node-view';
import type { PeerState } from './placement';
import { judgeReachability, type Reachability } from './reachability';
import { RemoteWatch, remoteProbeTimings, vipOf, type RemoteProbeTimings } from './remote-watch';

export interface NetworkHealthOptions {
  cluster: ResolvedCluster;
  node: string;
  groups: readonly ResolvedGroup[];
  log: Logger;
  peers(): Map<string, PeerState>;
  /** Something changed that the node's view should show soon. */
  changed(): void;
}

export class NetworkHealth {
  readonly timings: RemoteProbeTimings;
  readonly links: LinkWatch;
  private readonly remote: RemoteWatch;
  /** Per held group: the current verdict when it says unreachable, since when. */
  private readonly verdicts = new Map<string, { since: string; why: string }>();
  private readonly vips: Set<string>;

  constructor(private readonly o: NetworkHealthOptions) {
    this.timings = remoteProbeTimings(o.cluster);
    this.links = new LinkWatch(o.groups, o.log, o.changed);
    this.vips = new Set(o.cluster.groups.map((g) => vipOf(g)?.address).filter((a): a is string => !!a));
    this.remote = new RemoteWatch({
      cluster: o.cluster, node: o.node, groups: o.groups, log: o.log, timings: this.timings,
      leaseOf: (g) => this.holderOf(g), peers: () => o.peers(), changed: o.changed,
      devices: () => Object.keys(this.links.addresses()),
    });
  }

  start(): void { this.links.start(); this.remote.start(); }
  stop(): void { this.links.stop(); this.remote.stop(); }

  linkDown(group: string): LinkView | undefined { return this.links.down(group); }

  /** The holder of a group and its epoch, as the other nodes' views say (the newest live claim). */
  holderOf(group: string): { holder: string; epoch: number | undefined } {
    let best: { holder: string; epoch: number | undefined } = { holder: '', epoch: undefined };
    for (const [n, p] of this.o.peers()) {
      const g = groupIn(p.view, group);
      if (p.alive === true && g?.role === 'holder' && g.epoch !== null && (best.epoch === undefined || g.epoch > best.epoch)) best = { holder: n, epoch: g.epoch };
    }
    return best;
  }

  /**
   * The verdict for a group this node holds at `epoch` (or undefined when it does not hold it);
   * remembered for the view and the metrics, logged when it changes.
   */
  judge(group: ResolvedGroup, holding: { epoch: number; localOk: boolean } | undefined): Reachability | undefined {
    if (!holding) { this.verdicts.delete(group.name); return undefined; }
    const peers = this.o.peers();
    const r = judgeReachability({
      group: group.name, holder: this.o.node, epoch: holding.epoch, systemList: group.systemList, localOk: holding.localOk,
      failuresNeeded: this.timings.failures, vipDevice: vipOf(group)?.device,
      standbys: group.systemList.filter((n) => n !== this.o.node).map((n) => ({ node: n, alive: peers.get(n)?.alive, view: peers.get(n)?.view })),
    });
    const was = this.verdicts.get(group.name);
    if (r.unreachable && !was) {
      this.o.log.error(`group ${group.name}: ${r.why}`);
      this.verdicts.set(group.name, { since: new Date().toISOString(), why: r.why });
    } else if (!r.unreachable && was) {
      this.o.log.info(`group ${group.name}: reachable from the network again (${r.why})`);
      this.verdicts.delete(group.name);
    }
    return r;
  }

  unreachable(group: string): { since: string; why: string } | undefined { return this.verdicts.get(group); }

  /** This node's part of its published view. */
  viewParts(): Pick<NodeView, 'links' | 'remote' | 'addresses' | 'reach'> {
    const addresses: Record<string, string[]> = {};
    // The VIPs are not this node's: other nodes must reach the node, not whoever holds a VIP.
    for (const [d, list] of Object.entries(this.links.addresses())) {
      const own = list.filter((a) => !this.vips.has(a));
      if (own.length) addresses[d] = own;
    }
    return { links: this.links.views(), remote: this.remote.views(), addresses, reach: this.remote.reach() };
  }

  /** The metrics' part: links here, remote results (the holder: its standbys'; others: its own), the verdict. */
  snapshot(group: string, holding: { epoch: number } | undefined): Pick<GroupSnapshot, 'links' | 'remoteProbes' | 'unreachableFromNetwork'> {
    const links = this.links.views().filter((l) => l.group === group).map((l) => ({ resource: l.resource, device: l.device, up: l.up ?? undefined }));
    const remoteProbes: RemoteProbeSnapshot[] = [];
    const add = (from: string, view: NodeView['remote']): void => {
      const r = view?.find((x) => x.group === group);
      if (!r || (holding && (r.holder !== this.o.node || r.epoch !== holding.epoch))) return;
      for (const s of r.services) remoteProbes.push({ service: s.service, from, ok: s.ok, ...(s.phases ? { phases: s.phases } : {}) });
    };
    if (holding) for (const [n, p] of this.o.peers()) { if (p.alive === true) add(n, p.view?.remote); }
    else add(this.o.node, this.remote.views());
    return {
      ...(links.length ? { links } : {}),
      ...(remoteProbes.length ? { remoteProbes } : {}),
      ...(holding ? { unreachableFromNetwork: this.verdicts.has(group) } : {}),
    };
  }
}
