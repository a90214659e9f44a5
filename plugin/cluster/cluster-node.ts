/**
 * Multi-node mode of the coordinator (cluster.sharedDir set): the node's lease store, its
 * profile check, its fence, one GroupLease (elector) per group whose systemList holds this node,
 * and a loop every `publishMs` that reads the other nodes' published views and the groups'
 * admin files, decides which groups contend for their lease here (gates), and publishes this
 * node's view (node-view.ts) to `<sharedDir>/.cluster/<cluster>/nodes/<node>.json`.
 *
 * A group contends here while: autoStart (or an operator `online`), not FAULTED here, not frozen
 * locally, its dependencies hold (placement.ts), and the fence runs. Holding, a firm/hard
 * dependency that goes away releases the group. A critical fault beyond RestartLimit releases
 * the lease with handoff_to = the next alive, non-faulted node of systemList.
 *
 * Guarantees: every shared-directory access goes through an I/O helper process (HelperStore): the
 * lease's own store, and a second helper for views and admin files so that a slow view write
 * never delays a renewal; everything written there is signed and everything read verified with a
 * key derived from the cluster key (lease/shared-key.ts) — without a readable cluster key, with a
 * shared directory others may write (file-ops.ts checkTree), or with a lease profile that differs
 * from the cluster's, the node refuses to start (ProfileMismatchError, naming what to fix); without a running fence no group contends here; stopping the
 * coordinator releases nothing (a restart within F resumes through the fence's armed epoch; later,
 * the fence kills and another node takes over after L).
 * Operator verbs live in cluster-operator.ts.
 */
import type { ResolvedCluster, ResolvedGroup } from '../model/cluster-types';
import type { Logger } from '../core/log';
import { HelperStore } from '../lease/helper-store';
import { checkClusterProfile, ProfileMismatchError } from '../lease/cluster-profile';
import { SharedDirKey, type RejectKind } from '../lease/shared-key';
import { keyFilePath, readKey } from '../secrets/key-file';
import { getProfile, type LeaseProfile } from '../lease/profiles';
import { monotonicClock, type Clock } from '../lease/clock';
import { DEFAULT_RUN_DIR } from '../lease/guard';
import type { ResumeToken } from '../lease/elector';
import type { LeaseStore } from '../lease/store';
import { effectiveAdmin, parseAdmin, type AdminCommand, type AdminRequest } from '../lease/admin';
import { leaseRoot } from '../lease';
import { FenceClient, fenceOptions } from '../fence/client';
import type { LeaseEvents } from '../metrics/snapshot';
import type { GroupRunner } from '../coordinator/group-runner';
import { decide } from '../recovery/policy';
import { GroupLease, type FencePort } from './group-lease';
import { leaseBoundTypes } from './lease-bound';
import { PeerTracker, sealView, staleAfterMs, viewName, VIEW_VERSION, type GroupView, type NodeView } from './node-view';
import { checkSwitchTarget, claimDelay, dependencyGate, parentsToMove, type PeerState, type DependencyGate } from './placement';
import { NetworkHealth } from './network-health';
import { LINK_TYPE } from './link-watch';

export interface ClusterNodeOptions {
  cluster: ResolvedCluster;
  node: string;
  log: Logger;
  runners: ReadonlyMap<string, GroupRunner>;
  events?: LeaseEvents;
  /** MSGHA_RUN_DIR (default /run/msgha): fence socket and guard files. */
  runDir?: string;
  clock?: Clock;
  /** The shared-directory key (tests); default: derived from the cluster key file. */
  key?: SharedDirKey;
}

/** cluster.lease.acceptUnsigned (rolling upgrade from an unsigned release: docs/lease.md, Upgrading). */
export function acceptUnsigned(cluster: ResolvedCluster): boolean {
  return cluster.settings.lease?.acceptUnsigned === true;
}

/**
 * The shared-directory key of a cluster, from its key file (`msgha keygen`); throws
 * ProfileMismatchError naming the key file and the fix when it cannot be read.
 */
export function loadSharedDirKey(cluster: ResolvedCluster, o: { log?: Logger; onRejected?: (kind: RejectKind) => void } = {}): SharedDirKey {
  const file = keyFilePath(cluster.settings);
  let raw: Buffer;
  try { raw = readKey(file); } catch (err) {
    throw new ProfileMismatchError(`a multi-node cluster needs its cluster key to sign and verify the shared directory: ${err instanceof Error ? err.message : String(err)} — run \`msgha keygen --key-file ${file}\` on one node and copy the file (mode 0600, owner root) to every node`);
  }
  return new SharedDirKey(raw, cluster.settings.name, { nodes: cluster.settings.nodes, acceptUnsigned: acceptUnsigned(cluster), ...o });
}

/** Per group, what this node decided and why. */
interface GroupCtl {
  lease: GroupLease;
  /** Operator online (true) / offline (false); undefined = follow autoStart. */
  want: boolean | undefined;
  localFreeze: boolean;
  admin: AdminCommand & { cmd: AdminRequest['cmd'] };
  gate: DependencyGate;
  releasing: boolean;
}

export function runDirFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.MSGHA_RUN_DIR?.trim() || DEFAULT_RUN_DIR;
}

export class ClusterNode {
  readonly profile: LeaseProfile;
  readonly runDir: string;
  readonly publishMs: number;
  private readonly claimStaggerMs: number;
  readonly store: HelperStore;
  /** Views and admin files: a second helper, so a view write never queues before a renewal. */
  readonly viewStore: HelperStore;
  readonly fence: FenceClient;
  readonly tracker: PeerTracker;
  /** Links, remote probes and the holder's reachability verdicts (docs/network.md). */
  readonly network: NetworkHealth;
  readonly ctl = new Map<string, GroupCtl>();
  /** Signs what this node writes to the shared directory and verifies what it reads. */
  readonly key: SharedDirKey;
  /** Why the key could not be loaded: prepare() refuses to start with it. */
  private keyProblem: Error | undefined;
  private readonly incarnation = Date.now();
  private readonly clock: Clock;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private counter = 0;
  private startedAt = 0;
  private fenceOk = false;
  private fenceWhy = 'the fence is not running on this node';
  private stopped = false;

  constructor(private readonly o: ClusterNodeOptions) {
    const settings = o.cluster.settings;
    this.profile = getProfile(settings.lease?.profile);
    this.runDir = o.runDir ?? runDirFromEnv();
    this.clock = o.clock ?? monotonicClock;
    const t = this.profile.timings;
    // Views change slowly; a few polls per lease period is enough and keeps the I/O small.
    this.publishMs = Math.min(2000, Math.max(500, Math.round(t.pollMs * 2.5)));
    // Long enough for the node ranked before us to see the record and win the link() race.
    this.claimStaggerMs = Math.max(500, 3 * t.pollMs);
    const onRejected = (kind: RejectKind): void => o.events?.sharedDirRejected?.(kind);
    let key = o.key;
    if (!key) {
      try { key = loadSharedDirKey(o.cluster, { log: o.log, onRejected }); } catch (err) {
        // Refused in prepare(), before anything runs; a key nobody has meanwhile.
        this.keyProblem = err as Error;
        key = SharedDirKey.ephemeral(o.cluster.settings.name);
      }
    }
    this.key = key;
    const root = leaseRootOf(o.cluster);
    const helper = (): HelperStore => new HelperStore({ root, node: o.node, ioTimeoutMs: t.ioTimeoutMs, wedgeKillMs: t.leaseMs, directIo: this.profile.directIo, log: o.log });
    this.store = helper();
    this.viewStore = helper();
    this.fence = new FenceClient({ runDir: this.runDir, node: o.node, log: o.log, ...fenceOptions(settings.fence, t) });
    this.tracker = new PeerTracker(staleAfterMs(this.publishMs, t.ioTimeoutMs, t.leaseMs), () => this.clock.now(), this.key);
    this.network = new NetworkHealth({
      cluster: o.cluster, node: o.node, groups: [...o.runners.values()].map((r) => r.group), log: o.log,
      peers: () => this.peers(), changed: () => this.kick(),
    });
    const incarnation = this.incarnation;
    const fencePort: FencePort = this.fence;
    const leaseBound = leaseBoundTypes(o.log);
    for (const runner of o.runners.values()) {
      const g = runner.name;
      const lease = new GroupLease({
        runner, node: o.node, store: this.store as LeaseStore, key: this.key, clock: this.clock, profile: this.profile, fence: fencePort,
        runDir: this.runDir, incarnation, log: o.log,
        leaseBound,
        leaseRenew: (s, ok) => o.events?.leaseRenew(g, s, ok),
        failover: (reason) => o.events?.failover(g, reason),
        onMoveRequested: (to) => { void this.onMoveRequested?.(g, to); },
        changed: () => this.kick(),
        claimDelayMs: (prev) => claimDelay(runner.group.systemList, o.node, prev, g, this.peers(), this.claimStaggerMs, this.tracker.staleMs),
      });
      this.ctl.set(g, { lease, want: undefined, localFreeze: runner.group.frozen, admin: { cmd: 'none' }, gate: { ok: true, waitingFor: [], stopFor: [] }, releasing: false });
    }
  }

  /** Set by cluster-operator.ts: an operator move request read from the admin file by the holder. */
  onMoveRequested: ((group: string, to: string) => Promise<void>) | undefined;

  get node(): string { return this.o.node; }
  get cluster(): ResolvedCluster { return this.o.cluster; }
  group(name: string): ResolvedGroup | undefined { return this.o.runners.get(name)?.group; }
  runner(name: string): GroupRunner | undefined { return this.o.runners.get(name); }

  /**
   * Before anything is registered with PM2: the I/O helpers, the cluster profile check (throws
   * ProfileMismatchError) and the fence.
   */
  async prepare(): Promise<void> {
    if (this.keyProblem) throw this.keyProblem;
    const [a, b] = await Promise.all([this.store.start(), this.viewStore.start()]);
    if (!a.ok || !b.ok) throw new Error(`the lease I/O helper did not start (${a.ok ? '' : a.message} ${b.ok ? '' : b.message}); is ${this.o.cluster.settings.sharedDir} reachable?`);
    await this.checkSharedDir();
    await checkClusterProfile(this.store, this.profile, this.key, `${leaseRootOf(this.o.cluster)}/cluster.json`);
    const f = await this.fence.ensureRunning();
    this.fenceOk = f.ok;
    if (!f.ok) this.fenceWhy = `the fence is not ready on this node: ${f.reason}`;
    if (!f.ok) this.o.log.error(`fence not running (${f.reason}): no group contends for its lease on this node until it runs (a holder without a fence may not serve)`);
    else this.o.log.info(`fence pid ${f.pid} ${f.started ? 'started' : 'already running'} (runtime dir ${this.runDir}); lease profile ${this.profile.name}`);
  }

  /**
   * Refuses a shared directory that others may write or that holds links where our directories
   * should be (the I/O helper checks, since it does the I/O); warns when our files there are not
   * owned by root (NFS root_squash: anyone with that uid on any client may delete them).
   */
  private async checkSharedDir(): Promise<void> {
    const shared = this.o.cluster.settings.sharedDir!;
    const r = await this.store.checkTree([...this.ctl.keys()]);
    if (!r.ok) {
      throw new ProfileMismatchError(`the shared directory ${shared} is not safe to use: ${r.message} (the directory, .cluster/${this.o.cluster.settings.name} and everything below must be owned by root, or by the user NFS maps root to, and not writable by group or others: chown root:root and chmod 755 them; over NFS export it to the cluster's nodes only, see docs/lease.md, Who may write the shared directory)`);
    }
    if (r.value.squashed) {
      this.o.log.warn(`shared directory ${shared}: this node's files there are owned by uid ${r.value.ownerUid}, not root (NFS root_squash?): any process running as uid ${r.value.ownerUid} on any NFS client can delete or replace them — it cannot forge a record, but it can stop the mail service (denial of service). Export the directory to the cluster's nodes only, with no_root_squash (docs/lease.md, Who may write the shared directory)`);
    }
  }

  /** After the runners adopted running agents: resume armed epochs, start contending, publish. */
  async start(): Promise<void> {
    this.startedAt = this.clock.now();
    const resumes = new Map<string, ResumeToken>();
    if (this.fenceOk) {
      const st = await this.fence.status();
      for (const g of st.groups) {
        if (g.armed && g.nonce && (g.remainingMs ?? 0) > 0) resumes.set(g.group, { epoch: g.epoch, nonce: g.nonce, killRemainingMs: g.remainingMs! });
      }
    }
    for (const [name, c] of this.ctl) {
      const resume = resumes.get(name);
      if (resume) { this.o.log.info(`group ${name}: fence armed for epoch ${resume.epoch} (${Math.round(resume.killRemainingMs)} ms left): resuming`); c.lease.start(resume); }
    }
    this.network.start();
    await this.tick();
    this.timer = setInterval(() => { void this.tick(); }, this.publishMs);
  }

  /** Publish soon (after an acquisition, a loss, an operator action). */
  kick(): void {
    if (this.stopped) return;
    setImmediate(() => { void this.tick(); });
  }

  peers(): Map<string, PeerState> {
    const m = new Map<string, PeerState>();
    for (const n of this.o.cluster.settings.nodes) {
      if (n === this.o.node) continue;
      m.set(n, { alive: this.tracker.alive(n), view: this.tracker.view(n) });
    }
    return m;
  }

  /**
   * Before refusing an operator's move because a node looks down: read the views again for up to
   * one staleness window, so that a node which was only slow to publish (or just rejoined) counts.
   */
  async recheckPeers(nodes: readonly string[]): Promise<void> {
    const deadline = this.clock.now() + this.tracker.staleMs;
    const down = (): boolean => nodes.some((n) => n !== this.o.node && this.tracker.alive(n) === false);
    while (down() && this.clock.now() < deadline && !this.stopped) {
      await new Promise((r) => setTimeout(r, Math.min(250, this.publishMs / 2)));
      await this.readPeers();
    }
  }

  /** May this group contend for its lease here now? (and why not) */
  contend(name: string): { ok: boolean; why: string } {
    const c = this.ctl.get(name)!;
    const runner = this.o.runners.get(name)!;
    if (!this.fenceOk) return { ok: false, why: this.fenceWhy };
    if (runner.state === 'FAULTED') return { ok: false, why: `FAULTED on this node (${runner.reason}); clear it: msgha clear ${name}` };
    const link = this.network.linkDown(name);
    if (link) return { ok: false, why: `its link ${link.device} is down here (${link.reason}); contending again once it is up` };
    if (!(c.want ?? runner.group.autoStart)) return { ok: false, why: c.want === false ? 'taken offline by the operator' : 'autoStart is false: bring it online with msgha online' };
    if (c.localFreeze) return { ok: false, why: 'frozen on this node' };
    if (!c.gate.ok) return { ok: false, why: `waiting for ${c.gate.waitingFor.join(', ')}` };
    return { ok: true, why: 'contending' };
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      await this.keepFence();
      await this.readPeers();
      for (const [name, c] of this.ctl) {
        const adm = await this.viewStore.readAdmin(name);
        if (adm.ok) c.admin = effectiveAdmin(parseAdmin(adm.value, { key: this.key, group: name }));
        else if (adm.code === 'REJECTED') { this.key.reject('admin', `groups/${name}/admin`, adm.message); c.admin = effectiveAdmin({ cmd: 'rejected', last: this.key.adminSeen(name)?.request as AdminCommand | undefined }); }
        const runner = this.o.runners.get(name)!;
        runner.frozen = c.localFreeze || (c.admin.cmd === 'freeze' && c.admin.why !== 'offline');
        c.gate = dependencyGate(runner.group.dependsOn, (g) => this.o.runners.get(g)?.state, this.peers());
        await this.clearLinkFault(name, runner);
        await this.decide(name, c, runner);
      }
      await this.publish();
    } catch (err) {
      this.o.log.error(`cluster loop: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    } finally {
      this.ticking = false;
    }
  }

  /**
   * A fence that died (killed, crashed) is started again: a holder whose renewal it no longer
   * accepted has already fenced itself, and without a fence this node could never hold a group
   * again. A fence that is alive but silent is left alone (fence/client.ts gone()).
   */
  private async keepFence(): Promise<void> {
    const f = await this.fence.restartIfGone();
    if (!f.restarted && f.ok) return;
    if (f.ok) {
      this.o.log.warn(`the fence was gone: started again (pid ${f.pid})`);
    } else {
      this.o.log.error(`the fence is gone and did not start again: ${f.reason}`);
      this.fenceWhy = `the fence is not running on this node: ${f.reason}`;
    }
    this.fenceOk = f.ok;
  }

  private async readPeers(): Promise<void> {
    for (const n of this.o.cluster.settings.nodes) {
      if (n === this.o.node) continue;
      const r = await this.viewStore.readMeta(viewName(n));
      if (r.ok) this.tracker.observe(n, r.value);
      // A link or a foreign file where the view should be: counted like a forged view.
      else if (r.code === 'REJECTED') this.key.reject('view', viewName(n), r.message);
    }
  }

  private async decide(name: string, c: GroupCtl, runner: GroupRunner): Promise<void> {
    const lease = c.lease;
    const el = lease.status();
    if (el.state === 'holder') {
      if (c.gate.stopFor.length && !runner.frozen && !c.releasing) {
        c.releasing = true;
        this.o.log.warn(`group ${name}: ${c.gate.stopFor.join(', ')} no longer online: releasing the group`);
        await lease.release('', 'dependency', `dependency ${c.gate.stopFor.join(', ')} went away`);
        c.releasing = false;
      }
      await this.leaveIfUnreachable(name, c, runner, el.epoch ?? 0);
      return;
    }
    this.network.judge(runner.group, undefined);
    // A group running here without the lease (a stray after a restart whose epoch could not be
    // resumed): take it offline. Not right after start, while a resume may still be reading.
    const settled = this.clock.now() - this.startedAt > 2 * this.profile.timings.ioTimeoutMs + this.profile.timings.pollMs;
    if (el.state !== 'fencing' && settled && (runner.state === 'ONLINE' || runner.state === 'PARTIAL')) {
      this.o.log.error(`group ${name}: running here without holding its lease: taking it offline`);
      await runner.offline('running without the lease');
      return;
    }
    const may = this.contend(name);
    if (may.ok && !lease.isRunning) { this.o.log.info(`group ${name}: contending for the lease`); lease.start(); }
    else if (!may.ok && lease.isRunning && el.state === 'follower') { this.o.log.info(`group ${name}: not contending (${may.why})`); await lease.stopFollowing(); }
  }

  /**
   * Serving locally but unreachable from the network (network-health.ts, reachability.ts): hand
   * the group to the first witness placement accepts. remoteProbes.act false: reported only.
   */
  private async leaveIfUnreachable(name: string, c: GroupCtl, runner: GroupRunner, epoch: number): Promise<void> {
    const v = this.network.judge(runner.group, { epoch, localOk: runner.state === 'ONLINE' });
    if (!v?.unreachable || !this.network.timings.act || runner.frozen || c.releasing) return;
    const peers = this.peers();
    const start = v.witnesses.indexOf(v.to);
    const order = [...v.witnesses.slice(start), ...v.witnesses.slice(0, start)];
    const to = order.find((n) => !checkSwitchTarget(name, runner.group.systemList, this.o.node, n, peers));
    if (!to) return; // the verdict stays in the view and the metric (alert); nobody can take it
    c.releasing = true;
    this.o.log.error(`group ${name}: ${v.why}: handing it to ${to}`);
    const r = await c.lease.release(to, 'network', v.why);
    if (!r.ok) this.o.log.error(`group ${name}: release failed: ${r.reason}`);
    c.releasing = false;
    this.kick();
  }

  /**
   * A group FAULTED here only by its link resources (their agent found the link dead) is cleared
   * once the link watch has seen every link of the group pass a check started after the fault: the node is a standby again
   * without `msgha clear`, as a classic persistent NIC resource clears itself.
   */
  private async clearLinkFault(name: string, runner: GroupRunner): Promise<void> {
    if (runner.state !== 'FAULTED') return;
    const faulted = runner.status().resources.filter((r) => r.state === 'FAULTED');
    if (faulted.length === 0 || faulted.some((r) => r.type !== LINK_TYPE)) return;
    // A check that passed after the fault, not the watch's count, which may not have caught up yet.
    const faultAt = Math.max(...faulted.map((r) => Date.parse(r.since)));
    if (!this.network.links.passedSince(name, faultAt)) return;
    const r = await runner.clear();
    this.o.log.info(`group ${name}: FAULTED by its link (${faulted.map((x) => x.name).join(', ')}), which is up again: ${r.reason}`);
  }

  /** A critical fault beyond RestartLimit took the group offline here: hand the lease on (recovery/policy.ts decides where). */
  onGroupFaulted(name: string, reason: string, choose: () => { to: string | undefined; why: string }): void {
    const c = this.ctl.get(name);
    if (!c) return;
    const d = decide({ at: 'handoff', holding: c.lease.holding, target: choose() });
    if (d.do === 'ignore') return;
    const to = d.do === 'fail-over' ? d.to ?? '' : '';
    this.o.log.error(`group ${name}: FAULTED here; ${d.do === 'fail-over' ? `failing over to ${to} (${d.why})` : d.why}`);
    void c.lease.release(to, 'resource-fault', reason).then(async (r) => {
      if (!r.ok) this.o.log.error(`group ${name}: release failed: ${r.reason}`);
      await c.lease.stopFollowing();
      this.kick();
    });
    const runner = this.o.runners.get(name)!;
    for (const parent of parentsToMove(runner.group.dependsOn, (g) => !!this.ctl.get(g)?.lease.holding)) {
      this.o.log.warn(`group ${parent}: its online-local-hard dependant ${name} faulted here: moving it along to ${to || 'any node'}`);
      void this.ctl.get(parent)!.lease.release(to, 'dependency', `online-local-hard dependant ${name} faulted on ${this.o.node}`).then(() => this.kick());
    }
  }

  onPids(name: string, pids: number[]): void {
    void this.ctl.get(name)?.lease.adoptPids(pids);
  }

  viewOf(name: string): GroupView {
    const c = this.ctl.get(name)!;
    const runner = this.o.runners.get(name)!;
    const s = runner.status();
    const el = c.lease.status();
    const role = !c.lease.isRunning && el.state !== 'holder' && el.state !== 'fencing' ? 'stopped' : el.state === 'stopped' ? 'stopped' : el.state;
    return {
      name, state: s.state, reason: s.reason, role,
      epoch: el.epoch ?? null, holder: el.holder, leaseState: el.leaseState,
      remainingServeMs: el.remainingServeMs === undefined ? null : Math.round(el.remainingServeMs),
      frozen: runner.frozen, frozenPersistent: c.admin.cmd === 'freeze', frozenBy: c.admin.cmd === 'freeze' ? c.admin.why ?? 'persistent' : '',
      faulted: s.state === 'FAULTED', contending: c.lease.isRunning, waitingFor: c.gate.waitingFor,
      ...(s.last ? { lastTransition: s.last } : {}),
      ...(c.lease.lastFailover ? { lastFailover: c.lease.lastFailover } : {}),
      ...(this.network.unreachable(name) ? { unreachable: this.network.unreachable(name)! } : {}),
      resources: s.resources.map((r) => ({ id: r.id, name: r.name, type: r.type, state: r.state, reason: r.reason, since: r.since, restarts: r.restarts, ...(r.violation ? { violation: r.violation } : {}) })),
    };
  }

  nodeView(): NodeView {
    const peers: Record<string, boolean | null> = {};
    for (const [n, p] of this.peers()) peers[n] = p.alive ?? null;
    return {
      version: VIEW_VERSION, cluster: this.o.cluster.settings.name, node: this.o.node, counter: this.counter, incarnation: this.incarnation,
      monoMs: Math.round(this.clock.now()), wallTime: new Date().toISOString(), profile: this.profile.name,
      publishMs: this.publishMs, groups: [...this.ctl.keys()].map((g) => this.viewOf(g)), peers,
      ...this.network.viewParts(),
    };
  }

  private async publish(): Promise<void> {
    this.counter += 1;
    const r = await this.viewStore.writeMeta(viewName(this.o.node), sealView(this.nodeView(), this.key));
    if (!r.ok) this.o.log.warn(`cannot publish this node's view: ${r.message}`);
  }

  /** Detach: timers and helpers stop; no lease is released (see the module header). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.network.stop();
    this.store.close();
    this.viewStore.close();
  }
}

export function leaseRootOf(cluster: ResolvedCluster): string {
  return leaseRoot(cluster.settings.sharedDir!, cluster.settings.name);
}
