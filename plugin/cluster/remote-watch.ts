/**
 * Remote probes from this node (docs/network.md): every `remoteProbes.interval`, for each group
 * another node holds and shows ONLINE in its view, the group's client services are probed
 * through the group's VIP (remote-probe.ts, the deep checks' own probes), and the other nodes'
 * published addresses are pinged (`reach`: do the standbys see each other?). The results go into
 * this node's view (`remote`, `reach`); the holder judges them (reachability.ts).
 *
 * Guarantees: only a holder whose own view says ONLINE at the epoch this node sees is probed, so
 * a group still starting is never counted as unreachable; results are tied to (holder, epoch) and
 * start again from zero when either changes; a cycle ends within `remoteProbes.timeout`; cycles
 * never overlap; stop() aborts the cycle in flight.
 */
import type { ResolvedCluster, ResolvedGroup } from '../model/cluster-types';
import type { Logger } from '../core/log';
import { createSecretResolver, type SecretResolver } from '../secrets';
import { keyDefault, CLUSTER_KEYS } from '../config/keys';
import { parseIPv4Cidr } from '../core/net';
import { checkLink } from '../resource-types/nic';
import { groupIn, type RemoteView } from './node-view';
import type { PeerState } from './placement';
import { probeThroughVip, RemoteProbeBook, type RemoteTarget } from './remote-probe';

/** cluster.remoteProbes with its declared defaults. */
export interface RemoteProbeTimings { intervalMs: number; timeoutMs: number; failures: number; act: boolean }

export function remoteProbeTimings(cluster: ResolvedCluster): RemoteProbeTimings {
  const rp = cluster.settings.remoteProbes ?? {};
  const d = <T>(k: string): T => keyDefault<T>(CLUSTER_KEYS, `remoteProbes.${k}`);
  return {
    intervalMs: (rp.interval ?? d<number>('interval')) * 1000,
    timeoutMs: (rp.timeout ?? d<number>('timeout')) * 1000,
    failures: rp.failures ?? d<number>('failures'),
    act: rp.act ?? d<boolean>('act'),
  };
}

/** The group's VIP: the address (without prefix) and device of its first IP resource. */
export function vipOf(group: ResolvedGroup): { address: string; device: string } | undefined {
  const ip = group.resources.find((r) => r.type === 'IP');
  const cidr = typeof ip?.attrs.Address === 'string' ? parseIPv4Cidr(ip.attrs.Address) : undefined;
  return cidr && typeof ip!.attrs.Device === 'string' ? { address: cidr.address, device: ip!.attrs.Device } : undefined;
}

export interface RemoteWatchOptions {
  cluster: ResolvedCluster;
  node: string;
  groups: readonly ResolvedGroup[];
  log: Logger;
  timings: RemoteProbeTimings;
  /** The lease as this node sees it: holder and epoch of a group ('' when nobody holds it). */
  leaseOf(group: string): { holder: string; epoch: number | undefined };
  peers(): Map<string, PeerState>;
  /** Devices this node watches with a link resource: peers' addresses on them are pinged. */
  devices(): string[];
  changed(): void;
  resolveSecret?: SecretResolver;
}

export class RemoteWatch {
  readonly book = new RemoteProbeBook();
  private readonly reachOf: Record<string, boolean | null> = {};
  private timer: NodeJS.Timeout | undefined;
  private abort: AbortController | undefined;
  private stopped = false;
  private readonly resolveSecret: SecretResolver;

  constructor(private readonly o: RemoteWatchOptions) {
    this.resolveSecret = o.resolveSecret ?? createSecretResolver(o.cluster);
    for (const n of o.cluster.settings.nodes) if (n !== o.node) this.reachOf[n] = null;
  }

  start(): void { this.schedule(0); }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort?.abort();
  }

  views(): RemoteView[] { return this.book.views(); }

  reach(): Record<string, boolean | null> { return { ...this.reachOf }; }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => { void this.cycle(); }, ms);
  }

  private async cycle(): Promise<void> {
    const started = Date.now();
    this.abort = new AbortController();
    const limit = setTimeout(() => this.abort?.abort(), this.o.timings.timeoutMs);
    try {
      await Promise.all([...this.o.groups.map((g) => this.probeGroup(g, this.abort!.signal)), this.pingPeers(this.abort.signal)]);
    } catch (err) {
      this.o.log.warn(`remote probes: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      clearTimeout(limit);
    }
    if (this.stopped) return;
    this.o.changed();
    this.schedule(Math.max(0, this.o.timings.intervalMs - (Date.now() - started)));
  }

  private async probeGroup(group: ResolvedGroup, signal: AbortSignal): Promise<void> {
    const { holder, epoch } = this.o.leaseOf(group.name);
    const vip = vipOf(group);
    const hv = holder && holder !== this.o.node ? groupIn(this.o.peers().get(holder)?.view, group.name) : undefined;
    // Only a holder that says it serves, at the epoch we see: never a group that is starting.
    if (!vip || epoch === undefined || !hv || hv.role !== 'holder' || hv.state !== 'ONLINE' || hv.epoch !== epoch) {
      this.book.forget(group.name);
      return;
    }
    const target: RemoteTarget = { group: group.name, vip: vip.address, resources: group.resources };
    const outcomes = await probeThroughVip(target, { timeoutMs: this.o.timings.timeoutMs, signal, log: this.o.log, resolveSecret: this.resolveSecret });
    if (this.stopped) return;
    this.book.record(group.name, holder, epoch, vip.address, outcomes, new Date().toISOString());
  }

  /** Pings each other node's published addresses on the devices this node watches. */
  private async pingPeers(signal: AbortSignal): Promise<void> {
    const devices = this.o.devices();
    const peers = this.o.peers();
    await Promise.all([...peers].map(async ([n, p]) => {
      const addrs = devices.flatMap((d) => (p.view?.addresses?.[d] ?? []).map((a) => ({ device: d, address: a })));
      if (p.alive === false || addrs.length === 0) { this.reachOf[n] = null; return; }
      const timeout = Math.max(200, Math.min(1000, this.o.timings.timeoutMs - 200));
      const c = await checkLink({ device: addrs[0]!.device, pingHosts: addrs.map((a) => a.address), pingCount: 1, pingTimeoutMs: timeout }, { signal, log: this.o.log });
      this.reachOf[n] = c.verified;
    }));
  }
}
