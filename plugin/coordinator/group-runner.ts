/**
 * One service group on this node: its state machine, driven by operator requests and agent
 * reports.
 *
 *   OFFLINE → STARTING → ONLINE ↔ PARTIAL → STOPPING → OFFLINE;  FAULTED (until cleared)
 *
 * Guarantees: every action on the group runs one at a time (a serial chain), so a restart, an
 * online and an offline never interleave; every state change goes through the group's book
 * (group-book.ts), which logs `old → new (reason)`. Start and stop follow `requires`, shared disk
 * and address first (group-order.ts). What happens when a resource fails — restart in place
 * within RestartLimit, fail over, wait for the operator, a retried first online, nothing at all
 * while the lease is being lost — is decided by plugin/recovery/policy.ts and carried out by
 * group-recovery.ts.
 * Adoption (coordinator restart): in multi-node mode faults are held until the lease is
 * resumed, then checked again (holdAdoptedFaults); a deep-check failure of an adopted resource
 * within its adoption grace (one deep-check period, see adoptionGraceMs) is checked again first
 * and, if it persists, restarted in place without taking a RestartLimit unit, once per resource
 * and adoption.
 * Frozen (`frozen`): faults are recorded and reported, but nothing is done about them (no
 * clean, no restart, no failover) until the group is unfrozen.
 * Multi-node hooks (group-lease.ts): online() takes an AbortSignal (leadership lost → no further
 * resource is started), `onFaulted` is told when the group faults here (→ failover), `onPids`
 * receives each resource's processes (→ the fence), and with `cleanViolations` a resource found
 * running on a node that does not run its group is cleaned.
 * Not guaranteed here: failover to another node (group-lease.ts and cluster-node.ts do it).
 */
import type { ResolvedGroup, ResolvedResource } from '../model/cluster-types';
import type { AgentReport } from '../pm2/protocol';
import type { GroupSnapshot } from '../metrics/snapshot';
import { adoptionGraceMs, decide } from '../recovery/policy';
import { faultReasonOf } from './fault-reason';
import { GroupBook } from './group-book';
import { onlineOrder, startInOrder, stopInOrder } from './group-order';
import { GroupRecovery } from './group-recovery';
import type { GroupRunnerDeps, GroupState, GroupStatus, Outcome, Runtime, Transition } from './group-types';

export type { GroupEvents, GroupRunnerDeps, GroupState, GroupStatus, Outcome, ResState, ResourceStatus, Transition } from './group-types';
import type { ResState } from './group-types';
export { adoptionGraceMs };

/**
 * A fault found by a deep check (second-level probes, or the MonitorProgram run after them):
 * the kind a coordinator restart can cause, e.g. probes through a VIP whose lifetime lapsed.
 */
const isDeep = (rep: Pick<AgentReport, 'level'>): boolean => rep.level === 'second' || rep.level === 'program';

const CLEARED = 'fault cleared by operator';

export class GroupRunner {
  /**
   * Multi-node mode (set by group-lease.ts): resolves true at once while renewals are current,
   * else on the next renewal (true) or when the lease is lost (false). Faults wait for it.
   */
  leaseSettled: (() => Promise<boolean>) | undefined;
  /**
   * Multi-node mode (set by group-lease.ts): awaited before a resource's offline or clean is
   * sent — the coordinator's own work on that resource (a VIP lifetime refresh) ends first.
   */
  beforeStop: ((res: ResolvedResource) => Promise<void>) | undefined;
  /**
   * Multi-node mode (set by group-lease.ts): from a coordinator restart's adoption until the
   * lease is resumed and a lapsed VIP put back, faults (found when adopting, or reported) are held,
   * not acted on — acting first would outrun the serve deadline, or restart what the coordinator is
   * repairing — then checked again in releaseHeldFaults(), or dropped (dropHeldFaults) when the
   * group does not go on running here.
   */
  holdAdoptedFaults = false;
  private holdingFaults = false;
  /** The lease's holder went silent: a takeover may come (see expectTakeover). */
  private takeoverExpected = false;
  private heldFaults = new Map<Runtime, AgentReport>();
  private frozenFlag: boolean;
  private readonly book: GroupBook;
  private readonly recovery: GroupRecovery;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly group: ResolvedGroup, private readonly deps: GroupRunnerDeps) {
    this.frozenFlag = group.frozen;
    this.book = new GroupBook(group, onlineOrder(group.resources), deps);
    this.recovery = new GroupRecovery(this.book, deps, {
      losingLease: () => this.losingLease(),
      frozen: () => this.frozen,
      stopAll: (keep) => this.stopAll(keep),
    });
  }

  get name(): string { return this.group.name; }
  get state(): GroupState { return this.book.state; }
  get reason(): string { return this.book.reason; }
  get last(): Transition | undefined { return this.book.last; }

  has(resourceId: string): boolean { return this.book.rt.has(resourceId); }

  resourceState(resourceId: string): ResState | undefined { return this.book.rt.get(resourceId)?.state; }

  /**
   * Whether a resource's agent app should run here now: while the group starts or stops, and
   * while the resource is (being) brought online, kept online or restarted — or holds a fault
   * recorded while frozen (the operator may bring it back; unfreeze looks again). Otherwise the
   * app is retired and the coordinator does the standby's work (standby-scan.ts).
   */
  wantsApp(resourceId: string): boolean {
    const r = this.book.rt.get(resourceId);
    if (!r) return false;
    if (this.state === 'STARTING' || this.state === 'STOPPING') return true;
    if (this.takeoverExpected && this.state === 'OFFLINE' && r.state === 'OFFLINE') return true;
    return r.state === 'STARTING' || r.state === 'ONLINE' || r.state === 'RESTARTING' || r.state === 'STOPPING' || r.faultedWhileFrozen === true;
  }

  /**
   * Multi-node (group-lease.ts): the holder's renewals stopped, so this node may soon claim the
   * lease and start the group — start its apps now, in parallel, to hide their start-up; or that
   * is over (the holder lives, someone else claimed): retire them again.
   */
  expectTakeover(on: boolean, why: string): void {
    if (on === this.takeoverExpected) return;
    this.takeoverExpected = on;
    if (!on) { this.retireIdle(); return; }
    if (this.state !== 'OFFLINE' || this.frozen) return;
    this.deps.log.info(`group ${this.name}: ${why}: starting its apps ahead of a possible takeover`);
    this.deps.agents.prepare?.(this.book.all().filter((r) => r.state === 'OFFLINE').map((r) => r.res.id));
  }

  /** Retire the apps no longer wanted (after each action, and on the coordinator's reconcile). */
  retireIdle(): void {
    if (!this.deps.agents.retire) return;
    for (const r of this.book.all()) {
      if (!this.wantsApp(r.res.id)) this.deps.agents.retire(r.res.id, `${r.res.id} is ${r.state} here (group ${this.name} ${this.state}): ${r.reason}`);
    }
  }

  /** Processes of the group's ONLINE resources, as their agents last reported them. */
  allPids(): number[] { return this.book.all().flatMap((r) => r.pids); }

  /** Resources in online order (Mount and IP first, see group-order.ts). */
  resources(): ResolvedResource[] { return this.book.all().map((r) => r.res); }

  // ── operator requests ──────────────────────────────────────────────────────────────────

  /** `signal`: aborted when this node may no longer run the group (lease lost): stop starting. */
  online(reason: string, signal?: AbortSignal): Promise<Outcome> { return this.serial(() => this.doOnline(reason, signal)); }
  offline(reason: string): Promise<Outcome> { return this.serial(() => this.doOffline(reason)); }

  /** Clear FAULTED: of the group (→ OFFLINE), or of one resource (→ restarted if the group runs). */
  clear(resourceId?: string): Promise<Outcome> {
    return this.serial(async () => {
      const book = this.book;
      if (!resourceId) {
        // The CLI retries a trigger whose reply PM2 lost: a second clear must answer like the first.
        if (book.state === 'OFFLINE' && book.reason === CLEARED) return { ok: true, reason: `group ${this.name} was already cleared` };
        if (book.state !== 'FAULTED') return { ok: false, reason: `group ${this.name} is ${book.state}, not FAULTED` };
        for (const r of book.all()) {
          r.budget.reset();
          if (r.state === 'FAULTED') book.setRes(r, 'OFFLINE', CLEARED);
        }
        book.setState('OFFLINE', CLEARED);
        return { ok: true, reason: `group ${this.name} cleared; bring it online with: pm2 trigger msgha online ${this.name}` };
      }
      const r = book.rt.get(resourceId);
      if (!r) return { ok: false, reason: `no resource ${resourceId} in group ${this.name}` };
      if (r.state !== 'FAULTED') return { ok: false, reason: `${resourceId} is ${r.state}, not FAULTED` };
      r.budget.reset();
      book.setRes(r, 'OFFLINE', CLEARED);
      if (book.running()) {
        const started = await this.recovery.startOne(r);
        book.settle(`${r.res.name} ${started.ok ? 'online again after clear' : 'still failing after clear'}`);
        return { ok: started.ok, reason: started.ok ? `${resourceId} cleared and online` : `${resourceId} cleared, but online failed: ${started.reason}` };
      }
      return { ok: true, reason: `${resourceId} cleared` };
    });
  }

  /**
   * Coordinator restart: take over agents that are already running. `reports` holds each
   * running agent's answer to a state query. Resources that are ONLINE with target online stay
   * as they are — nothing is restarted.
   */
  adopt(reports: Map<string, AgentReport>): Promise<void> {
    return this.serial(async () => {
      const book = this.book;
      let online = 0;
      const faulted: Runtime[] = [];
      for (const r of book.all()) {
        const rep = reports.get(r.res.id);
        if (!rep || rep.target !== 'online') continue;
        if (rep.state === 'ONLINE' || rep.state === 'FAULTED') r.adoptionGraceUntil = book.now() + adoptionGraceMs(r.res);
        if (rep.state === 'ONLINE') {
          book.setRes(r, 'ONLINE', `adopted: ${rep.reason}`);
          if (Array.isArray(rep.pids)) book.notePids(r, rep.pids);
          online += 1;
        }
        else if (rep.state === 'FAULTED') { book.setRes(r, 'ONLINE', 'adopted (faulted)'); faulted.push(r); online += 1; }
      }
      if (online === 0) return;
      const all = online === book.rt.size;
      book.setState(all ? 'ONLINE' : 'PARTIAL', `adopted ${online}/${book.rt.size} running resource(s) after a coordinator restart`);
      if (this.holdAdoptedFaults) this.holdingFaults = true;
      for (const r of faulted) {
        const rep = reports.get(r.res.id)!;
        if (this.holdingFaults) this.heldFaults.set(r, rep);
        else await this.recovery.onFault(r, `FAULTED when adopted: ${rep.reason}`, rep.recovery, rep.level ? faultReasonOf(rep) : 'unknown', isDeep(rep));
      }
    });
  }

  /**
   * The lease was resumed (see holdAdoptedFaults): each resource whose fault was held is checked
   * again — the coordinator may have fixed it meanwhile (a lapsed VIP put back) — and only a
   * fault that is still there is handled.
   */
  releaseHeldFaults(): Promise<void> {
    const held = [...this.heldFaults];
    this.holdingFaults = false;
    this.heldFaults.clear();
    return this.serial(async () => {
      for (const [r, first] of held) {
        if (r.state !== 'ONLINE') continue;
        const rep = await this.recovery.recheck(r);
        if (rep.state === 'ONLINE') { this.deps.log.info(`${r.res.id}: fault seen while the coordinator restarted (${first.reason}), ONLINE now: ${rep.reason}`); continue; }
        await this.recovery.onFault(r, `faulted across a coordinator restart: ${rep.reason}`, rep.recovery, rep.level ? faultReasonOf(rep) : 'unknown', isDeep(rep));
      }
    });
  }

  /** The group does not go on running here under a resumed lease: held faults are moot. */
  dropHeldFaults(): void {
    this.holdingFaults = false;
    this.heldFaults.clear();
  }

  // ── agent reports ──────────────────────────────────────────────────────────────────────

  /**
   * A `msgha:state` report from one of our agents (or the standby scan's violation). `expected`:
   * a hello from an app the coordinator is starting itself.
   */
  onReport(report: AgentReport, expected = false): void {
    const r = this.book.rt.get(report.resource);
    if (!r) return;
    if (report.fn === 'hello') { void this.serial(() => this.onHello(r, expected)); return; }
    if (report.fn === 'pids') {
      if (Array.isArray(report.pids)) this.book.notePids(r, report.pids);
      return;
    }
    if (report.fn === 'lapsed') {
      this.book.setRes(r, report.ok ? 'OFFLINE' : 'UNKNOWN', report.reason);
      return;
    }
    if (report.fn === 'shutdown') {
      if (report.state === 'STOPPING') this.book.setRes(r, 'STOPPING', 'PM2 is stopping the agent: offline in progress');
      else this.markStopped(r, report.state === 'OFFLINE' ? 'stopped through PM2 (pm2 stop / kill)' : `stopped through PM2, but: ${report.reason}`);
      return;
    }
    if (report.violation) {
      r.violation = report.reason;
      this.deps.log.error(`${r.res.id}: ${report.reason}`);
      this.book.emit((e) => e.violation(r.res));
      if (this.deps.cleanViolations) void this.serial(() => this.cleanViolation(r));
      return;
    }
    if (report.state === 'FAULTED') {
      if (this.holdingFaults) { this.heldFaults.set(r, report); return; }
      void this.serial(() => this.recovery.onFault(r, report.reason, report.recovery, faultReasonOf(report), isDeep(report)));
    }
  }

  /** A standby found its resource running: clean it, unless the group runs here after all. */
  private async cleanViolation(r: Runtime): Promise<void> {
    if (this.state !== 'OFFLINE' && this.state !== 'FAULTED') return;
    const rep = await this.book.ask(r, { cmd: 'clean' });
    this.deps.log.warn(`${r.res.id}: concurrency violation ${rep.ok ? 'cleaned' : `NOT cleaned (${rep.reason})`}`);
    if (rep.ok) r.violation = `${r.violation ?? 'concurrency violation'} (cleaned ${new Date(this.book.now()).toISOString()})`;
  }

  /** pm2.list() says the app is stopped or errored (reconcile). */
  onAppStatus(resourceId: string, status: string): void {
    const r = this.book.rt.get(resourceId);
    if (!r) return;
    if (status === 'stopped' && r.state !== 'STOPPED' && r.state !== 'OFFLINE' && r.state !== 'FAULTED') {
      this.markStopped(r, 'stopped through PM2 (found by reconcile)');
    } else if (status === 'errored' && (r.state === 'ONLINE' || r.state === 'RESTARTING')) {
      // PM2 gave up restarting the agent: this node cannot run it.
      void this.serial(() => this.recovery.onFault(r, 'agent app keeps crashing (PM2 status errored)', 'move', 'unknown'));
    }
  }

  private markStopped(r: Runtime, reason: string): void {
    this.book.setRes(r, 'STOPPED', reason);
    if (this.state === 'ONLINE') this.book.setState('PARTIAL', `${r.res.name} ${reason}`);
  }

  /**
   * A (re)started agent said hello. Started by the coordinator, or for a resource being started
   * or stopped: a command follows. A crashed agent restarted by PM2 under an ONLINE resource gets
   * its target back. `pm2 start <app>` after a `pm2 stop` brings the resource back online — unless
   * the group is frozen. Any other start (on a node where the group does not run, or for a
   * resource the group does not run now) is refused: the agent is retired with the reason, which
   * its log (`pm2 logs <app>`) and the coordinator's show.
   */
  private async onHello(r: Runtime, expected: boolean): Promise<void> {
    const running = this.book.running();
    if (r.state === 'ONLINE' || r.state === 'RESTARTING') {
      this.deps.log.info(`${r.res.id}: agent restarted, re-sending target online`);
      await this.book.ask(r, { cmd: 'target', target: 'online' }, 'monitor');
      return;
    }
    if (expected || this.wantsApp(r.res.id)) return;
    if (running && r.state === 'STOPPED' && !this.frozen) {
      const started = await this.recovery.startOne(r);
      this.book.settle(`${r.res.name} ${started.ok ? 'started again through PM2' : `failed to start: ${started.reason}`}`);
      return;
    }
    const why = this.frozen ? `not started: group ${this.name} is frozen (unfreeze it first: msgha unfreeze ${this.name})`
      : running ? `not started: ${r.res.id} is ${r.state} in group ${this.name}${r.state === 'FAULTED' ? ` (clear it: msgha clear ${r.res.id})` : ''}`
        : `not started: group ${this.name} is ${this.state} on this node; its apps run only where the group runs (msgha status; msgha online ${this.name} or msgha switch ${this.name}:<node>)`;
    this.deps.log.warn(`${r.res.id}: pm2 start refused: ${why}`);
    this.deps.agents.retire?.(r.res.id, why);
  }

  // ── the work ───────────────────────────────────────────────────────────────────────────

  private async doOnline(reason: string, signal?: AbortSignal): Promise<Outcome> {
    if (signal?.aborted) return { ok: false, reason: `group ${this.name}: not started, this node may no longer run it` };
    if (this.state === 'FAULTED') {
      return { ok: false, reason: `group ${this.name} is FAULTED on this node (${this.reason}); clear it first: pm2 trigger msgha clear ${this.name}` };
    }
    if (this.state === 'ONLINE') return { ok: true, reason: `group ${this.name} is already ONLINE` };
    this.takeoverExpected = false;
    this.book.setState('STARTING', reason);
    // Every app at once: their start-up overlaps, while startInOrder keeps the requires order.
    this.deps.agents.prepare?.(this.book.all().filter((r) => r.state !== 'ONLINE').map((r) => r.res.id));
    const broken = await startInOrder(this.book, (r, s) => this.recovery.startOne(r, s), signal);
    if (broken) {
      const { r, reason: why } = broken;
      const faulted = await this.recovery.faultGroup(`critical resource ${r.res.name} failed to come online: ${why}`, r);
      return { ok: false, reason: faulted ? `group ${this.name} FAULTED: ${r.res.name} failed to come online: ${why}`
        : `group ${this.name}: ${r.res.name} failed to come online (${why}) while the lease is being lost here: not FAULTED` };
    }
    if (signal?.aborted) return { ok: false, reason: `group ${this.name}: online interrupted, this node may no longer run it` };
    this.book.settle('online finished');
    return { ok: (this.state as GroupState) === 'ONLINE', reason: `group ${this.name} is ${this.state}` };
  }

  private async doOffline(reason: string): Promise<Outcome> {
    if (this.state === 'OFFLINE') return { ok: true, reason: `group ${this.name} is already OFFLINE` };
    if (this.state === 'FAULTED') return { ok: true, reason: `group ${this.name} is FAULTED and already offline here` };
    this.book.setState('STOPPING', reason);
    const failed = await this.stopAll();
    if (failed.length > 0) {
      const could = `could not stop ${failed.join(', ')}`;
      const d = decide({ at: 'stop-failed', losingLease: await this.losingLease() });
      if (d.do === 'stand-down') {
        // The lease's own offline (e.g. after a thaw, with agents self-fencing at once): the
        // caller has the fence kill what remains (ok false); FAULTED would keep this node from
        // ever taking the group back until `msgha clear`.
        const why = `${could} while ${d.why}`;
        this.book.setState('OFFLINE', why);
        return { ok: false, reason: `group ${this.name}: ${why}` };
      }
      this.book.setState('FAULTED', could);
      return { ok: false, reason: `group ${this.name} FAULTED: ${could}` };
    }
    this.book.setState('OFFLINE', reason);
    return { ok: true, reason: `group ${this.name} is OFFLINE` };
  }

  private stopAll(keep?: Runtime): Promise<string[]> {
    return stopInOrder(this.book, keep, this.beforeStop);
  }

  /**
   * True when this node is losing the group's lease: the elector is fencing (its lost() offline
   * runs), or renewals are failing and end in a loss (leaseSettled waits for the outcome). Not
   * the online's aborted signal alone: a planned release aborts it too, on a healthy holder.
   */
  private async losingLease(): Promise<boolean> {
    return !!this.leaseSettled && !(await this.leaseSettled());
  }

  /** No automatic action while set (see the module header). */
  get frozen(): boolean { return this.frozenFlag; }

  set frozen(value: boolean) {
    const was = this.frozenFlag;
    this.frozenFlag = value;
    if (was && !value) this.resumeAfterFreeze();
  }

  /**
   * On unfreeze, every fault recorded while frozen is looked at again: a resource the operator
   * brought back is ONLINE again; one still down takes the normal fault path (restart, failover).
   */
  private resumeAfterFreeze(): void {
    for (const r of this.book.all()) {
      if (!r.faultedWhileFrozen) continue;
      r.faultedWhileFrozen = false;
      void this.serial(async () => {
        if (r.state !== 'FAULTED' || this.frozenFlag) return;
        const rep = await this.recovery.recheck(r);
        if (r.state !== 'FAULTED') return;
        if (rep.state === 'ONLINE') {
          this.book.setRes(r, 'ONLINE', `running again after unfreeze: ${rep.reason}`);
          this.book.settle(`${r.res.name} running again after unfreeze`);
          return;
        }
        this.book.setRes(r, 'ONLINE', 'unfrozen: checking the fault recorded while frozen');
        await this.recovery.onFault(r, `still down after unfreeze: ${rep.reason}`, rep.recovery, 'monitor-offline');
      });
    }
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch((err: unknown) => this.deps.log.error(`group ${this.name}: internal error: ${String(err)}`))
      .finally(() => { if (this.chain === settled) this.retireIdle(); });
    const settled = this.chain;
    return next;
  }

  /** For the metrics, at every scrape: memory only, no formatting. */
  snapshot(): GroupSnapshot { return this.book.snapshot(this.frozen); }

  status(): GroupStatus { return this.book.status(this.frozen); }
}
