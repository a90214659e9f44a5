/**
 * The one recovery policy: for a monitor or action result of a resource, what to do next. Pure
 * and synchronous — the callers gather the facts (a result, the restarts used, whether the lease
 * is being lost) and carry the decision out; nothing else decides. docs/architecture.md (walk 1)
 * tells the same story from the crash of a daemon to its failover.
 *
 * One closed union of decisions, named by what the caller does next:
 *   keep         — healthy: carry on as before;
 *   ignore       — no verdict (a cancelled run, a stale report): change nothing;
 *   wait         — failed, but within ToleranceLimit: monitor again before judging;
 *   fault        — it failed for good at this step: the next question is asked (the agent reports
 *                  FAULTED and the coordinator asks 'fault'; a restart's online asks 'restart-failed');
 *   hold         — the group is frozen: record the fault, act on it at unfreeze;
 *   restart-here — clean and online again on this node (`charge`: what it is counted against;
 *                  `recheckFirst`: monitor once more first, `pauseMs`: wait that long first);
 *   fail-over    — the group leaves this node (FAULTED here; `to`: where the cluster hands it);
 *   operator     — nothing more is tried automatically: a non-critical resource stays FAULTED
 *                  alone, a group that could not be stopped stays FAULTED here, a group with
 *                  nowhere to go waits for a node to come back or for `msgha clear`;
 *   stand-down   — the lease is being lost here: no restart, never FAULTED; the lease's offline
 *                  and the fence stop what remains, and the node stays eligible.
 * Each moment (`at`) can only lead to some of them, and decide() is typed accordingly, so a
 * caller's switch covers exactly what can happen to it.
 */
import type { Cancellation, RecoveryClass, ResourceState } from '../core/results';
import { boolAttr, numberAttr } from '../model/attributes';

type Attrs = Readonly<Record<string, unknown>>;

/**
 * What a restart here is counted against: the RestartLimit budget, or the OnlineRetryLimit of a
 * first online. Uncounted (no charge): the retry at once after a crash (QUICK_RETRY) and the one
 * restart within an adoption grace (adoptionGraceMs).
 */
export interface Charge { to: 'RestartLimit' | 'OnlineRetryLimit'; attempt: number; of: number }

export type Decision =
  | { do: 'keep'; why: string }
  | { do: 'ignore'; why: string }
  | { do: 'wait'; why: string; failures: number; of: number }
  | { do: 'fault'; why: string }
  | { do: 'hold'; why: string }
  | { do: 'restart-here'; why: string; charge?: Charge; recheckFirst?: true; pauseMs?: number }
  | { do: 'fail-over'; why: string; to?: string }
  | { do: 'operator'; why: string }
  | { do: 'stand-down'; why: string };

export type DecisionOf<D extends Decision['do']> = Extract<Decision, { do: D }>;

/** Agent: a monitor of the online loop ended. */
export interface MonitorEnded {
  at: 'monitor';
  attrs: Attrs;
  result: { state?: ResourceState; reason: string; cancelled?: Cancellation };
  /** Consecutive failed cycles before this one. */
  failures: number;
}

/** Coordinator: a resource reported FAULTED (or its agent app keeps crashing, or it is still down after an unfreeze). */
export interface ResourceFaulted {
  at: 'fault';
  attrs: Attrs;
  why: string;
  recovery: RecoveryClass | undefined;
  /** The resource is ONLINE in an ONLINE or PARTIAL group; else the report is stale. */
  running: boolean;
  /** The elector is fencing, or renewals failed until the lease was lost. */
  losingLease: boolean;
  frozen: boolean;
  /** A deep-check fault within the adoption grace of a coordinator restart (see adoptionGraceMs). */
  inAdoptionGrace: boolean;
  /** Restarts in place counted within ConfInterval. */
  restartsUsed: number;
}

/** Coordinator: the online of a restart in place failed; is it tried again at once? */
export interface RestartOnlineFailed {
  at: 'restart-online-failed';
  why: string;
  recovery: RecoveryClass | undefined;
  /** How long that online took. */
  elapsedMs: number;
  /** Since the first online of this restart began (the quick retries included). */
  sinceFirstMs: number;
  /** The lease is being lost here: no retry (the lease's offline follows). */
  losingLease: boolean;
}

/** Coordinator: the clean that begins a restart in place failed. */
export interface RestartCleanFailed { at: 'restart-failed'; step: 'clean'; attrs: Attrs; why: string }

/** Coordinator: the online of a restart in place failed for good (after any retry at once). */
export interface RestartOnlineGaveUp { at: 'restart-failed'; step: 'online'; attrs: Attrs; why: string; losingLease: boolean; restartsUsed: number }

export type RestartFailed = RestartCleanFailed | RestartOnlineGaveUp;

/** Coordinator: the first online of a resource (bringing its group up, not a restart) failed and was cleaned. */
export interface OnlineFailed {
  at: 'online-failed';
  attrs: Attrs;
  why: string;
  recovery: RecoveryClass | undefined;
  /** Onlines tried so far, this one included. */
  attempts: number;
  /** The clean after it succeeded. */
  cleaned: boolean;
  /** This node may still run the group (its online was not aborted). */
  mayRun: boolean;
}

/** Coordinator: nothing can be tried for this resource here (its agent app cannot be started). */
export interface CannotTry { at: 'cannot-try'; attrs: Attrs; why: string }

/** Coordinator: a critical resource is about to take the whole group down here. */
export interface GroupFault { at: 'group-fault'; losingLease: boolean }

/** Coordinator: resources of the group could not be stopped. */
export interface StopFailed { at: 'stop-failed'; losingLease: boolean }

/** Cluster: the group was marked FAULTED here; this node holds its lease or not. `target`: placement's choice. */
export interface GroupFaultedHere { at: 'handoff'; holding: boolean; target: { to: string | undefined; why: string } }

export type Situation =
  | MonitorEnded | ResourceFaulted | RestartOnlineFailed | RestartFailed | OnlineFailed | CannotTry | GroupFault | StopFailed | GroupFaultedHere;

/**
 * An online right after a crash that fails this fast (e.g. "already running", or "address already
 * in use": the crashed instance's last processes — children still serving a client — are still
 * exiting) is cleaned and tried again after a pause, as the same attempt, until `withinMs` have
 * passed since the first try. The chaos campaign met a Dovecot whose orphaned login processes
 * held the port for more than one pause.
 */
export const QUICK_RETRY = { withinMs: 3000, pauseMs: 300 } as const;

export function decide(s: MonitorEnded): DecisionOf<'ignore' | 'keep' | 'wait' | 'fault'>;
export function decide(s: ResourceFaulted): DecisionOf<'ignore' | 'stand-down' | 'hold' | 'restart-here' | 'fail-over' | 'operator'>;
export function decide(s: RestartOnlineFailed): DecisionOf<'restart-here' | 'fault'>;
export function decide(s: RestartCleanFailed): DecisionOf<'fail-over' | 'operator'>;
export function decide(s: RestartOnlineGaveUp): DecisionOf<'stand-down' | 'restart-here' | 'fail-over' | 'operator'>;
export function decide(s: OnlineFailed): DecisionOf<'restart-here' | 'fail-over' | 'operator'>;
export function decide(s: CannotTry): DecisionOf<'fail-over' | 'operator'>;
export function decide(s: GroupFault): DecisionOf<'stand-down' | 'fail-over'>;
export function decide(s: StopFailed): DecisionOf<'stand-down' | 'operator'>;
export function decide(s: GroupFaultedHere): DecisionOf<'ignore' | 'fail-over' | 'operator'>;
export function decide(s: Situation): Decision;
export function decide(s: Situation): Decision {
  switch (s.at) {
    case 'monitor': return afterMonitor(s);
    case 'fault': return afterFault(s);
    case 'restart-online-failed': return afterRestartOnline(s);
    case 'restart-failed': return afterRestartFailure(s);
    case 'online-failed': return afterOnlineFailure(s);
    case 'cannot-try': return giveUp(s.attrs, s.why);
    case 'group-fault':
      return s.losingLease ? { do: 'stand-down', why: 'lease being lost: not FAULTED' } : { do: 'fail-over', why: 'the group leaves this node' };
    case 'stop-failed':
      return s.losingLease
        ? { do: 'stand-down', why: 'the lease is lost here: the fence kills what remains; not FAULTED' }
        : { do: 'operator', why: 'FAULTED here until cleared' };
    case 'handoff': return handoff(s);
  }
}

/** ToleranceLimit: consecutive failed cycles (OFFLINE or UNKNOWN) allowed before FAULTED. */
function afterMonitor(s: MonitorEnded): DecisionOf<'ignore' | 'keep' | 'wait' | 'fault'> {
  const r = s.result;
  if (r.cancelled) return { do: 'ignore', why: `monitor ${r.cancelled}: no verdict` };
  if (r.state === 'ONLINE') return { do: 'keep', why: r.reason };
  const failures = s.failures + 1;
  const limit = numberAttr(s.attrs, 'ToleranceLimit');
  if (failures <= limit) return { do: 'wait', why: `monitor ${r.state ?? 'UNKNOWN'} (${r.reason}); tolerated ${failures}/${limit}`, failures, of: limit };
  return { do: 'fault', why: r.reason };
}

function afterFault(s: ResourceFaulted): DecisionOf<'ignore' | 'stand-down' | 'hold' | 'restart-here' | 'fail-over' | 'operator'> {
  if (!s.running) return { do: 'ignore', why: 'the resource is not running in a running group' };
  // Most likely the lease's own effect (e.g. the VIP's kernel lifetime ran out): the group stops
  // with the lease; restarting or FAULTED would only keep this node from taking it back later.
  if (s.losingLease) return { do: 'stand-down', why: 'lease lost: not restarted' };
  if (s.frozen) return { do: 'hold', why: 'group frozen: no automatic action' };
  // Restarting here cannot help: the configuration is wrong or this node cannot run it.
  if (s.recovery === 'configuration' || s.recovery === 'move') return giveUp(s.attrs, `${s.why} (recovery: ${s.recovery})`);
  // Probably the coordinator's restart itself (probes through a VIP that lapsed meanwhile and was
  // just put back): check once more, and restart once without using RestartLimit.
  if (s.inAdoptionGrace) {
    return { do: 'restart-here', why: 'restart in place (within the adoption grace: not counted against RestartLimit)', recheckFirst: true };
  }
  return restartOrGiveUp(s.attrs, s.why, s.restartsUsed);
}

function afterRestartOnline(s: RestartOnlineFailed): DecisionOf<'restart-here' | 'fault'> {
  if (s.losingLease || s.recovery === 'configuration' || s.elapsedMs >= QUICK_RETRY.withinMs || s.sinceFirstMs + QUICK_RETRY.pauseMs >= QUICK_RETRY.withinMs) return { do: 'fault', why: s.why };
  return { do: 'restart-here', why: `online right after the crash failed (${s.why}); cleaning and trying again`, pauseMs: QUICK_RETRY.pauseMs };
}

function afterRestartFailure(s: RestartFailed): DecisionOf<'stand-down' | 'restart-here' | 'fail-over' | 'operator'> {
  if (s.step === 'clean') return giveUp(s.attrs, `${s.why} (not restarted in place)`);
  // The lease went while restarting: its offline follows; no more budget spent here.
  if (s.losingLease) return { do: 'stand-down', why: 'lease being lost: not restarted again' };
  return restartOrGiveUp(s.attrs, s.why, s.restartsUsed);
}

/** RestartLimit within ConfInterval: restart here while the budget has room. */
function restartOrGiveUp(attrs: Attrs, why: string, used: number): DecisionOf<'restart-here' | 'fail-over' | 'operator'> {
  const limit = numberAttr(attrs, 'RestartLimit');
  if (used < limit) return { do: 'restart-here', why: `restart in place ${used + 1}/${limit}`, charge: { to: 'RestartLimit', attempt: used + 1, of: limit } };
  return giveUp(attrs, `${why}; RestartLimit ${limit} within ConfInterval ${numberAttr(attrs, 'ConfInterval')}s used up`);
}

/** OnlineRetryLimit: a failed first online is cleaned and tried again — not a configuration error, not once the node may no longer run the group. */
function afterOnlineFailure(s: OnlineFailed): DecisionOf<'restart-here' | 'fail-over' | 'operator'> {
  const retries = numberAttr(s.attrs, 'OnlineRetryLimit');
  if (s.attempts <= retries && s.recovery !== 'configuration' && s.mayRun && s.cleaned) {
    return { do: 'restart-here', why: `online, retry ${s.attempts}/${retries} (OnlineRetryLimit)`, charge: { to: 'OnlineRetryLimit', attempt: s.attempts, of: retries } };
  }
  return giveUp(s.attrs, s.attempts > 1 ? `${s.why} (${s.attempts} attempts, OnlineRetryLimit ${retries})` : s.why);
}

/** Critical: a critical resource takes its group elsewhere; a non-critical one faults alone. */
function giveUp(attrs: Attrs, why: string): DecisionOf<'fail-over' | 'operator'> {
  return boolAttr(attrs, 'Critical') ? { do: 'fail-over', why } : { do: 'operator', why };
}

/**
 * Where a group FAULTED here goes: to placement's target; with none, the lease is still given up
 * (a node that comes back may claim it) and the operator is told.
 */
function handoff(s: GroupFaultedHere): DecisionOf<'ignore' | 'fail-over' | 'operator'> {
  if (!s.holding) return { do: 'ignore', why: 'this node does not hold the lease: nothing to hand on' };
  if (s.target.to === undefined) return { do: 'operator', why: `${s.target.why}; the lease is released for any node that can take the group later` };
  return { do: 'fail-over', why: s.target.why, to: s.target.to };
}

/** Why 120 s: a deep-check period longer than that is rare; the grace must not outlive the adoption. */
const ADOPTION_GRACE_MAX_MS = 120_000;

/**
 * How long after a coordinator restart's adoption a deep-check failure is taken for an effect of
 * that restart (e.g. the VIP's lifetime lapsed before the first refresh): until the agent's
 * first deep check after the adoption has run — SecondLevelMonitor cycles (at least 1) of
 * MonitorInterval, plus one MonitorTimeout — at most ADOPTION_GRACE_MAX_MS.
 */
export function adoptionGraceMs(res: { attrs: Attrs }): number {
  const attrs = res.attrs;
  const every = Math.max(1, numberAttr(attrs, 'SecondLevelMonitor'));
  const ms = (numberAttr(attrs, 'MonitorInterval') * every + numberAttr(attrs, 'MonitorTimeout')) * 1000;
  return Math.min(ADOPTION_GRACE_MAX_MS, ms);
}
