/**
 * The agent of one resource: a queue of agent functions (never two at once), the target it keeps
 * (online: monitor loop + instant pid-exit watch), and the reports it sends. Transport-free: the
 * agent app wires `send` to process.send and commands from the IPC channel; unit tests drive it
 * with a fake type.
 *
 * An agent runs only where its resource should run: the coordinator starts the app for an
 * online and retires it (command 'retire') once the resource is offline; a standby's checks run
 * in the coordinator (coordinator/apps/standby-scan.ts). With `presenceElsewhere` the coordinator's
 * exit watch covers the processes this agent reported, so this loop runs only the cycles that
 * do more (deep checks, MonitorProgram) — and every cycle again while a failure is tolerated.
 *
 * Guarantees: every command gets exactly one reply; an online/offline/clean never waits behind a
 * monitor (the monitor is aborted); a monitor never runs longer than MonitorTimeout; after
 * FAULTED the agent does nothing on its own until the coordinator sends a command — except
 * the agents' self-fencing (docs/lease.md, "The layers that stop a holder"): with `leaseLapsed`,
 * an agent whose group's serve deadline passed without renewal cleans its resource by itself
 * (even when the coordinator is gone) and reports fn 'lapsed'. While ONLINE it reports the
 * resource's pids (fn 'pids') whenever they change, for the fence. Whether a monitor result is
 * tolerated or FAULTED is decided by plugin/recovery/policy.ts (ToleranceLimit); a monitor cut
 * short (`cancelled`) is no verdict. A retire is refused while the target is online or a
 * function runs: an agent never leaves a resource it keeps running.
 */
import type { CheckReport } from '../core/results';
import { numberAttr } from '../model/attributes';
import { decide } from '../recovery/policy';
import { monitorProgramOf } from '../resource-types/monitor-levels';
import type { AgentFunction } from '../resource-types/contract';
import type { Logger } from '../core/log';
import type { AgentMetricsView } from '../metrics/pm2-io';
import { serviceOfCheck } from '../metrics/snapshot';
import { runFunction, loggerFor, type FunctionOutcome, type RunnerDeps } from '../resource-types/function-runner';
import {
  RESULT_EVENT, STATE_EVENT, retiredReply, type AgentCommand, type AgentReport, type AgentState, type AgentTarget,
  type Observation, type OutgoingMessage,
} from '../pm2/protocol';

/** What plugin/proc/pid-watch.ts `watchPids` returns (a closer function or close() also accepted). */
export type PidWatch = { stop(): void } | { close(): void } | (() => void) | void;
export type WatchPids = (pids: number[], onExit: (pid: number) => void) => PidWatch;

export interface AgentCoreDeps extends RunnerDeps {
  send(message: OutgoingMessage): void;
  watchPids?: WatchPids;
  /** From resource-types/monitor-levels.ts: is this cycle (counted from 1) a deep one for cadence N. */
  isDeepCycle(cycle: number, every: number): boolean;
  /** Called once after every function that ran to the end (for metrics; see Observation). */
  observe?(observation: Observation): void;
  /**
   * Self-fence: a reason when the group's lease serve deadline has passed (guard file), else
   * undefined. Checked every `leaseCheckMs` while the resource may be running here.
   */
  leaseLapsed?(): string | undefined;
  /** Period of the leaseLapsed check (default 250 ms: a local tmpfs read). */
  leaseCheckMs?: number;
  /** Called after the agent cleaned its resource because the lease lapsed. */
  onLapsed?(ok: boolean): void;
  /**
   * Milliseconds in one second of MonitorInterval (1000). Those are whole seconds, at least 1:
   * tests shorten the second to run the loops fast.
   */
  secondMs?: number;
  /** The coordinator watches the reported processes for exits (see scheduleOnline). */
  presenceElsewhere?: boolean;
  /**
   * Retire: send `reply` (the answer to the retire command), then end the agent process. Without
   * it, retire is refused.
   */
  retire?(why: string, reply: OutgoingMessage): void;
}

interface Job {
  fn: AgentFunction;
  deep: boolean;
  run(outcome: FunctionOutcome): void;
}

export class AgentCore {
  target: AgentTarget = 'none';
  state: AgentState = 'UNKNOWN';
  reason = 'agent started';
  private faulted = false;
  private failures = 0;
  private cycle = 0;
  private timer: NodeJS.Timeout | undefined;
  private watch: PidWatch = undefined;
  /** The type's own change watch while the target is online (ResourceType.watchChanges). */
  private changes: { close(): void } | undefined;
  private queue: Job[] = [];
  private running: { job: Job; abort: AbortController } | undefined;
  private stopping = false;
  /** Restarts in place seen here: an online asked for after this agent reported FAULTED. */
  private restarts = 0;
  private faultSeen = false;
  private lastProbe: AgentMetricsView['lastProbe'];
  private readonly log: Logger;
  /** The processes last reported to the coordinator, sorted (empty: none since the target changed). */
  private pidList: number[] = [];
  private leaseTimer: NodeJS.Timeout | undefined;
  private lapsing = false;

  constructor(private readonly deps: AgentCoreDeps) {
    this.log = loggerFor(deps, 'agent');
    if (deps.leaseLapsed) {
      this.leaseTimer = setInterval(() => this.checkLease(), deps.leaseCheckMs ?? 250);
      this.leaseTimer.unref();
    }
  }

  /** True while the resource may be running here by the coordinator's wish. */
  private mayRun(): boolean {
    return this.target === 'online' || this.state === 'ONLINE' || this.state === 'FAULTED' || this.running?.job.fn === 'online';
  }

  /** Self-fence: the serve deadline passed without renewal → clean now, whatever the coordinator does. */
  checkLease(): void {
    if (this.lapsing || this.stopping || !this.deps.leaseLapsed || !this.mayRun()) return;
    const why = this.deps.leaseLapsed();
    if (!why) return;
    this.lapsing = true;
    this.log.error(`${why}: cleaning the resource now (self-fence)`);
    this.setTarget('none');
    this.enqueue('clean', false, (o) => {
      this.lapsing = false;
      this.setTarget('offline');
      this.state = o.ok ? 'OFFLINE' : 'UNKNOWN';
      this.reason = `${why}: ${o.ok ? 'cleaned' : `clean failed: ${o.reason}`}`;
      this.report(STATE_EVENT, { fn: 'lapsed', state: this.state, target: this.target, reason: this.reason, ok: o.ok });
      try { this.deps.onLapsed?.(o.ok); } catch (err) { this.log.warn(`onLapsed: ${String(err)}`); }
    }, true);
  }

  private attr(name: 'MonitorInterval' | 'SecondLevelMonitor'): number {
    return numberAttr(this.deps.resource.attrs, name);
  }

  private get secondMs(): number { return this.deps.secondMs ?? 1000; }

  private get id(): string { return this.deps.resource.id; }

  /** What `pm2 show <app>` displays (read by the @pm2/io-style publisher about once a second). */
  metricsView(): AgentMetricsView {
    return { state: this.state, reason: this.reason, restarts: this.restarts, lastProbe: this.lastProbe, pids: this.pidList };
  }

  hello(): void {
    this.report(STATE_EVENT, { fn: 'hello', state: this.state, target: this.target, reason: this.reason });
  }

  /** Handle one command from the coordinator; the reply is sent when it completes. */
  handle(command: AgentCommand): void {
    if (this.stopping) {
      this.reply(command, { ok: false, reason: 'agent is stopping (PM2 stop or kill)', state: this.state });
      return;
    }
    switch (command.cmd) {
      case 'state':
        // The pids too: a coordinator that adopts this agent watches them for exits.
        this.reply(command, { ok: true, state: this.state, reason: this.reason, ...(this.pidList.length ? { pids: [...this.pidList] } : {}) });
        return;
      case 'exited':
        this.reply(command, { ok: true, state: this.state, reason: `noted: process ${command.pid} exited` });
        this.processExited(command.pid);
        return;
      case 'retire':
        this.retire(command);
        return;
      case 'monitor':
        // An operator's probe: reply its result, leave the loop's bookkeeping alone.
        this.enqueue('monitor', command.deep === true, (o) => this.reply(command, outcomeFields(o)), false);
        return;
      case 'target':
        if (command.target === 'online') {
          this.setTarget('online');
          this.enqueue('monitor', false, (o) => { this.onLoopMonitor(o); this.reply(command, outcomeFields(o)); }, false);
        } else {
          this.setTarget('offline');
          this.reply(command, { ok: true, state: this.state, reason: 'standby: nothing kept running' });
        }
        return;
      case 'online':
        if (this.faultSeen) { this.restarts += 1; this.faultSeen = false; }
        this.setTarget('none');
        this.enqueue('online', false, (o) => {
          if (o.ok) {
            this.setTarget('online');
            this.setState('ONLINE', o.reason);
            // First-level monitor at once: its pids arm the instant exit watch.
            this.enqueue('monitor', false, (m) => this.onLoopMonitor(m), false);
          } else {
            this.setState('FAULTED', `online failed: ${o.reason}`);
          }
          this.reply(command, outcomeFields(o));
        }, true);
        return;
      case 'offline':
      case 'clean':
        this.setTarget('none');
        this.enqueue(command.cmd, false, (o) => {
          this.setState(o.ok ? 'OFFLINE' : 'UNKNOWN', o.reason);
          this.setTarget('offline');
          this.reply(command, outcomeFields(o));
        }, true);
        return;
    }
  }

  /**
   * SIGINT/SIGTERM: PM2 stop or kill. Run offline (clean if it fails) and resolve; the caller
   * exits. Pending commands are answered as refused.
   */
  async shutdown(signal: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.setTarget('none');
    const pending = this.queue.splice(0);
    for (const job of pending) job.run({ fn: job.fn, ok: false, state: 'UNKNOWN', reason: `agent stopping on ${signal}`, durationMs: 0, cancelled: 'pre-empted' });
    this.running?.abort.abort();
    await this.idle();
    this.state = 'STOPPING';
    this.report(STATE_EVENT, { fn: 'shutdown', state: 'STOPPING', target: 'none', reason: `${signal}: taking the resource offline` });
    this.log.info(`${signal} received: running offline before exit`);
    let o = await runFunction(this.deps, 'offline');
    if (!o.ok) {
      this.log.warn(`offline failed (${o.reason}); running clean`);
      o = await runFunction(this.deps, 'clean');
    }
    this.state = o.ok ? 'OFFLINE' : 'UNKNOWN';
    this.reason = o.ok ? `stopped by ${signal}` : `stop on ${signal} failed: ${o.reason}`;
    this.report(STATE_EVENT, { fn: 'shutdown', state: this.state, target: 'none', reason: this.reason, ok: o.ok });
    this.log.info(o.ok ? 'offline done; exiting' : `clean failed too (${o.reason}); exiting anyway`);
  }

  /** The coordinator no longer needs this agent: answer, then let the app end (see the header). */
  private retire(command: Extract<AgentCommand, { cmd: 'retire' }>): void {
    const busy = this.target === 'online' ? 'it keeps its resource online' : this.running || this.queue.length ? `${this.running?.job.fn ?? this.queue[0]?.fn} is running` : undefined;
    if (busy || !this.deps.retire || this.lapsing) {
      this.reply(command, { ok: false, reason: `not retired: ${busy ?? (this.lapsing ? 'self-fence in progress' : 'this agent cannot retire')}` });
      return;
    }
    this.stopping = true;
    this.dispose();
    this.log.info(`retired: ${command.why || 'not needed on this node'}`);
    this.deps.retire(command.why, retiredReply(this.id, command.reqId, this.state, this.target));
  }

  /** Stop timers and the pid watch (tests, and the shutdown path). */
  dispose(): void {
    this.clearTimer();
    this.closeWatch();
    this.closeChanges();
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.leaseTimer = undefined;
  }

  // ── queue ──────────────────────────────────────────────────────────────────────────────

  private enqueue(fn: AgentFunction, deep: boolean, run: (o: FunctionOutcome) => void, preempt: boolean): void {
    if (preempt) {
      // A monitor must never delay an online/offline/clean: drop queued monitors, abort a running one.
      this.clearTimer();
      for (const job of this.queue.filter((j) => j.fn === 'monitor')) {
        job.run({ fn: 'monitor', ok: false, state: 'UNKNOWN', reason: `pre-empted by ${fn}`, durationMs: 0, cancelled: 'pre-empted' });
      }
      this.queue = this.queue.filter((j) => j.fn !== 'monitor');
      if (this.running?.job.fn === 'monitor') this.running.abort.abort();
    }
    this.queue.push({ fn, deep, run });
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    const job = this.queue.shift();
    if (!job) return;
    const abort = new AbortController();
    this.running = { job, abort };
    let outcome: FunctionOutcome;
    try {
      outcome = await runFunction(this.deps, job.fn, { deep: job.deep, outer: abort.signal });
    } finally {
      this.running = undefined;
    }
    if (!abort.signal.aborted) this.observed(outcome);
    try { job.run(outcome); } catch (err) { this.log.error(`internal error after ${job.fn}: ${String(err)}`); }
    void this.pump();
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => { if (!this.running) resolve(); else setTimeout(check, 10); };
      check();
    });
  }

  // ── target and loops ───────────────────────────────────────────────────────────────────

  private setTarget(target: AgentTarget): void {
    this.clearTimer();
    this.closeWatch();
    this.closeChanges();
    this.target = target;
    if (target !== 'online') this.pidList = [];
    this.failures = 0;
    this.cycle = 0;
    this.faulted = false;
    // A type whose state changes without a process exit (NIC: carrier) is checked at each change.
    if (target === 'online' && this.deps.type.watchChanges && !this.stopping) {
      try {
        this.changes = this.deps.type.watchChanges(this.deps.resource, () => this.monitorNow('a change was reported'), this.log);
      } catch (err) {
        this.log.warn(`cannot watch for changes: ${String(err)}`);
      }
    }
  }

  private closeChanges(): void {
    const c = this.changes;
    this.changes = undefined;
    c?.close();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private closeWatch(): void {
    const w = this.watch;
    this.watch = undefined;
    if (typeof w === 'function') w();
    else if (w && 'stop' in w) w.stop();
    else if (w && 'close' in w) w.close();
  }

  /**
   * The next cycle of the online loop. With presenceElsewhere, processes reported (under the
   * coordinator's exit watch), no failure being tolerated and no MonitorProgram, only deep cycles
   * are scheduled (none with SecondLevelMonitor 0): a first-level cycle would only find again what
   * the exit watch sees at once.
   */
  private scheduleOnline(): void {
    this.clearTimer();
    if (this.target !== 'online' || this.faulted || this.stopping) return;
    const every = this.attr('SecondLevelMonitor');
    const skipFirst = this.deps.presenceElsewhere === true && this.pidList.length > 0 && this.failures === 0 && monitorProgramOf(this.deps.resource.attrs) === undefined;
    if (skipFirst && every <= 0) return;
    // The next deep cycle's number when skipping, else the next cycle's.
    const next = skipFirst ? (Math.floor(this.cycle / every) + 1) * every : this.cycle + 1;
    const ms = this.attr('MonitorInterval') * this.secondMs * (next - this.cycle);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.running || this.queue.length) { this.scheduleOnline(); return; }
      this.cycle = next;
      const deep = this.deps.isDeepCycle(this.cycle, every);
      this.enqueue('monitor', deep, (o) => this.onLoopMonitor(o), false);
    }, ms);
  }

  /** A monitor of the online loop: the policy counts failures against ToleranceLimit; ONLINE arms the pid watch. */
  private onLoopMonitor(o: FunctionOutcome): void {
    if (this.target !== 'online' || this.faulted) return;
    const d = decide({ at: 'monitor', attrs: this.deps.resource.attrs, result: o, failures: this.failures });
    switch (d.do) {
      case 'ignore':
        // Whoever cut it short (an online/offline/clean, a stop) decides what happens next.
        return;
      case 'keep':
        if (this.failures > 0) this.log.info(`ONLINE again after ${this.failures} failed monitor(s)`);
        this.failures = 0;
        this.setState('ONLINE', o.reason, o);
        this.armWatch(o.pids);
        this.reportPids(o.pids);
        this.scheduleOnline();
        return;
      case 'wait':
        this.failures = d.failures;
        this.log.warn(d.why);
        this.scheduleOnline();
        return;
      case 'fault':
        this.failures += 1;
        this.faulted = true;
        this.closeWatch();
        this.log.error(`FAULTED: ${d.why}`);
        this.setState('FAULTED', d.why, o);
        return;
    }
  }

  private reportPids(pids: number[] | undefined): void {
    if (!pids || pids.length === 0) return;
    const sorted = [...pids].sort((a, b) => a - b);
    const key = sorted.join(',');
    if (key === this.pidList.join(',')) return;
    this.pidList = sorted;
    this.report(STATE_EVENT, { fn: 'pids', state: this.state, target: this.target, reason: `processes ${key}`, pids: [...pids] });
  }

  private armWatch(pids: number[] | undefined): void {
    this.closeWatch();
    if (!this.deps.watchPids || !pids || pids.length === 0) return;
    try {
      this.watch = this.deps.watchPids(pids, (pid) => this.processExited(pid));
    } catch (err) {
      this.log.warn(`cannot watch pids: ${String(err)}`);
    }
  }

  /** A process of the resource exited (own watch, or the coordinator's): monitor at once. */
  private processExited(pid: number): void {
    if (this.target !== 'online' || this.faulted) return;
    this.closeWatch();
    this.monitorNow(`process ${pid} exited`);
  }

  /** Confirm with a first-level monitor at once rather than at the next interval. */
  private monitorNow(why: string): void {
    if (this.target !== 'online' || this.faulted) return;
    this.log.info(`${why}: monitoring now`);
    if (!this.running && !this.queue.some((j) => j.fn === 'monitor')) {
      this.clearTimer();
      this.cycle += 1;
      this.enqueue('monitor', false, (m) => this.onLoopMonitor(m), false);
    }
  }

  // ── reports ────────────────────────────────────────────────────────────────────────────

  private observed(o: FunctionOutcome): void {
    const probe = pickProbe(o.checks);
    if (probe) this.lastProbe = { service: serviceOfCheck(probe.check), outcome: probe.outcome, phases: probe.phases ?? {} };
    if (!this.deps.observe) return;
    try {
      this.deps.observe({
        resource: this.id, pid: process.pid, fn: o.fn, durationMs: o.durationMs, ok: o.ok,
        ...(o.state ? { state: o.state } : {}), ...(o.timedOut ? { timedOut: true } : {}), ...(o.checks?.length ? { checks: o.checks } : {}),
      });
    } catch (err) {
      this.log.warn(`cannot report an observation: ${String(err)}`);
    }
  }

  private setState(state: AgentState, reason: string, o?: FunctionOutcome): void {
    const changed = state !== this.state;
    const old = this.state;
    this.state = state;
    this.reason = reason;
    if (state === 'FAULTED') this.faultSeen = true;
    if (!changed) return;
    this.log.info(`${old} → ${state} (${reason})`);
    this.report(STATE_EVENT, {
      fn: 'monitor', state, target: this.target, reason, recovery: o?.recovery, durationMs: o?.durationMs, checks: o?.checks,
      ...(o?.level ? { level: o.level } : {}), ...(o?.timedOut ? { timedOut: true } : {}),
    });
  }

  private reply(command: AgentCommand, fields: Partial<AgentReport>): void {
    this.report(RESULT_EVENT, { fn: command.cmd, reqId: command.reqId, target: this.target, reason: '', ...fields });
  }

  private report(type: OutgoingMessage['type'], fields: Omit<AgentReport, 'resource' | 'pid'>): void {
    const data: AgentReport = { resource: this.id, pid: process.pid, cycle: this.cycle, ...fields };
    if (data.state === undefined) data.state = this.state;
    if (data.target === undefined) data.target = this.target;
    try { this.deps.send({ type, data }); } catch (err) { this.log.warn(`cannot report to the coordinator: ${String(err)}`); }
  }
}

/** The check `pm2 show` displays: the first one that failed, else the first with phases. */
function pickProbe(checks: CheckReport[] | undefined): CheckReport | undefined {
  const timed = (checks ?? []).filter((c) => c.phases && Object.keys(c.phases).length > 0);
  return timed.find((c) => c.outcome !== 'ok') ?? timed[0];
}

function outcomeFields(o: FunctionOutcome): Partial<AgentReport> {
  return { ok: o.ok, state: o.state, reason: o.reason, recovery: o.recovery, durationMs: o.durationMs, checks: o.checks };
}
