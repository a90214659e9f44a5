/**
 * One service group on this node: its state machine and its resources' states as the
 * coordinator sees them, driven by operator requests and agent reports.
 *
 *   OFFLINE → STARTING → ONLINE ↔ PARTIAL → STOPPING → OFFLINE;  FAULTED (until cleared)
 *
 * Guarantees: every action on the group runs one at a time (a serial chain), so a restart, an
 * online and an offline never interleave; every state change goes through setState(), which
 * logs `old → new (reason)`. Online follows `requires`: a resource starts once everything it
 * requires is ONLINE, so independent resources start in parallel; offline is the mirror image (a
 * resource stops once everything that needs it is down). A faulted resource is cleaned and
 * restarted in place while its RestartLimit within ConfInterval allows (critical or not); beyond
 * that a critical resource faults the group (taken offline here) and a non-critical one only
 * faults itself. Shared-disk and address first: a Mount or IP resource that requires nothing
 * comes online before every other resource (and goes offline after them), whatever its place in
 * the file. A failed first online (not a restart in place) is cleaned and retried up to
 * OnlineRetryLimit times before it counts as a failure. Faults that arrive while the lease is
 * being lost (leaseSettled false: the elector is fencing, or renewals failed until it lost the
 * lease) are not acted on, and nothing met then — a fault, a failed online, a failed offline —
 * marks the group FAULTED here: the lease's offline and the fence stop what remains, and the
 * node stays eligible. A genuine fault on a holder whose renewals are current still faults it.
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
import type { Logger } from '../core/log';
import type { AgentReport } from '../pm2/protocol';
import { SETTLE_GRACE_MS, timeoutSeconds } from '../resource-types/contract';
import type { AgentFunction } from '../resource-types/contract';
import type { FailoverReason, FaultReason, GroupSnapshot, ResourceMetricState } from '../metrics/snapshot';
import type { AgentPort } from './app-registry';
import { faultReasonOf } from './fault-reason';
import { RestartBudget } from './restart-budget';

export type GroupState = 'OFFLINE' | 'STARTING' | 'ONLINE' | 'PARTIAL' | 'STOPPING' | 'FAULTED';
/** STOPPED: stopped through PM2 (`pm2 stop <app>`) behind the group's back. */
export type ResState = 'OFFLINE' | 'STARTING' | 'ONLINE' | 'STOPPING' | 'RESTARTING' | 'FAULTED' | 'UNKNOWN' | 'STOPPED';

export interface Transition { at: string; from: GroupState; to: GroupState; reason: string }

export interface ResourceStatus {
  id: string; name: string; type: string; state: ResState; reason: string; restarts: number;
  critical: boolean; since: string; violation?: string;
}

export interface GroupStatus {
  name: string; state: GroupState; reason: string; last?: Transition; resources: ResourceStatus[];
  /** No automatic action (local or persistent freeze). */
  frozen: boolean;
}

export interface Outcome { ok: boolean; reason: string }

interface Runtime {
  res: ResolvedResource;
  state: ResState;
  reason: string;
  restarts: number;
  budget: RestartBudget;
  critical: boolean;
  since: number;
  violation?: string;
  pids: number[];
  /** The coordinator's exit watch on `pids` (deps.watchPids), while ONLINE. */
  watch?: { stop(): void };
  /** Faulted while the group was frozen: looked at again on unfreeze. */
  faultedWhileFrozen?: boolean;
  /** Adopted after a coordinator restart: until then, one deep-check fault restarts for free. */
  adoptionGraceUntil?: number;
}

/** What happened to the group, for the metrics (each call is one event; none may throw). */
export interface GroupEvents {
  restart(resource: ResolvedResource): void;
  fault(resource: ResolvedResource, reason: FaultReason): void;
  failover(reason: FailoverReason): void;
  violation(resource: ResolvedResource): void;
}

/** The metrics' resource states: RESTARTING counts as STARTING, STOPPED (through PM2) as OFFLINE. */
const METRIC_STATE: Record<ResState, ResourceMetricState> = {
  OFFLINE: 'OFFLINE', STARTING: 'STARTING', ONLINE: 'ONLINE', STOPPING: 'STOPPING', RESTARTING: 'STARTING',
  FAULTED: 'FAULTED', UNKNOWN: 'UNKNOWN', STOPPED: 'OFFLINE',
};

export interface GroupRunnerDeps {
  agents: AgentPort;
  events?: GroupEvents;
  log: Logger;
  /** Start the PM2 app of a resource again (after `pm2 stop`) and wait for its hello. */
  restartApp(resourceId: string): Promise<boolean>;
  now?: () => number;
  onChange?(group: string, from: GroupState, to: GroupState, reason: string): void;
  /** The group faulted on this node (critical resource beyond its budget): fail it over. Not awaited. */
  onFaulted?(reason: string): void;
  /** A resource's processes, as its agent reported them while ONLINE. */
  onPids?(resourceId: string, pids: number[]): void;
  /** Clean a resource found running here while the group does not run here (multi-node mode). */
  cleanViolations?: boolean;
  /**
   * One exit watch per node instead of one per agent (probes/processes.ts watchPids): the
   * processes an ONLINE resource's agent reported are watched here, and the agent is told at
   * once when one exits (command 'exited'). Without it, each agent watches its own.
   */
  watchPids?(pids: number[], onExit: (pid: number) => void): { stop(): void };
}

/** A Mount or IP resource that requires nothing: it comes before every other resource. */
const isEarly = (r: ResolvedResource): boolean => (r.type === 'Mount' || r.type === 'IP') && r.requires.length === 0;

/** Mount, then IP, before everything else — when they require nothing (so no requires is broken). */
function onlineOrder(resources: ResolvedResource[]): ResolvedResource[] {
  const early = (type: string) => resources.filter((r) => r.type === type && isEarly(r));
  const first = [...early('Mount'), ...early('IP')];
  return [...first, ...resources.filter((r) => !first.includes(r))];
}

/**
 * A fault found by a deep check (second-level probes, or the MonitorProgram run after them):
 * the kind a coordinator restart can cause, e.g. probes through a VIP whose lifetime lapsed.
 */
const isDeep = (rep: Pick<AgentReport, 'level'>): boolean => rep.level === 'second' || rep.level === 'program';

const CLEARED = 'fault cleared by operator';

/** An online after a crash that fails within this long is retried once (see handleFault). */
const QUICK_FAILURE_MS = 3000;
const RETRY_PAUSE_MS = 300;

/** Why 120 s: a deep-check period longer than that is rare; the grace must not outlive the adoption. */
const ADOPTION_GRACE_MAX_MS = 120_000;

/**
 * How long after an adoption a deep-check failure is taken for an effect of the coordinator's
 * restart (e.g. the VIP's lifetime lapsed before the first refresh): until the agent's first deep
 * check after the adoption has run — SecondLevelMonitor cycles of MonitorInterval, plus one
 * MonitorTimeout — at most ADOPTION_GRACE_MAX_MS.
 */
export function adoptionGraceMs(res: ResolvedResource): number {
  const n = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : d);
  const every = Math.max(1, n(res.attrs.SecondLevelMonitor, 1));
  const ms = (n(res.attrs.MonitorInterval, 10) * every + n(res.attrs.MonitorTimeout, 8)) * 1000;
  return Math.min(ADOPTION_GRACE_MAX_MS, ms);
}

/** OnlineRetryLimit of a resource (declared default 1). */
function onlineRetries(res: ResolvedResource): number {
  const v = res.attrs.OnlineRetryLimit;
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 1;
}

/** Extra time on top of a function's own timeout before the coordinator gives up waiting. */
const REPLY_SLACK_MS = SETTLE_GRACE_MS + 5000;

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
  private heldFaults = new Map<Runtime, AgentReport>();
  state: GroupState = 'OFFLINE';
  reason = 'not started';
  last?: Transition;
  private frozenFlag: boolean;
  private readonly rt = new Map<string, Runtime>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(readonly group: ResolvedGroup, private readonly deps: GroupRunnerDeps) {
    this.now = deps.now ?? Date.now;
    this.frozenFlag = group.frozen;
    for (const res of onlineOrder(group.resources)) {
      const limit = Number(res.attrs.RestartLimit ?? 0);
      const windowS = Number(res.attrs.ConfInterval ?? 600);
      this.rt.set(res.id, {
        res, state: 'OFFLINE', reason: 'not started', restarts: 0,
        budget: new RestartBudget(Number.isFinite(limit) ? limit : 0, (Number.isFinite(windowS) ? windowS : 600) * 1000, this.now),
        critical: res.attrs.Critical !== false, since: this.now(), pids: [],
      });
    }
  }

  get name(): string { return this.group.name; }

  has(resourceId: string): boolean { return this.rt.has(resourceId); }

  /** Processes of the group's ONLINE resources, as their agents last reported them. */
  allPids(): number[] { return [...this.rt.values()].flatMap((r) => r.pids); }

  /** Resources in online order (Mount and IP first, see onlineOrder). */
  resources(): ResolvedResource[] { return [...this.rt.values()].map((r) => r.res); }

  // ── operator requests ──────────────────────────────────────────────────────────────────

  /** `signal`: aborted when this node may no longer run the group (lease lost): stop starting. */
  online(reason: string, signal?: AbortSignal): Promise<Outcome> { return this.serial(() => this.doOnline(reason, signal)); }
  offline(reason: string): Promise<Outcome> { return this.serial(() => this.doOffline(reason)); }

  /** Clear FAULTED: of the group (→ OFFLINE), or of one resource (→ restarted if the group runs). */
  clear(resourceId?: string): Promise<Outcome> {
    return this.serial(async () => {
      if (!resourceId) {
        // The CLI retries a trigger whose reply PM2 lost: a second clear must answer like the first.
        if (this.state === 'OFFLINE' && this.reason === CLEARED) return { ok: true, reason: `group ${this.name} was already cleared` };
        if (this.state !== 'FAULTED') return { ok: false, reason: `group ${this.name} is ${this.state}, not FAULTED` };
        for (const r of this.rt.values()) {
          r.budget.reset();
          if (r.state === 'FAULTED') this.setRes(r, 'OFFLINE', CLEARED);
        }
        this.setState('OFFLINE', CLEARED);
        return { ok: true, reason: `group ${this.name} cleared; bring it online with: pm2 trigger msgha online ${this.name}` };
      }
      const r = this.rt.get(resourceId);
      if (!r) return { ok: false, reason: `no resource ${resourceId} in group ${this.name}` };
      if (r.state !== 'FAULTED') return { ok: false, reason: `${resourceId} is ${r.state}, not FAULTED` };
      r.budget.reset();
      this.setRes(r, 'OFFLINE', 'fault cleared by operator');
      if (this.state === 'ONLINE' || this.state === 'PARTIAL') {
        const started = await this.startOne(r);
        this.settle(`${r.res.name} ${started.ok ? 'online again after clear' : 'still failing after clear'}`);
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
  adopt(reports: Map<string, AgentReport>, stopped: Set<string>): Promise<void> {
    return this.serial(async () => {
      let online = 0;
      const faulted: Runtime[] = [];
      for (const r of this.rt.values()) {
        const rep = reports.get(r.res.id);
        if (stopped.has(r.res.id)) { this.setRes(r, 'STOPPED', 'stopped through PM2'); continue; }
        if (!rep || rep.target !== 'online') continue;
        if (rep.state === 'ONLINE' || rep.state === 'FAULTED') r.adoptionGraceUntil = this.now() + adoptionGraceMs(r.res);
        if (rep.state === 'ONLINE') {
          this.setRes(r, 'ONLINE', `adopted: ${rep.reason}`);
          if (Array.isArray(rep.pids)) this.notePids(r, rep.pids);
          online += 1;
        }
        else if (rep.state === 'FAULTED') { this.setRes(r, 'ONLINE', 'adopted (faulted)'); faulted.push(r); online += 1; }
      }
      if (online === 0) return;
      const all = online === this.rt.size;
      this.setState(all ? 'ONLINE' : 'PARTIAL', `adopted ${online}/${this.rt.size} running resource(s) after a coordinator restart`);
      if (this.holdAdoptedFaults) this.holdingFaults = true;
      for (const r of faulted) {
        const rep = reports.get(r.res.id)!;
        if (this.holdingFaults) this.heldFaults.set(r, rep);
        else await this.handleFault(r, `FAULTED when adopted: ${rep.reason}`, rep.recovery, rep.level ? faultReasonOf(rep) : 'unknown', isDeep(rep));
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
        const rep = await this.recheck(r);
        if (rep.state === 'ONLINE') { this.deps.log.info(`${r.res.id}: fault seen while the coordinator restarted (${first.reason}), ONLINE now: ${rep.reason}`); continue; }
        await this.handleFault(r, `faulted across a coordinator restart: ${rep.reason}`, rep.recovery, rep.level ? faultReasonOf(rep) : 'unknown', isDeep(rep));
      }
    });
  }

  /** A full monitor (both levels) of one resource now: is a fault reported earlier still there? */
  private recheck(r: Runtime): Promise<AgentReport> {
    return this.deps.agents.request(r.res.id, { cmd: 'monitor', deep: true }, this.replyTimeout(r.res, 'monitor'));
  }

  /** The group does not go on running here under a resumed lease: held faults are moot. */
  dropHeldFaults(): void {
    this.holdingFaults = false;
    this.heldFaults.clear();
  }

  // ── agent reports ──────────────────────────────────────────────────────────────────────

  /** A `msgha:state` report from one of our agents. */
  onReport(report: AgentReport): void {
    const r = this.rt.get(report.resource);
    if (!r) return;
    if (report.fn === 'hello') { void this.serial(() => this.onHello(r)); return; }
    if (report.fn === 'pids') {
      if (Array.isArray(report.pids)) this.notePids(r, report.pids);
      return;
    }
    if (report.fn === 'lapsed') {
      this.setRes(r, report.ok ? 'OFFLINE' : 'UNKNOWN', report.reason);
      return;
    }
    if (report.fn === 'shutdown') {
      if (report.state === 'STOPPING') this.setRes(r, 'STOPPING', 'PM2 is stopping the agent: offline in progress');
      else this.markStopped(r, report.state === 'OFFLINE' ? 'stopped through PM2 (pm2 stop / kill)' : `stopped through PM2, but: ${report.reason}`);
      return;
    }
    if (report.violation) {
      r.violation = report.reason;
      this.deps.log.error(`${r.res.id}: ${report.reason}`);
      this.emit((e) => e.violation(r.res));
      if (this.deps.cleanViolations) void this.serial(() => this.cleanViolation(r));
      return;
    }
    if (report.state === 'FAULTED') {
      if (this.holdingFaults) { this.heldFaults.set(r, report); return; }
      void this.serial(() => this.handleFault(r, report.reason, report.recovery, faultReasonOf(report), isDeep(report)));
    }
  }

  /** A standby found its resource running: clean it, unless the group runs here after all. */
  private async cleanViolation(r: Runtime): Promise<void> {
    if (this.state !== 'OFFLINE' && this.state !== 'FAULTED') return;
    const rep = await this.deps.agents.request(r.res.id, { cmd: 'clean' }, this.replyTimeout(r.res, 'clean'));
    this.deps.log.warn(`${r.res.id}: concurrency violation ${rep.ok ? 'cleaned' : `NOT cleaned (${rep.reason})`}`);
    if (rep.ok) r.violation = `${r.violation ?? 'concurrency violation'} (cleaned ${new Date(this.now()).toISOString()})`;
  }

  /** pm2.list() says the app is stopped or errored (reconcile). */
  onAppStatus(resourceId: string, status: string): void {
    const r = this.rt.get(resourceId);
    if (!r) return;
    if (status === 'stopped' && r.state !== 'STOPPED' && r.state !== 'OFFLINE' && r.state !== 'FAULTED') {
      this.markStopped(r, 'stopped through PM2 (found by reconcile)');
    } else if (status === 'errored' && (r.state === 'ONLINE' || r.state === 'RESTARTING')) {
      void this.serial(() => this.handleFault(r, 'agent app keeps crashing (PM2 status errored)', 'move', 'unknown'));
    }
  }

  private markStopped(r: Runtime, reason: string): void {
    this.setRes(r, 'STOPPED', reason);
    if (this.state === 'ONLINE') this.setState('PARTIAL', `${r.res.name} ${reason}`);
  }

  /** A (re)started agent said hello: give it the target this node wants for its resource. */
  private async onHello(r: Runtime): Promise<void> {
    const running = this.state === 'ONLINE' || this.state === 'PARTIAL';
    if (running && r.state === 'STOPPED') {
      // `pm2 start <app>` after a `pm2 stop`: the operator wants it back.
      const started = await this.startOne(r);
      this.settle(`${r.res.name} ${started.ok ? 'started again through PM2' : `failed to start: ${started.reason}`}`);
      return;
    }
    if (running && (r.state === 'ONLINE' || r.state === 'RESTARTING')) {
      // The agent process was restarted by PM2 (it crashed); its resource may still run.
      this.deps.log.info(`${r.res.id}: agent restarted, re-sending target online`);
      await this.deps.agents.request(r.res.id, { cmd: 'target', target: 'online' }, this.replyTimeout(r.res, 'monitor'));
      return;
    }
    if (this.state === 'STARTING' || this.state === 'STOPPING') return;
    await this.deps.agents.request(r.res.id, { cmd: 'target', target: 'offline' }, 10_000);
  }

  // ── the work ───────────────────────────────────────────────────────────────────────────

  private async doOnline(reason: string, signal?: AbortSignal): Promise<Outcome> {
    if (signal?.aborted) return { ok: false, reason: `group ${this.name}: not started, this node may no longer run it` };
    if (this.state === 'FAULTED') {
      return { ok: false, reason: `group ${this.name} is FAULTED on this node (${this.reason}); clear it first: pm2 trigger msgha clear ${this.name}` };
    }
    if (this.state === 'ONLINE') return { ok: true, reason: `group ${this.name} is already ONLINE` };
    this.setState('STARTING', reason);
    // Each resource starts as soon as what it needs is ONLINE: independent ones in parallel.
    let broken: { r: Runtime; reason: string } | undefined;
    const runs = new Map<Runtime, Promise<void>>();
    const start = (r: Runtime): Promise<void> => {
      let run = runs.get(r);
      if (!run) {
        run = (async () => {
          await Promise.all(this.prerequisites(r).map(start));
          if (r.state === 'ONLINE' || broken || signal?.aborted) return;
          const missing = r.res.requires.filter((n) => this.byName(n)?.state !== 'ONLINE');
          if (missing.length > 0) {
            this.setRes(r, 'OFFLINE', `not started: requires ${missing.join(', ')}, which is not ONLINE`);
            return;
          }
          const started = await this.startOne(r, signal);
          if (!started.ok && r.critical && !broken) broken = { r, reason: started.reason };
        })();
        runs.set(r, run);
      }
      return run;
    };
    await Promise.all([...this.rt.values()].map(start));
    if (broken) {
      const { r, reason: why } = broken;
      const faulted = await this.faultGroup(`critical resource ${r.res.name} failed to come online: ${why}`, r);
      return { ok: false, reason: faulted ? `group ${this.name} FAULTED: ${r.res.name} failed to come online: ${why}`
        : `group ${this.name}: ${r.res.name} failed to come online (${why}) while the lease is being lost here: not FAULTED` };
    }
    if (signal?.aborted) return { ok: false, reason: `group ${this.name}: online interrupted, this node may no longer run it` };
    this.settle('online finished');
    return { ok: (this.state as GroupState) === 'ONLINE', reason: `group ${this.name} is ${this.state}` };
  }

  /**
   * What must be ONLINE before a resource starts: its `requires`, and for everything but the
   * Mount and IP resources that require nothing, those (the disk and the address come first).
   */
  private prerequisites(r: Runtime): Runtime[] {
    const named = r.res.requires.map((n) => this.byName(n)).filter((x): x is Runtime => !!x);
    if (isEarly(r.res)) return named;
    return [...named, ...[...this.rt.values()].filter((x) => isEarly(x.res))];
  }

  /**
   * First online of one resource (its app restarted first if PM2 has it stopped): after a failure
   * it is cleaned and, up to OnlineRetryLimit times, tried again — not when the agent says the
   * configuration is wrong (no retry can fix that) nor once this node may no longer run the group.
   */
  private async startOne(r: Runtime, signal?: AbortSignal): Promise<Outcome> {
    if (r.state === 'STOPPED') {
      const up = await this.deps.restartApp(r.res.id);
      if (!up) { this.setRes(r, 'FAULTED', 'agent app could not be started'); return { ok: false, reason: 'agent app could not be started' }; }
    }
    const retries = onlineRetries(r.res);
    for (let attempt = 0; ; attempt++) {
      this.setRes(r, 'STARTING', attempt === 0 ? 'online' : `online, retry ${attempt}/${retries} (OnlineRetryLimit)`);
      const rep = await this.deps.agents.request(r.res.id, { cmd: 'online' }, this.replyTimeout(r.res, 'online'));
      if (rep.ok) { this.setRes(r, 'ONLINE', attempt === 0 ? rep.reason : `${rep.reason} (after ${attempt} OnlineRetryLimit retr${attempt === 1 ? 'y' : 'ies'})`); return { ok: true, reason: rep.reason }; }
      const retry = attempt < retries && rep.recovery !== 'configuration' && !signal?.aborted;
      this.deps.log.warn(`${r.res.id}: online failed (${rep.reason}); cleaning${retry ? `, then retry ${attempt + 1}/${retries} (OnlineRetryLimit)` : ''}`);
      this.emit((e) => e.fault(r.res, 'online-failed'));
      const cleaned = await this.deps.agents.request(r.res.id, { cmd: 'clean' }, this.replyTimeout(r.res, 'clean'));
      if (!retry || !cleaned.ok) {
        const why = attempt > 0 ? `${rep.reason} (${attempt + 1} attempts, OnlineRetryLimit ${retries})` : rep.reason;
        this.setRes(r, 'FAULTED', `online failed: ${why}${cleaned.ok ? '' : `; clean failed: ${cleaned.reason}`}`);
        return { ok: false, reason: why };
      }
    }
  }

  private async doOffline(reason: string): Promise<Outcome> {
    if (this.state === 'OFFLINE') return { ok: true, reason: `group ${this.name} is already OFFLINE` };
    if (this.state === 'FAULTED') return { ok: true, reason: `group ${this.name} is FAULTED and already offline here` };
    this.setState('STOPPING', reason);
    const failed = await this.stopAll();
    if (failed.length > 0) {
      if (await this.losingLease()) {
        // The lease's own offline (e.g. after a thaw, with agents self-fencing at once): the
        // caller has the fence kill what remains (ok false); FAULTED would keep this node from
        // ever taking the group back until `msgha clear`.
        const why = `could not stop ${failed.join(', ')} while the lease is lost here: the fence kills what remains; not FAULTED`;
        this.setState('OFFLINE', why);
        return { ok: false, reason: `group ${this.name}: ${why}` };
      }
      this.setState('FAULTED', `could not stop ${failed.join(', ')}`);
      return { ok: false, reason: `group ${this.name} FAULTED: could not stop ${failed.join(', ')}` };
    }
    this.setState('OFFLINE', reason);
    return { ok: true, reason: `group ${this.name} is OFFLINE` };
  }

  /**
   * Offline every resource, each once everything that needs it is down (independent ones in
   * parallel; clean when offline fails); names of failures.
   */
  private async stopAll(keep?: Runtime): Promise<string[]> {
    const failed: string[] = [];
    const all = [...this.rt.values()];
    const runs = new Map<Runtime, Promise<void>>();
    const stop = (r: Runtime): Promise<void> => {
      let run = runs.get(r);
      if (!run) {
        run = (async () => {
          await Promise.all(all.filter((d) => d !== r && this.prerequisites(d).includes(r)).map(stop));
          if (r.state === 'STOPPED') return; // PM2 already ran its offline
          if (r !== keep) this.setRes(r, 'STOPPING', 'offline');
          await this.beforeStop?.(r.res);
          let rep = await this.deps.agents.request(r.res.id, { cmd: 'offline' }, this.replyTimeout(r.res, 'offline'));
          if (!rep.ok) {
            this.deps.log.warn(`${r.res.id}: offline failed (${rep.reason}); cleaning`);
            rep = await this.deps.agents.request(r.res.id, { cmd: 'clean' }, this.replyTimeout(r.res, 'clean'));
          }
          if (!rep.ok) failed.push(r.res.name);
          if (r !== keep) this.setRes(r, rep.ok ? 'OFFLINE' : 'UNKNOWN', rep.ok ? 'offline' : `stop failed: ${rep.reason}`);
        })();
        runs.set(r, run);
      }
      return run;
    };
    await Promise.all(all.map(stop));
    return failed;
  }

  /** The hot path: a resource of a running group faulted. */
  private async handleFault(r: Runtime, reason: string, recovery: string | undefined, cause: FaultReason, deep = false): Promise<void> {
    if (r.state !== 'ONLINE' || (this.state !== 'ONLINE' && this.state !== 'PARTIAL')) {
      this.deps.log.info(`${r.res.id}: fault report ignored (${r.state} in a ${this.state} group): ${reason}`);
      return;
    }
    if (await this.losingLease()) {
      // Renewals are failing and the lease is being lost: the fault is most likely its effect
      // (e.g. the VIP's kernel lifetime ran out). The group stops with the lease; restarting or
      // marking this node FAULTED would only keep it from taking the group back later.
      this.deps.log.warn(`${r.res.id}: ${reason} — not restarted: the lease of ${this.name} is being lost here`);
      if (r.state === 'ONLINE') this.setRes(r, 'OFFLINE', `${reason} (lease lost: not restarted)`);
      return;
    }
    this.emit((e) => e.fault(r.res, cause));
    if (this.frozen) {
      // Frozen: report, never act (the operator is working on the group).
      this.setRes(r, 'FAULTED', `${reason} (group frozen: no automatic action)`);
      r.faultedWhileFrozen = true;
      this.settle(`${r.res.name} faulted while frozen`);
      return;
    }
    if (recovery === 'configuration' || recovery === 'move') {
      // Restarting here cannot help: the configuration is wrong or this node cannot run it.
      return this.giveUp(r, `${reason} (recovery: ${recovery})`);
    }
    let last = reason;
    // A deep check failing just after an adoption: most likely the coordinator's restart itself
    // (probes through a VIP that lapsed meanwhile and was just put back). Check once more before
    // touching the service; if it still fails, restart once without using RestartLimit.
    let free = deep && r.adoptionGraceUntil !== undefined && this.now() < r.adoptionGraceUntil;
    if (free) {
      const again = await this.recheck(r);
      if (again.state === 'ONLINE' && r.state === 'ONLINE') {
        this.deps.log.info(`${r.res.id}: ${reason} — right after a coordinator restart; passes again (${again.reason}): not restarted`);
        return;
      }
      r.adoptionGraceUntil = undefined;
    }
    while (free || r.budget.take()) {
      const counted = !free;
      free = false;
      r.restarts += 1;
      this.emit((e) => e.restart(r.res));
      this.setRes(r, 'RESTARTING', last);
      this.setState('PARTIAL', `${r.res.name} faulted (${last}); restart in place ${counted ? `${r.budget.used()}/${r.budget.limit}` : '(within the adoption grace: not counted against RestartLimit)'}`);
      const cleaned = await this.deps.agents.request(r.res.id, { cmd: 'clean' }, this.replyTimeout(r.res, 'clean'));
      if (!cleaned.ok) { last = `clean failed: ${cleaned.reason}`; break; }
      const t0 = this.now();
      let rep = await this.deps.agents.request(r.res.id, { cmd: 'online' }, this.replyTimeout(r.res, 'online'));
      if (!rep.ok && rep.recovery !== 'configuration' && this.now() - t0 < QUICK_FAILURE_MS) {
        // A start that fails at once right after a crash (e.g. "already running"): the crashed
        // instance's last processes may still be exiting. Once more after a pause, same attempt.
        this.deps.log.warn(`${r.res.id}: online right after the crash failed (${rep.reason}); cleaning and trying once more`);
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
        await this.deps.agents.request(r.res.id, { cmd: 'clean' }, this.replyTimeout(r.res, 'clean'));
        rep = await this.deps.agents.request(r.res.id, { cmd: 'online' }, this.replyTimeout(r.res, 'online'));
      }
      if (rep.ok) {
        this.setRes(r, 'ONLINE', `restarted in place: ${rep.reason}`);
        this.settle(`${r.res.name} restarted in place`);
        return;
      }
      last = `online after restart failed: ${rep.reason}`;
      this.emit((e) => e.fault(r.res, 'online-failed'));
      if (await this.losingLease()) {
        // The lease went while restarting: its offline follows; no more budget spent here.
        this.setRes(r, 'UNKNOWN', `${last} (lease being lost: not restarted again)`);
        return;
      }
    }
    await this.giveUp(r, `${last}; RestartLimit ${r.budget.limit} within ConfInterval ${Math.round(r.budget.windowMs / 1000)}s used up`);
  }

  private async giveUp(r: Runtime, reason: string): Promise<void> {
    if (r.critical) { await this.faultGroup(`critical resource ${r.res.name} faulted: ${reason}`, r); return; }
    await this.deps.agents.request(r.res.id, { cmd: 'clean' }, this.replyTimeout(r.res, 'clean'));
    this.setRes(r, 'FAULTED', reason);
    this.settle(`non-critical ${r.res.name} FAULTED`);
  }

  /**
   * Take the whole group offline here and mark it FAULTED (failover comes with the elector);
   * false (nothing done but the culprit's state) when the lease is being lost here: the lease's
   * offline, queued behind this, stops the group, and the node must stay eligible.
   */
  private async faultGroup(reason: string, culprit: Runtime): Promise<boolean> {
    if (await this.losingLease()) {
      this.deps.log.warn(`group ${this.name}: ${reason} — not FAULTED: the lease is being lost here`);
      this.setRes(culprit, 'UNKNOWN', `${reason} (lease being lost: not FAULTED)`);
      return false;
    }
    this.setRes(culprit, 'FAULTED', reason);
    // Here the group leaves this node; with the elector, the next node of systemList takes it.
    this.emit((e) => e.failover('resource-fault'));
    this.setState('STOPPING', reason);
    await this.stopAll(culprit);
    this.setState('FAULTED', reason);
    if (this.deps.onFaulted) {
      try { this.deps.onFaulted(reason); } catch (err) { this.deps.log.error(`group ${this.name}: onFaulted: ${String(err)}`); }
    }
    return true;
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
    for (const r of this.rt.values()) {
      if (!r.faultedWhileFrozen) continue;
      r.faultedWhileFrozen = false;
      void this.serial(async () => {
        if (r.state !== 'FAULTED' || this.frozenFlag) return;
        const rep = await this.recheck(r);
        if (r.state !== 'FAULTED') return;
        if (rep.state === 'ONLINE') {
          this.setRes(r, 'ONLINE', `running again after unfreeze: ${rep.reason}`);
          this.settle(`${r.res.name} running again after unfreeze`);
          return;
        }
        this.setRes(r, 'ONLINE', 'unfrozen: checking the fault recorded while frozen');
        await this.handleFault(r, `still down after unfreeze: ${rep.reason}`, rep.recovery, 'monitor-offline');
      });
    }
  }

  // ── state ──────────────────────────────────────────────────────────────────────────────

  /** After work in a running group: ONLINE when every resource is ONLINE, else PARTIAL. */
  private settle(reason: string): void {
    if (this.state !== 'ONLINE' && this.state !== 'PARTIAL' && this.state !== 'STARTING') return;
    const all = [...this.rt.values()].every((r) => r.state === 'ONLINE');
    this.setState(all ? 'ONLINE' : 'PARTIAL', reason);
  }

  private setState(next: GroupState, reason: string): void {
    const from = this.state;
    this.reason = reason;
    if (from === next) return;
    this.state = next;
    this.last = { at: new Date(this.now()).toISOString(), from, to: next, reason };
    (next === 'FAULTED' ? this.deps.log.error : this.deps.log.info)(`group ${this.name}: ${from} → ${next} (${reason})`);
    this.deps.onChange?.(this.name, from, next, reason);
  }

  private setRes(r: Runtime, state: ResState, reason: string): void {
    if (r.state !== state) this.deps.log.info(`${r.res.id}: ${r.state} → ${state} (${reason})`);
    if (r.state !== state) r.since = this.now();
    if (state !== 'ONLINE' && state !== 'RESTARTING') { r.pids = []; this.unwatch(r); }
    r.state = state;
    r.reason = reason;
  }

  /** The processes an ONLINE resource's agent reported: to the fence, and under the exit watch. */
  private notePids(r: Runtime, reported: number[]): void {
    r.pids = reported.filter((p) => Number.isInteger(p) && p > 1);
    if (r.pids.length) this.deps.onPids?.(r.res.id, r.pids);
    this.unwatch(r);
    // The report can overtake the online reply (STARTING, RESTARTING): watch then too.
    if (!this.deps.watchPids || r.pids.length === 0 || !['ONLINE', 'STARTING', 'RESTARTING'].includes(r.state)) return;
    try {
      r.watch = this.deps.watchPids(r.pids, (pid) => {
        this.unwatch(r);
        void this.deps.agents.request(r.res.id, { cmd: 'exited', pid }, 5000);
      });
    } catch (err) {
      this.deps.log.warn(`${r.res.id}: cannot watch its processes: ${String(err)}`);
    }
  }

  private unwatch(r: Runtime): void {
    r.watch?.stop();
    r.watch = undefined;
  }

  private emit(event: (e: GroupEvents) => void): void {
    if (!this.deps.events) return;
    try { event(this.deps.events); } catch (err) { this.deps.log.warn(`group ${this.name}: metrics event failed: ${String(err)}`); }
  }

  private byName(name: string): Runtime | undefined {
    return this.rt.get(`${this.name}.${name}`);
  }

  private replyTimeout(res: ResolvedResource, fn: AgentFunction): number {
    // A queued monitor is aborted first, so it adds at most its settle grace.
    return timeoutSeconds(res, fn) * 1000 + REPLY_SLACK_MS;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch((err: unknown) => this.deps.log.error(`group ${this.name}: internal error: ${String(err)}`));
    return next;
  }

  /** For the metrics, at every scrape: memory only, no formatting. */
  snapshot(): GroupSnapshot {
    const resources: GroupSnapshot['resources'] = [];
    for (const r of this.rt.values()) {
      resources.push({ resource: r.res.name, type: r.res.type, state: METRIC_STATE[r.state], restarts: r.restarts });
    }
    return { group: this.name, state: this.state, frozen: this.frozen, resources };
  }

  status(): GroupStatus {
    return {
      name: this.name, state: this.state, reason: this.reason, last: this.last, frozen: this.frozen,
      resources: [...this.rt.values()].map((r) => ({
        id: r.res.id, name: r.res.name, type: r.res.type, state: r.state, reason: r.reason, restarts: r.restarts,
        critical: r.critical, since: new Date(r.since).toISOString(), ...(r.violation ? { violation: r.violation } : {}),
      })),
    };
  }
}
