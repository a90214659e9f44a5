/**
 * AgentCore with a scriptable fake resource type: tolerance counting, instant pid-exit watch,
 * a hung monitor pre-empted by online, exactly one reply per command, shutdown runs offline.
 */
import { describe, expect, it } from 'vitest';
import type { ActionResult, MonitorResult } from '../../../plugin/core/results';
import type { ResourceType } from '../../../plugin/resource-types/contract';
import type { ResolvedResource } from '../../../plugin/model/cluster-types';
import { AgentCore, type AgentCoreDeps } from '../../../plugin/agent/agent-core';
import type { AgentReport, OutgoingMessage } from '../../../plugin/pm2/protocol';

/** One second of MonitorInterval lasts 50 ms here: MonitorInterval 1 is a 50 ms loop. */
const SECOND_MS = 50;

function resource(attrs: Record<string, unknown> = {}): ResolvedResource {
  return {
    id: 'g.r', group: 'g', name: 'r', type: 'Fake', requires: [],
    attrs: { MonitorInterval: 1, OfflineMonitorInterval: 0, OnlineTimeout: 2, OfflineTimeout: 2, MonitorTimeout: 0.3, CleanTimeout: 2, ToleranceLimit: 0, SecondLevelMonitor: 0, ResLogLevel: 'ERROR', ...attrs },
  };
}

interface Fake extends ResourceType { up: boolean; hang: boolean; calls: string[]; downReason: string }

function fakeType(): Fake {
  const t: Fake = {
    name: 'Fake', up: false, hang: false, calls: [], downReason: 'down',
    async online(): Promise<ActionResult> { t.calls.push('online'); t.up = true; return { ok: true, reason: 'started' }; },
    async offline(): Promise<ActionResult> { t.calls.push('offline'); t.up = false; return { ok: true, reason: 'stopped' }; },
    async clean(): Promise<ActionResult> { t.calls.push('clean'); t.up = false; return { ok: true, reason: 'cleaned' }; },
    monitor(ctx, o): Promise<MonitorResult> {
      t.calls.push(o.deep ? 'monitor:deep' : 'monitor');
      if (t.hang) {
        return new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve({ state: 'UNKNOWN', reason: 'aborted' })));
      }
      return Promise.resolve(t.up ? { state: 'ONLINE', reason: 'up', pids: [4242] } : { state: 'OFFLINE', reason: t.downReason, recovery: 'restartable' });
    },
  };
  return t;
}

function harness(attrs: Record<string, unknown> = {}, extra: Partial<AgentCoreDeps> = {}) {
  const type = fakeType();
  const sent: OutgoingMessage[] = [];
  let exitCb: ((pid: number) => void) | undefined;
  const core = new AgentCore({
    ...extra,
    resource: resource(attrs), type, resolveSecret: async () => undefined, secondMs: SECOND_MS,
    send: (m) => { sent.push(m); }, isDeepCycle: (c, n) => n > 0 && c % n === 0,
    watchPids: (_pids, onExit) => { exitCb = onExit; return { stop: () => { exitCb = undefined; } }; },
  });
  const results = (): AgentReport[] => sent.filter((m) => m.type === 'msgha:result').map((m) => m.data);
  const states = (): AgentReport[] => sent.filter((m) => m.type === 'msgha:state').map((m) => m.data);
  const until = async (what: () => boolean, ms = 3000): Promise<void> => {
    const end = Date.now() + ms;
    while (!what()) { if (Date.now() > end) throw new Error('timeout'); await new Promise((r) => setTimeout(r, 5)); }
  };
  return { type, core, sent, results, states, until, exit: (pid: number) => exitCb?.(pid) };
}

describe('AgentCore', () => {
  it('online → ONLINE, then a crash seen by the pid watch is FAULTED at once (ToleranceLimit 0)', async () => {
    const h = harness({ MonitorInterval: 1200 });
    h.core.handle({ cmd: 'online', reqId: 1 });
    await h.until(() => h.results().length === 1);
    expect(h.results()[0]).toMatchObject({ reqId: 1, ok: true, state: 'ONLINE' });
    await h.until(() => h.type.calls.filter((c) => c === 'monitor').length === 1);
    await new Promise((r) => setTimeout(r, 20));
    h.type.up = false;
    h.exit(4242);
    await h.until(() => h.states().some((s) => s.state === 'FAULTED'));
    // No further monitors after FAULTED: the coordinator decides.
    const n = h.type.calls.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(h.type.calls.length).toBe(n);
    h.core.dispose();
  });

  it('the coordinator\'s exit watch ("exited") has the same effect as its own; state replies carry the pids', async () => {
    const h = harness({ MonitorInterval: 1200 });
    h.core.handle({ cmd: 'online', reqId: 1 });
    await h.until(() => h.type.calls.filter((c) => c === 'monitor').length === 1);
    await h.until(() => h.states().some((s) => s.fn === 'pids'));
    h.core.handle({ cmd: 'state', reqId: 2 });
    await h.until(() => h.results().some((r) => r.reqId === 2));
    expect(h.results().find((r) => r.reqId === 2)?.pids).toEqual([4242]);
    h.type.up = false;
    h.core.handle({ cmd: 'exited', reqId: 3, pid: 4242 });
    await h.until(() => h.states().some((s) => s.state === 'FAULTED'));
    expect(h.results().find((r) => r.reqId === 3)).toMatchObject({ ok: true });
    h.core.dispose();
  });

  it('tolerates ToleranceLimit failed monitors before FAULTED', async () => {
    const h = harness({ ToleranceLimit: 2 });
    h.core.handle({ cmd: 'online', reqId: 1 });
    await h.until(() => h.results().length === 1);
    h.type.up = false;
    await h.until(() => h.states().some((s) => s.state === 'FAULTED'));
    const failed = h.type.calls.filter((c) => c === 'monitor').length;
    expect(failed).toBeGreaterThanOrEqual(3);
    h.core.dispose();
  });

  it('a failed monitor whose reason quotes a server saying "cancelled" still counts as a failure', async () => {
    const h = harness();
    h.type.downReason = 'NO [UNAVAILABLE] cancelled by server';
    h.core.handle({ cmd: 'online', reqId: 1 });
    await h.until(() => h.results().length === 1);
    h.type.up = false;
    await h.until(() => h.states().some((s) => s.state === 'FAULTED'));
    expect(h.states().find((s) => s.state === 'FAULTED')).toMatchObject({ reason: 'NO [UNAVAILABLE] cancelled by server' });
    h.core.dispose();
  });

  it('deep cycles follow SecondLevelMonitor', async () => {
    const h = harness({ SecondLevelMonitor: 2 });
    h.core.handle({ cmd: 'online', reqId: 1 });
    await h.until(() => h.type.calls.filter((c) => c.startsWith('monitor')).length >= 5);
    h.core.dispose();
    const loop = h.type.calls.filter((c) => c.startsWith('monitor')).slice(1, 5);
    expect(loop).toEqual(['monitor', 'monitor:deep', 'monitor', 'monitor:deep']);
  });

  it('a hung monitor is aborted by an offline, which is not delayed by it', async () => {
    const h = harness({ MonitorTimeout: 30 });
    h.core.handle({ cmd: 'online', reqId: 1 });
    await h.until(() => h.results().length === 1);
    h.type.hang = true;
    await h.until(() => h.type.calls.filter((c) => c === 'monitor').length >= 2);
    const t0 = Date.now();
    h.core.handle({ cmd: 'offline', reqId: 2 });
    await h.until(() => h.results().some((r) => r.reqId === 2));
    expect(Date.now() - t0).toBeLessThan(500);
    expect(h.results().find((r) => r.reqId === 2)).toMatchObject({ ok: true, target: 'offline' });
    h.core.dispose();
  });

  it('every command is answered exactly once; shutdown runs offline', async () => {
    const h = harness();
    for (const [i, cmd] of (['state', 'monitor', 'clean'] as const).entries()) h.core.handle({ cmd, reqId: 10 + i } as never);
    h.core.handle({ cmd: 'target', reqId: 13, target: 'offline' });
    await h.until(() => h.results().length === 4);
    expect(h.results().map((r) => r.reqId).sort()).toEqual([10, 11, 12, 13]);
    await h.core.shutdown('SIGINT');
    expect(h.type.calls).toContain('offline');
    expect(h.states().at(-1)).toMatchObject({ fn: 'shutdown', state: 'OFFLINE' });
    h.core.handle({ cmd: 'online', reqId: 20 });
    expect(h.results().find((r) => r.reqId === 20)).toMatchObject({ ok: false });
    h.core.dispose();
  });

  it('with the coordinator watching its processes, only deep cycles run — every cycle again while a failure is tolerated', async () => {
    const h = harness({ SecondLevelMonitor: 3, ToleranceLimit: 1 }, { presenceElsewhere: true });
    h.core.handle({ cmd: 'online', reqId: 1 });
    await h.until(() => h.type.calls.filter((c) => c === 'monitor:deep').length >= 3);
    // After the first-level check that follows the online, every cycle is a deep one.
    expect(h.type.calls.slice(0, 2)).toEqual(['online', 'monitor']);
    expect(h.type.calls.slice(2).every((c) => c === 'monitor:deep')).toBe(true);
    h.type.up = false;
    h.exit(4242);
    await h.until(() => h.states().some((s) => s.state === 'FAULTED'));
    // The exit was confirmed by a first-level monitor, the tolerated failure by the next cycle's.
    const after = h.type.calls.slice(h.type.calls.lastIndexOf('monitor:deep') + 1);
    expect(after).toEqual(['monitor', 'monitor']);
    h.core.dispose();
  });

  it('retire: refused while the resource is kept online; after an offline the reply goes out, then the app ends', async () => {
    const retired: Array<{ why: string; reply: OutgoingMessage }> = [];
    const h = harness({}, { retire: (why, reply) => { retired.push({ why, reply }); } });
    h.core.handle({ cmd: 'online', reqId: 1 });
    await h.until(() => h.results().some((r) => r.reqId === 1));
    h.core.handle({ cmd: 'retire', reqId: 2, why: 'not needed' });
    expect(h.results().find((r) => r.reqId === 2)).toMatchObject({ ok: false, reason: expect.stringMatching(/keeps its resource online/) });
    expect(retired).toEqual([]);
    h.core.handle({ cmd: 'offline', reqId: 3 });
    await h.until(() => h.results().some((r) => r.reqId === 3));
    h.core.handle({ cmd: 'retire', reqId: 4, why: 'group offline here' });
    expect(retired).toHaveLength(1);
    expect(retired[0]!.why).toBe('group offline here');
    expect(retired[0]!.reply.data).toMatchObject({ fn: 'retire', reqId: 4, ok: true });
    // Nothing more from a retired agent.
    h.core.handle({ cmd: 'state', reqId: 5 });
    expect(h.results().find((r) => r.reqId === 5)?.ok).toBe(false);
    h.core.dispose();
  });
});
