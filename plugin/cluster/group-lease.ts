/**
 * One group's lease on this node (multi-node mode): the Elector wired to the GroupRunner, the
 * fence and the local guard file.
 *
 *   acquired → guard file written (epoch, serve deadline: the Mount agent writes this epoch into
 *              `.cluster-epoch`, the IP agent sizes the address lifetime from it) → fence armed
 *              → online in order (Mount, IP, services), aborted when leadership ends → the
 *              agents' reported pids adopted by the fence (again after every restart in place);
 *   resumed  → (coordinator restart) as acquired, and a lapsed VIP is put back first;
 *   renewed  → fence deadline, guard file, VIP lifetime (at most every VIP_REFRESH_MS, while its
 *              IP resource is ONLINE — also during a planned release, until the IP stops);
 *   lost     → offline in reverse → if anything failed to stop, the fence kills now → disarm,
 *              guard removed.
 *
 * Guarantees: the group is never brought online here before the fence is armed for the epoch;
 * a fence that refuses or cannot be reached while holding makes the elector self-fence (a holder
 * without a working fence may not serve); the fence is disarmed only after the group's offline
 * succeeded or the fence was told to kill. Not guaranteed: that a service started outside the
 * agents (not reported as a pid) is killed by the fence — only cgroup mode catches children.
 */
import type { Logger } from '../core/log';
import { Elector, type AcquireInfo, type ElectorStatus, type LostReason, type RenewInfo, type ResumeToken } from '../lease/elector';
import type { Clock } from '../lease/clock';
import type { LeaseProfile } from '../lease/profiles';
import type { LeaseStore } from '../lease/store';
import type { SharedDirKey } from '../lease/shared-key';
import { removeGuard, writeGuard } from '../lease/guard';
import type { FenceReply } from '../fence/protocol';
import type { FailoverReason } from '../metrics/snapshot';
import type { GroupRunner } from '../coordinator/group-runner';
import type { FailoverRecord } from './node-view';
import type { LeaseBound } from './lease-bound';

/** What a group's lease needs from the fence (FenceClient, or a fake in tests). */
export interface FencePort {
  arm(group: string, epoch: number, nonce: string, killRemainingMs: number, mounts?: string[]): Promise<FenceReply>;
  renew(group: string, epoch: number, killRemainingMs: number): Promise<FenceReply>;
  disarm(group: string, epoch: number): Promise<FenceReply>;
  adopt(group: string, pid: number): Promise<FenceReply>;
  fireNow(group: string, reason: string): Promise<FenceReply>;
}

export interface GroupLeaseDeps {
  runner: GroupRunner;
  node: string;
  store: LeaseStore;
  /** Signs and verifies the lease records (the cluster's; see ElectorOptions.key). */
  key?: SharedDirKey;
  clock: Clock;
  profile: LeaseProfile;
  fence: FencePort;
  /** Local runtime dir for the guard file (MSGHA_RUN_DIR). */
  runDir: string;
  incarnation: number;
  log: Logger;
  /** Resources that follow the lease in the kernel (the IP's address lifetime): lease-bound.ts. */
  leaseBound?: LeaseBound;
  /** Lease renewal metrics. */
  leaseRenew?(seconds: number, ok: boolean): void;
  failover?(reason: FailoverReason): void;
  /** The holder's admin file asked for a move to `to`: the coordinator checks and releases. */
  onMoveRequested?(to: string, epoch: number): void;
  /** Something changed worth publishing at once (acquired, lost). */
  changed?(): void;
  /** Placement: extra wait before an unaddressed claim (elector claimDelayMs). */
  claimDelayMs?(previousHolder: string): number;
}

/** How often the VIP's kernel lifetime is refreshed at most (each refresh runs `ip addr change`). */
const VIP_REFRESH_MS = 500;

export class GroupLease {
  readonly elector: Elector;
  private running = false;
  /** Epoch this node holds and the fence is armed for (undefined: none). */
  private armed: number | undefined;
  private leadership: AbortSignal | undefined;
  private adopted = new Set<number>();
  private vipAt = 0;
  /** The VIP lifetime refresh in flight, if any (an IP offline waits for it: runner.beforeStop). */
  private vipRefresh: Promise<unknown> | undefined;
  private fenceBusy = false;
  /** Holder and lease state as last seen while following (for the failover record on takeover). */
  private lastSeen: { holder: string; state: ElectorStatus['leaseState'] } = { holder: '', state: 'UNKNOWN' };
  lastFailover: FailoverRecord | undefined;

  constructor(private readonly d: GroupLeaseDeps) {
    this.elector = new Elector({
      group: d.runner.name, node: d.node, store: d.store, clock: d.clock, profile: d.profile, ...(d.key ? { key: d.key } : {}),
      incarnation: d.incarnation, log: d.log,
      onAcquired: (epoch, signal, info) => { void this.acquired(epoch, signal, info); },
      onRenewed: (info) => this.renewed(info),
      onLost: (reason, epoch) => this.lost(reason, epoch),
      claimDelayMs: (prev) => d.claimDelayMs?.(prev) ?? 0,
      onMoveRequested: (to, epoch) => d.onMoveRequested ? d.onMoveRequested(to, epoch) : void this.release(to, 'switch', `operator move request to ${to}`),
      onEvent: (e) => {
        if (e.type === 'renewed' || e.type === 'acquired') this.settle(true);
        if (e.type === 'lost') this.settle(false);
        if (e.type === 'lost' || e.type === 'resume-failed') d.runner.dropHeldFaults();
        if (e.type === 'resume-failed') { this.d.log.warn(`group ${this.group}: lease not resumed (${e.detail ?? ''})`); this.settle(false); }
        if (e.type === 'renew-failed') d.leaseRenew?.(Number.NaN, false);
        if (e.type === 'state' || e.type === 'claim-lost' || e.type === 'observed-change') this.noteFollowing();
        // The holder's renewals stopped: start this group's apps now, so that their start-up is
        // over by the time the lease may be claimed (L later). Only on the node that claims first.
        if (e.type === 'holder-silent' && (d.claimDelayMs?.(this.lastSeen.holder) ?? 0) === 0) d.runner.expectTakeover(true, e.detail ?? 'holder silent');
        if (e.type === 'observed-change' || e.type === 'claim-lost' || e.type === 'lost') d.runner.expectTakeover(false, e.type);
      },
    });
    d.runner.leaseSettled = () => this.leaseSettled();
    d.runner.holdAdoptedFaults = true;
    d.runner.beforeStop = async (res) => { if (this.d.leaseBound?.follows(res)) await this.vipRefresh; };
  }

  private settleWaiters: Array<(ok: boolean) => void> = [];

  private settle(ok: boolean): void {
    const w = this.settleWaiters;
    this.settleWaiters = [];
    for (const f of w) f(ok);
  }

  /**
   * See GroupRunner.leaseSettled: current = renewed within 2R + T_io. Before the lease is
   * started (a coordinator restart, between adopting the running agents and resuming the fence's
   * epoch) the answer is the resume's outcome — at most L later (no resume: false).
   */
  leaseSettled(): Promise<boolean> {
    const s = this.elector.status();
    if (!this.running && s.state === 'stopped') {
      return new Promise((resolve) => {
        const timer = setTimeout(() => { this.settleWaiters = this.settleWaiters.filter((w) => w !== done); resolve(false); }, this.d.profile.timings.leaseMs);
        const done = (ok: boolean): void => { clearTimeout(timer); resolve(ok); };
        this.settleWaiters.push(done);
      });
    }
    if (s.state !== 'holder') return Promise.resolve(s.state !== 'fencing');
    const t = this.d.profile.timings;
    const age = t.fenceStartMs - (s.remainingServeMs ?? 0);
    if (age <= 2 * t.renewMs + t.ioTimeoutMs) return Promise.resolve(true);
    return new Promise((resolve) => this.settleWaiters.push(resolve));
  }

  get group(): string { return this.d.runner.name; }
  get isRunning(): boolean { return this.running; }
  get holding(): boolean { return this.elector.status().state === 'holder'; }
  status(): ElectorStatus { return this.elector.status(); }

  start(resume?: ResumeToken): void {
    if (this.running) return;
    this.running = true;
    this.elector.start(resume ? { resume } : {});
    // Nothing of this group runs here under a lease: faults held since the adoption are moot.
    if (!resume) { this.settle(false); this.d.runner.dropHeldFaults(); }
  }

  /** Stops contending (follower only: a holder keeps holding; see release). */
  async stopFollowing(): Promise<void> {
    if (!this.running || this.holding || this.elector.status().state === 'fencing') return;
    this.running = false;
    await this.elector.stop();
  }

  /**
   * Planned release (switch, fault, dependency, operator offline): onLost stops the group, then
   * RELEASED with handoff_to is written. Records the failover.
   */
  async release(to: string, kind: FailoverReason, why: string): Promise<{ ok: boolean; reason: string }> {
    const epoch = this.elector.status().epoch ?? undefined;
    const r = await this.elector.release(to);
    if (r.ok) {
      this.lastFailover = { at: new Date().toISOString(), from: this.d.node, to, why, kind, ...(epoch !== undefined ? { epoch } : {}) };
      if (kind !== 'resource-fault') this.d.failover?.(kind); // resource-fault is counted by the runner
      this.d.changed?.();
    }
    return r;
  }

  private noteFollowing(): void {
    const s = this.elector.status();
    if (s.state === 'follower' && (s.holder || s.leaseState === 'RELEASED')) this.lastSeen = { holder: s.holder, state: s.leaseState };
  }

  // ── elector callbacks ────────────────────────────────────────────────────────────────────

  private guard(epoch: number, serveRemainingMs: number): void {
    try {
      writeGuard(this.d.runDir, this.group, { epoch, serveUntilMono: this.d.clock.now() + serveRemainingMs });
    } catch (err) {
      this.d.log.error(`group ${this.group}: cannot write the guard file in ${this.d.runDir}: ${String(err)}`);
    }
  }

  private async acquired(epoch: number, signal: AbortSignal, info: AcquireInfo): Promise<void> {
    this.leadership = signal;
    this.adopted.clear();
    const nonce = this.elector.tenure()?.nonce ?? '';
    // The guard first: the Mount agent writes this epoch into .cluster-epoch, the IP agent sizes
    // the address lifetime from its deadline.
    this.guard(epoch, info.serveRemainingMs);
    const mounts = this.d.runner.resources().filter((r) => r.type === 'Mount').map((r) => String(r.attrs.MountPoint));
    const arm = await this.d.fence.arm(this.group, epoch, nonce, info.killRemainingMs, mounts);
    if (!arm.ok) {
      this.d.log.error(`group ${this.group}: the fence refused to arm epoch ${epoch} (${arm.reason}): a holder without a fence may not serve — giving the lease up`);
      this.elector.fence('fenced');
      return;
    }
    this.armed = epoch;
    const prev = this.lastSeen;
    if (!info.resumed && prev.holder && prev.holder !== this.d.node && prev.state === 'HELD') {
      this.lastFailover = { at: new Date().toISOString(), from: prev.holder, to: this.d.node, why: `lease expired: ${prev.holder} stopped renewing`, kind: 'lease-expired', epoch };
      this.d.failover?.('lease-expired');
    }
    this.d.log.info(`group ${this.group}: lease epoch ${epoch} ${info.resumed ? 'resumed after a coordinator restart' : 'acquired'}; bringing the group online`);
    this.d.changed?.();
    if (signal.aborted) return;
    const bound = this.d.leaseBound;
    if (info.resumed && bound) {
      // The address's kernel lifetime may have run out while no coordinator refreshed it; put it
      // back before the services' deep checks through it fail.
      for (const v of this.d.runner.resources().filter((x) => bound.follows(x))) await bound.resumed(v);
    }
    if (info.resumed) await this.d.runner.releaseHeldFaults();
    const r = await this.d.runner.online(`lease epoch ${epoch} ${info.resumed ? 'resumed' : 'acquired'}`, signal);
    if (!r.ok) this.d.log.warn(`group ${this.group}: ${r.reason}`);
    await this.adoptPids();
  }

  /** Hands every reported pid of the group to the fence (once per pid and epoch). */
  async adoptPids(pids: number[] = this.d.runner.allPids()): Promise<void> {
    if (this.armed === undefined || this.leadership?.aborted) return;
    for (const pid of pids) {
      if (this.adopted.has(pid)) continue;
      this.adopted.add(pid);
      const r = await this.d.fence.adopt(this.group, pid);
      if (!r.ok) this.d.log.warn(`group ${this.group}: fence did not adopt pid ${pid}: ${r.reason}`);
    }
  }

  private renewed(info: RenewInfo): void {
    this.d.leaseRenew?.(info.renewMs / 1000, true);
    // Until the fence is disarmed (a planned release keeps renewing while the group stops), the
    // fence and the guard follow the renewals.
    if (this.armed !== info.epoch) return;
    this.guard(info.epoch, info.serveRemainingMs);
    if (!this.fenceBusy) {
      this.fenceBusy = true;
      void this.d.fence.renew(this.group, info.epoch, info.killRemainingMs).then((r) => {
        this.fenceBusy = false;
        if (!r.ok && this.armed === info.epoch && !this.leadership?.aborted) {
          this.d.log.error(`group ${this.group}: the fence did not accept the renewal (${r.reason}): self-fencing`);
          this.elector.fence('fenced');
        }
      });
    }
    // The VIP follows the renewals too — also during a planned release, until its IP resource
    // begins to stop (a switch keeps the address while the services stop; runner.beforeStop
    // then waits for a refresh in flight, so an offline never races one).
    const bound = this.d.leaseBound;
    if (!bound) return;
    const now = this.d.clock.now();
    if (this.vipRefresh || now - this.vipAt < VIP_REFRESH_MS) return;
    const until = now + info.serveRemainingMs;
    const running = new Set(this.d.runner.status().resources.filter((r) => r.state === 'ONLINE').map((r) => r.id));
    const vips = this.d.runner.resources().filter((r) => bound.follows(r) && running.has(r.id));
    if (!vips.length) return;
    this.vipAt = now;
    this.vipRefresh = Promise.all(vips.map((v) => bound.renewed(v, until))).finally(() => { this.vipRefresh = undefined; });
  }

  private async lost(reason: LostReason, epoch: number): Promise<void> {
    this.d.log.warn(`group ${this.group}: lease epoch ${epoch} ends (${reason}); taking the group offline here`);
    const off = await this.d.runner.offline(`lease ${reason}`);
    const stopped = off.ok || this.d.runner.status().resources.every((r) => r.state === 'OFFLINE' || r.state === 'FAULTED' || r.state === 'STOPPED');
    if (!stopped) {
      this.d.log.error(`group ${this.group}: offline did not complete (${off.reason}): the fence kills the group's processes now`);
      await this.d.fence.fireNow(this.group, `offline failed after lease ${reason}`);
    }
    if (this.armed === epoch) {
      const r = await this.d.fence.disarm(this.group, epoch);
      if (!r.ok) this.d.log.warn(`group ${this.group}: fence disarm: ${r.reason}`);
    }
    this.armed = undefined;
    removeGuard(this.d.runDir, this.group);
    if (reason !== 'released') {
      this.lastFailover = { at: new Date().toISOString(), from: this.d.node, to: '', why: `lease lost here: ${reason}`, kind: 'lease-lost', epoch };
      this.d.failover?.('lease-lost');
    }
    this.d.changed?.();
  }
}
