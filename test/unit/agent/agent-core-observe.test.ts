/**
 * AgentCore's observations and `pm2 show` view: one observation per function run to the end
 * (monitor loops included, pre-empted runs not), the last probe's phases, and restarts counted
 * as an online asked for after a FAULTED report; fault reports carry the deciding level.
 */
import { describe, expect, it } from 'vitest';
import type { ActionResult, MonitorResult } from '../../../plugin/core/results';
import type { ResourceType } from '../../../plugin/resource-types/contract';
import type { ResolvedResource } from '../../../plugin/model/cluster-types';
import { AgentCore } from '../../../plugin/agent/agent-core';
import type { AgentReport, Observation, OutgoingMessage } from '../../../plugin/pm2/protocol';

/** One second of MonitorInterval lasts 50 ms here: MonitorInterval 1 is a 50 ms loop. */
const SECOND_MS = 50;

function resource(attrs: Record<string, unknown> = {}): ResolvedResource {
  return {
    id: 'g.r', group: 'g', name: 'r', type: 'Fake', requires: [],
    attrs: { MonitorInterval: 1, OfflineMonitorInterval: 0, OnlineTimeout: 2, OfflineTimeout: 2, MonitorTimeout: 0.5, CleanTimeout: 2, ToleranceLimit: 0, SecondLevelMonitor: 1, ResLogLevel: 'ERROR', ...attrs },
  };
}

function harness() {
  const t = { up: false, hang: false };
  const type: ResourceType = {
    name: 'Fake',
    async online(): Promise<ActionResult> { t.up = true; return { ok: true, reason: 'started' }; },
    async offline(): Promise<ActionResult> { t.up = false; return { ok: true, reason: 'stopped' }; },
    async clean(): Promise<ActionResult> { t.up = false; return { ok: true, reason: 'cleaned' }; },
    monitor(ctx, o): Promise<MonitorResult> {
      if (t.hang) return new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve({ state: 'UNKNOWN', reason: 'aborted' })));
      if (!t.up) return Promise.resolve({ state: 'OFFLINE', reason: 'down', level: 'first', recovery: 'restartable' });
      return Promise.resolve({
        state: 'ONLINE', reason: 'up', level: o.deep ? 'second' : 'first', pids: [4242],
        checks: o.deep ? [
          { check: 'imap:143', outcome: 'ok', phases: { connect: 0.001, login: 0.004, total: 0.006 } },
          { check: 'imaps:993', outcome: 'ok', phases: { tls: 0.003, total: 0.009 }, details: { certExpirySeconds: 86400 } },
        ] : [],
      });
    },
  };
  const sent: OutgoingMessage[] = [];
  const observed: Observation[] = [];
  const core = new AgentCore({
    resource: resource(), type, resolveSecret: async () => undefined, send: (m) => { sent.push(m); }, secondMs: SECOND_MS,
    isDeepCycle: (c, n) => n > 0 && c % n === 0, observe: (o) => { observed.push(o); },
  });
  const until = async (what: () => boolean, ms = 3000): Promise<void> => {
    const end = Date.now() + ms;
    while (!what()) { if (Date.now() > end) throw new Error('timeout'); await new Promise((r) => setTimeout(r, 5)); }
  };
  const states = (): AgentReport[] => sent.filter((m) => m.type === 'msgha:state').map((m) => m.data);
  return { t, core, sent, observed, until, states };
}

describe('AgentCore observations', () => {
  it('observes every function run once, loop monitors included, with checks and their details', async () => {
    const h = harness();
    h.core.handle({ cmd: 'online', reqId: 1 });
    await h.until(() => h.observed.filter((o) => o.fn === 'monitor' && o.checks).length >= 2);
    const online = h.observed.filter((o) => o.fn === 'online');
    expect(online).toHaveLength(1);
    expect(online[0]).toMatchObject({ resource: 'g.r', ok: true });
    expect(online[0]!.durationMs).toBeGreaterThanOrEqual(0);
    const deep = h.observed.find((o) => o.checks)!;
    expect(deep.checks!.map((c) => c.check)).toEqual(['imap:143', 'imaps:993']);
    expect(deep.checks![1]!.details).toEqual({ certExpirySeconds: 86400 });
    const view = h.core.metricsView();
    expect(view).toMatchObject({ state: 'ONLINE', restarts: 0, lastProbe: { service: 'imap', outcome: 'ok' } });
    expect(view.lastProbe!.phases.login).toBe(0.004);
    h.core.dispose();
  });

  it('a monitor pre-empted by offline is not observed', async () => {
    const h = harness();
    h.core.handle({ cmd: 'online', reqId: 1 });
    await h.until(() => h.observed.some((o) => o.fn === 'monitor'));
    h.t.hang = true;
    await new Promise((r) => setTimeout(r, 120)); // a loop monitor is now hanging
    const before = h.observed.length;
    h.core.handle({ cmd: 'offline', reqId: 2 });
    await h.until(() => h.observed.some((o) => o.fn === 'offline'));
    expect(h.observed.slice(before).map((o) => o.fn)).toEqual(['offline']);
    h.core.dispose();
  });

  it('counts a restart when online follows a FAULTED report; the fault report names its level', async () => {
    const h = harness();
    h.core.handle({ cmd: 'online', reqId: 1 });
    await h.until(() => h.core.state === 'ONLINE');
    h.t.up = false;
    await h.until(() => h.states().some((s) => s.state === 'FAULTED'));
    expect(h.states().find((s) => s.state === 'FAULTED')).toMatchObject({ level: 'first' });
    h.core.handle({ cmd: 'clean', reqId: 2 });
    h.core.handle({ cmd: 'online', reqId: 3 });
    await h.until(() => h.core.state === 'ONLINE');
    expect(h.core.metricsView().restarts).toBe(1);
    h.core.handle({ cmd: 'online', reqId: 4 });
    await new Promise((r) => setTimeout(r, 50));
    expect(h.core.metricsView().restarts).toBe(1);
    h.core.dispose();
  });
});
