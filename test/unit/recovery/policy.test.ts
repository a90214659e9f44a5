/**
 * The recovery policy as a table: each row is a situation (a monitor or action result and the
 * facts around it) and the one decision the policy must give for it.
 */
import { describe, expect, it } from 'vitest';
import { adoptionGraceMs, decide, type Decision, type Situation } from '../../../plugin/recovery/policy';

const monitor = (state: 'ONLINE' | 'OFFLINE' | 'UNKNOWN', failures: number, attrs: Record<string, unknown> = {}, extra: { reason?: string; cancelled?: 'pre-empted' | 'aborted' } = {}): Situation => ({
  at: 'monitor', attrs, failures, result: { state, reason: extra.reason ?? (state === 'ONLINE' ? 'up' : 'imapd gone'), ...(extra.cancelled ? { cancelled: extra.cancelled } : {}) },
});

const fault = (over: Partial<Extract<Situation, { at: 'fault' }>> = {}): Situation => ({
  at: 'fault', attrs: {}, why: 'imapd gone', recovery: 'restartable', running: true, losingLease: false, frozen: false,
  inAdoptionGrace: false, restartsUsed: 0, ...over,
});

const onlineFailed = (over: Partial<Extract<Situation, { at: 'online-failed' }>> = {}): Situation => ({
  at: 'online-failed', attrs: {}, why: 'exit 1', recovery: 'restartable', attempts: 1, cleaned: true, mayRun: true, ...over,
});

const restartOnline = (over: Partial<Extract<Situation, { at: 'restart-online-failed' }>> = {}): Situation => ({
  at: 'restart-online-failed', why: 'already running', recovery: 'restartable', elapsedMs: 100, sinceFirstMs: 100, losingLease: false, ...over,
});

const NON_CRITICAL = { Critical: false };
const USED_UP = (n: number) => `imapd gone; RestartLimit ${n} within ConfInterval 600s used up`;

const rows: Array<[string, Situation, Decision]> = [
  // ── ToleranceLimit (agent, online loop) ──────────────────────────────────────────────
  ['monitor ONLINE → keep', monitor('ONLINE', 2), { do: 'keep', why: 'up' }],
  ['monitor OFFLINE, ToleranceLimit default 0 → fault', monitor('OFFLINE', 0), { do: 'fault', why: 'imapd gone' }],
  ['monitor OFFLINE, 1st of ToleranceLimit 2 → wait 1/2', monitor('OFFLINE', 0, { ToleranceLimit: 2 }),
    { do: 'wait', why: 'monitor OFFLINE (imapd gone); tolerated 1/2', failures: 1, of: 2 }],
  ['monitor OFFLINE, 2nd of ToleranceLimit 2 → wait 2/2', monitor('OFFLINE', 1, { ToleranceLimit: 2 }),
    { do: 'wait', why: 'monitor OFFLINE (imapd gone); tolerated 2/2', failures: 2, of: 2 }],
  ['monitor OFFLINE, 3rd of ToleranceLimit 2 → fault', monitor('OFFLINE', 2, { ToleranceLimit: 2 }), { do: 'fault', why: 'imapd gone' }],
  ['monitor UNKNOWN counts as a failure', monitor('UNKNOWN', 0, { ToleranceLimit: 1 }),
    { do: 'wait', why: 'monitor UNKNOWN (imapd gone); tolerated 1/1', failures: 1, of: 1 }],
  ['ToleranceLimit not a number → declared default 0', monitor('OFFLINE', 0, { ToleranceLimit: 'many' }), { do: 'fault', why: 'imapd gone' }],
  ['monitor pre-empted → ignore (no verdict)', monitor('UNKNOWN', 0, {}, { cancelled: 'pre-empted', reason: 'pre-empted by online' }),
    { do: 'ignore', why: 'monitor pre-empted: no verdict' }],
  ['monitor aborted → ignore (no verdict)', monitor('UNKNOWN', 0, {}, { cancelled: 'aborted', reason: 'monitor cancelled: aborted' }),
    { do: 'ignore', why: 'monitor aborted: no verdict' }],
  ['a server reply saying "cancelled" is a failure like any other', monitor('OFFLINE', 0, {}, { reason: 'NO [UNAVAILABLE] cancelled by server' }),
    { do: 'fault', why: 'NO [UNAVAILABLE] cancelled by server' }],

  // ── a running resource faulted (coordinator) ─────────────────────────────────────────
  ['stale report (resource or group not running) → ignore', fault({ running: false, losingLease: true }),
    { do: 'ignore', why: 'the resource is not running in a running group' }],
  ['lease being lost → stand-down, before anything else', fault({ losingLease: true, frozen: true, recovery: 'configuration' }),
    { do: 'stand-down', why: 'lease lost: not restarted' }],
  ['frozen → hold', fault({ frozen: true }), { do: 'hold', why: 'group frozen: no automatic action' }],
  ['configuration error, critical → fail-over, no restart', fault({ recovery: 'configuration', restartsUsed: 0 }),
    { do: 'fail-over', why: 'imapd gone (recovery: configuration)' }],
  ['move, non-critical → operator, no restart', fault({ recovery: 'move', attrs: NON_CRITICAL }),
    { do: 'operator', why: 'imapd gone (recovery: move)' }],
  ['no recovery class → restartable', fault({ recovery: undefined, attrs: { RestartLimit: 1 } }),
    { do: 'restart-here', why: 'restart in place 1/1', charge: { to: 'RestartLimit', attempt: 1, of: 1 } }],
  ['restartable, RestartLimit 3, none used → restart here 1/3', fault({ attrs: { RestartLimit: 3 } }),
    { do: 'restart-here', why: 'restart in place 1/3', charge: { to: 'RestartLimit', attempt: 1, of: 3 } }],
  ['RestartLimit unset → declared default 3 (not 0)', fault({ restartsUsed: 2 }),
    { do: 'restart-here', why: 'restart in place 3/3', charge: { to: 'RestartLimit', attempt: 3, of: 3 } }],
  ['RestartLimit used up, critical → fail-over', fault({ restartsUsed: 3 }), { do: 'fail-over', why: USED_UP(3) }],
  ['RestartLimit used up, non-critical → operator', fault({ restartsUsed: 1, attrs: { ...NON_CRITICAL, RestartLimit: 1 } }), { do: 'operator', why: USED_UP(1) }],
  ['RestartLimit 0 → no restart at all', fault({ attrs: { RestartLimit: 0 } }), { do: 'fail-over', why: USED_UP(0) }],
  ['ConfInterval is named in the sentence', fault({ restartsUsed: 2, attrs: { RestartLimit: 2, ConfInterval: 60 } }),
    { do: 'fail-over', why: 'imapd gone; RestartLimit 2 within ConfInterval 60s used up' }],
  ['deep fault within the adoption grace → check again, then restart uncounted (even at RestartLimit 0)', fault({ inAdoptionGrace: true, attrs: { RestartLimit: 0 } }),
    { do: 'restart-here', why: 'restart in place (within the adoption grace: not counted against RestartLimit)', recheckFirst: true }],
  ['the recovery class comes before the adoption grace', fault({ inAdoptionGrace: true, recovery: 'configuration' }),
    { do: 'fail-over', why: 'imapd gone (recovery: configuration)' }],

  // ── the online of a restart in place failed: retry at once after a crash? ─────────────
  ['fails within 3 s → clean and try again after 300 ms', restartOnline(),
    { do: 'restart-here', why: 'online right after the crash failed (already running); cleaning and trying again', pauseMs: 300 }],
  ['tried again for 2.5 s already: once more', restartOnline({ sinceFirstMs: 2500 }),
    { do: 'restart-here', why: 'online right after the crash failed (already running); cleaning and trying again', pauseMs: 300 }],
  ['fails after 3 s → fault', restartOnline({ elapsedMs: 3000, sinceFirstMs: 3000 }), { do: 'fault', why: 'already running' }],
  ['3 s since the first try (with the pause) → fault', restartOnline({ sinceFirstMs: 2700 }), { do: 'fault', why: 'already running' }],
  ['the lease is being lost → fault, no retry (the lease\'s offline follows)', restartOnline({ losingLease: true }), { do: 'fault', why: 'already running' }],
  ['configuration error → fault, no retry', restartOnline({ recovery: 'configuration' }), { do: 'fault', why: 'already running' }],

  // ── a restart in place failed for good ───────────────────────────────────────────────
  ['its clean failed, critical → fail-over', { at: 'restart-failed', step: 'clean', attrs: {}, why: 'clean failed: EBUSY' },
    { do: 'fail-over', why: 'clean failed: EBUSY (not restarted in place)' }],
  ['its clean failed, non-critical → operator', { at: 'restart-failed', step: 'clean', attrs: NON_CRITICAL, why: 'clean failed: EBUSY' },
    { do: 'operator', why: 'clean failed: EBUSY (not restarted in place)' }],
  ['its online failed while the lease is being lost → stand-down, no more budget', { at: 'restart-failed', step: 'online', attrs: {}, why: 'x', losingLease: true, restartsUsed: 1 },
    { do: 'stand-down', why: 'lease being lost: not restarted again' }],
  ['its online failed, budget left → restart here again', { at: 'restart-failed', step: 'online', attrs: {}, why: 'x', losingLease: false, restartsUsed: 1 },
    { do: 'restart-here', why: 'restart in place 2/3', charge: { to: 'RestartLimit', attempt: 2, of: 3 } }],
  ['its online failed, budget used up → fail-over', { at: 'restart-failed', step: 'online', attrs: { RestartLimit: 1 }, why: 'online after restart failed: x', losingLease: false, restartsUsed: 1 },
    { do: 'fail-over', why: 'online after restart failed: x; RestartLimit 1 within ConfInterval 600s used up' }],

  // ── OnlineRetryLimit (first online) ──────────────────────────────────────────────────
  ['first online failed, OnlineRetryLimit default 1 → retry 1/1', onlineFailed(),
    { do: 'restart-here', why: 'online, retry 1/1 (OnlineRetryLimit)', charge: { to: 'OnlineRetryLimit', attempt: 1, of: 1 } }],
  ['second attempt failed, OnlineRetryLimit 1 → fail-over, attempts named', onlineFailed({ attempts: 2 }),
    { do: 'fail-over', why: 'exit 1 (2 attempts, OnlineRetryLimit 1)' }],
  ['OnlineRetryLimit 2 → a third attempt', onlineFailed({ attempts: 2, attrs: { OnlineRetryLimit: 2 } }),
    { do: 'restart-here', why: 'online, retry 2/2 (OnlineRetryLimit)', charge: { to: 'OnlineRetryLimit', attempt: 2, of: 2 } }],
  ['OnlineRetryLimit 0, non-critical → operator', onlineFailed({ attrs: { OnlineRetryLimit: 0, ...NON_CRITICAL } }), { do: 'operator', why: 'exit 1' }],
  ['configuration error → no retry', onlineFailed({ recovery: 'configuration' }), { do: 'fail-over', why: 'exit 1' }],
  ['the node may no longer run the group → no retry', onlineFailed({ mayRun: false }), { do: 'fail-over', why: 'exit 1' }],
  ['its clean failed → no retry', onlineFailed({ cleaned: false }), { do: 'fail-over', why: 'exit 1' }],

  // ── nothing can be tried, the group fault, a failed stop ─────────────────────────────
  ['agent app cannot be started, critical → fail-over', { at: 'cannot-try', attrs: {}, why: 'agent app could not be started' },
    { do: 'fail-over', why: 'agent app could not be started' }],
  ['agent app cannot be started, non-critical → operator', { at: 'cannot-try', attrs: NON_CRITICAL, why: 'agent app could not be started' },
    { do: 'operator', why: 'agent app could not be started' }],
  ['group fault on a holder whose renewals are current → fail-over', { at: 'group-fault', losingLease: false }, { do: 'fail-over', why: 'the group leaves this node' }],
  ['group fault while the lease is being lost → stand-down, never FAULTED', { at: 'group-fault', losingLease: true }, { do: 'stand-down', why: 'lease being lost: not FAULTED' }],
  ['stop failed → operator (FAULTED here)', { at: 'stop-failed', losingLease: false }, { do: 'operator', why: 'FAULTED here until cleared' }],
  ['stop failed while the lease is being lost → stand-down (the fence kills)', { at: 'stop-failed', losingLease: true },
    { do: 'stand-down', why: 'the lease is lost here: the fence kills what remains; not FAULTED' }],

  // ── cluster: where a group FAULTED here goes ─────────────────────────────────────────
  ['handoff with a target → fail-over to it', { at: 'handoff', holding: true, target: { to: 'n2', why: 'next node of systemList' } },
    { do: 'fail-over', why: 'next node of systemList', to: 'n2' }],
  ['handoff with nowhere to go → operator', { at: 'handoff', holding: true, target: { to: undefined, why: 'g has no other node in its systemList' } },
    { do: 'operator', why: 'g has no other node in its systemList; the lease is released for any node that can take the group later' }],
  ['handoff without the lease → ignore', { at: 'handoff', holding: false, target: { to: 'n2', why: 'x' } },
    { do: 'ignore', why: 'this node does not hold the lease: nothing to hand on' }],
];

describe('recovery policy', () => {
  it.each(rows)('%s', (_label, situation, decision) => {
    expect(decide(situation)).toEqual(decision);
  });

  it('adoption grace: one deep-check period from the declared defaults (10 s × 1 + 8 s)', () => {
    expect(adoptionGraceMs({ attrs: {} })).toBe(18_000);
    expect(adoptionGraceMs({ attrs: { MonitorInterval: 10, SecondLevelMonitor: 2, MonitorTimeout: 8 } })).toBe(28_000);
    expect(adoptionGraceMs({ attrs: { MonitorInterval: 60, SecondLevelMonitor: 5, MonitorTimeout: 8 } })).toBe(120_000);
  });
});
