/**
 * The book of one group: its state and its resources' states as the coordinator sees them, and
 * what is read from them (status, metrics snapshot, the processes handed to the fence and the
 * exit watch). Every change goes through setState()/setRes(), which log `old → new (reason)`.
 * The runner, its start/stop order and its fault handling all write here; none keeps a copy.
 */
import type { ResolvedGroup, ResolvedResource } from '../model/cluster-types';
import type { Logger } from '../core/log';
import { boolAttr } from '../model/attributes';
import type { AgentReport } from '../pm2/protocol';
import { SETTLE_GRACE_MS, timeoutSeconds, type AgentFunction } from '../resource-types/contract';
import type { GroupSnapshot, ResourceMetricState } from '../metrics/snapshot';
import { restartBudgetOf } from '../recovery/restart-budget';
import type { AgentPort } from './apps/app-registry';
import type { GroupEvents, GroupRunnerDeps, GroupState, GroupStatus, ResState, Runtime, Transition } from './group-types';

/** The metrics' resource states: RESTARTING counts as STARTING, STOPPED (through PM2) as OFFLINE. */
const METRIC_STATE: Record<ResState, ResourceMetricState> = {
  OFFLINE: 'OFFLINE', STARTING: 'STARTING', ONLINE: 'ONLINE', STOPPING: 'STOPPING', RESTARTING: 'STARTING',
  FAULTED: 'FAULTED', UNKNOWN: 'UNKNOWN', STOPPED: 'OFFLINE',
};

/** Extra time on top of a function's own timeout before the coordinator gives up waiting. */
const REPLY_SLACK_MS = SETTLE_GRACE_MS + 5000;

type Command = Parameters<AgentPort['request']>[1];

export class GroupBook {
  state: GroupState = 'OFFLINE';
  reason = 'not started';
  last?: Transition;
  /** The resources in online order (see group-order.ts). */
  readonly rt = new Map<string, Runtime>();
  readonly now: () => number;

  constructor(readonly group: ResolvedGroup, ordered: ResolvedResource[], private readonly deps: GroupRunnerDeps) {
    this.now = deps.now ?? Date.now;
    for (const res of ordered) {
      this.rt.set(res.id, {
        res, state: 'OFFLINE', reason: 'not started', restarts: 0, budget: restartBudgetOf(res.attrs, this.now),
        critical: boolAttr(res.attrs, 'Critical'), since: this.now(), pids: [],
      });
    }
  }

  get name(): string { return this.group.name; }

  get log(): Logger { return this.deps.log; }

  all(): Runtime[] { return [...this.rt.values()]; }

  byName(name: string): Runtime | undefined { return this.rt.get(`${this.name}.${name}`); }

  /** True while the group runs here (ONLINE or PARTIAL). */
  running(): boolean { return this.state === 'ONLINE' || this.state === 'PARTIAL'; }

  /** A command to a resource's agent, waiting as long as its function (or `waitAsFor`) may take. */
  ask(r: Runtime, command: Extract<Command, { cmd: AgentFunction }>): Promise<AgentReport>;
  ask(r: Runtime, command: Command, waitAsFor: AgentFunction): Promise<AgentReport>;
  ask(r: Runtime, command: Command, waitAsFor?: AgentFunction): Promise<AgentReport> {
    const fn = waitAsFor ?? (command.cmd as AgentFunction);
    // A queued monitor is aborted first, so it adds at most its settle grace.
    return this.deps.agents.request(r.res.id, command, timeoutSeconds(r.res, fn) * 1000 + REPLY_SLACK_MS);
  }

  /** After work in a running group: ONLINE when every resource is ONLINE, else PARTIAL. */
  settle(reason: string): void {
    if (this.state !== 'ONLINE' && this.state !== 'PARTIAL' && this.state !== 'STARTING') return;
    const all = this.all().every((r) => r.state === 'ONLINE');
    this.setState(all ? 'ONLINE' : 'PARTIAL', reason);
  }

  setState(next: GroupState, reason: string): void {
    const from = this.state;
    this.reason = reason;
    if (from === next) return;
    this.state = next;
    this.last = { at: new Date(this.now()).toISOString(), from, to: next, reason };
    (next === 'FAULTED' ? this.deps.log.error : this.deps.log.info)(`group ${this.name}: ${from} → ${next} (${reason})`);
    this.deps.onChange?.(this.name, from, next, reason);
  }

  setRes(r: Runtime, state: ResState, reason: string): void {
    if (r.state !== state) this.deps.log.info(`${r.res.id}: ${r.state} → ${state} (${reason})`);
    if (r.state !== state) r.since = this.now();
    if (state !== 'ONLINE' && state !== 'RESTARTING') { r.pids = []; this.unwatch(r); }
    r.state = state;
    r.reason = reason;
  }

  /** The processes an ONLINE resource's agent reported: to the fence, and under the exit watch. */
  notePids(r: Runtime, reported: number[]): void {
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

  emit(event: (e: GroupEvents) => void): void {
    if (!this.deps.events) return;
    try { event(this.deps.events); } catch (err) { this.deps.log.warn(`group ${this.name}: metrics event failed: ${String(err)}`); }
  }

  /** For the metrics, at every scrape: memory only, no formatting. */
  snapshot(frozen: boolean): GroupSnapshot {
    const resources: GroupSnapshot['resources'] = [];
    for (const r of this.rt.values()) {
      resources.push({ resource: r.res.name, type: r.res.type, state: METRIC_STATE[r.state], restarts: r.restarts });
    }
    return { group: this.name, state: this.state, frozen, resources };
  }

  status(frozen: boolean): GroupStatus {
    return {
      name: this.name, state: this.state, reason: this.reason, last: this.last, frozen,
      resources: this.all().map((r) => ({
        id: r.res.id, name: r.res.name, type: r.res.type, state: r.state, reason: r.reason, restarts: r.restarts,
        critical: r.critical, since: new Date(r.since).toISOString(), ...(r.violation ? { violation: r.violation } : {}),
      })),
    };
  }
}
