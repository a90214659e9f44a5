/**
 * AgentCore's self-fencing (docs/lease.md, "The layers that stop a holder"): when the group's
 * serve deadline passes without renewal, the agent cleans its resource by itself and reports
 * 'lapsed'; it reports the resource's pids (for the fence) when they change.
 */
import { describe, expect, it } from 'vitest';
import type { ActionResult, MonitorResult } from '../../../plugin/core/results';
import type { ResourceType } from '../../../plugin/resource-types/contract';
import type { ResolvedResource } from '../../../plugin/model/cluster-types';
import { AgentCore } from '../../../plugin/agent/agent-core';
import type { OutgoingMessage } from '../../../plugin/pm2/protocol';

/** One second of MonitorInterval lasts 50 ms here: MonitorInterval 1 is a 50 ms loop. */
const SECOND_MS = 50;

const resource: ResolvedResource = {
  id: 'g.r', group: 'g', name: 'r', type: 'Fake', requires: [],
  attrs: { MonitorInterval: 1, OfflineMonitorInterval: 0, OnlineTimeout: 2, OfflineTimeout: 2, MonitorTimeout: 0.3, CleanTimeout: 2, ToleranceLimit: 0, SecondLevelMonitor: 0, ResLogLevel: 'ERROR' },
};

function setup() {
  const calls: string[] = [];
  let up = false;
  const type: ResourceType = {
    name: 'Fake',
    async online(): Promise<ActionResult> { calls.push('online'); up = true; return { ok: true, reason: 'started' }; },
    async offline(): Promise<ActionResult> { calls.push('offline'); up = false; return { ok: true, reason: 'stopped' }; },
    async clean(): Promise<ActionResult> { calls.push('clean'); up = false; return { ok: true, reason: 'cleaned' }; },
    async monitor(): Promise<MonitorResult> { return up ? { state: 'ONLINE', reason: 'up', pids: [4242, 4243] } : { state: 'OFFLINE', reason: 'down' }; },
  };
  const sent: OutgoingMessage[] = [];
  let lapsed: string | undefined;
  let onLapsed: boolean | undefined;
  const core = new AgentCore({
    resource, type, resolveSecret: async () => undefined, send: (m) => { sent.push(m); }, isDeepCycle: () => false, secondMs: SECOND_MS,
    leaseLapsed: () => lapsed, leaseCheckMs: 10, onLapsed: (ok) => { onLapsed = ok; },
  });
  const until = async (what: () => boolean, ms = 3000): Promise<void> => {
    const end = Date.now() + ms;
    while (!what()) { if (Date.now() > end) throw new Error('timeout'); await new Promise((r) => setTimeout(r, 5)); }
  };
  return { core, calls, sent, until, lapse: (why: string) => { lapsed = why; }, lapsedCalled: () => onLapsed };
}

describe('AgentCore layer 3 (serve deadline)', () => {
  it('reports pids once, then cleans by itself when the deadline lapses, and only once', async () => {
    const h = setup();
    h.core.handle({ cmd: 'online', reqId: 1 });
    await h.until(() => h.sent.some((m) => m.data.fn === 'pids'));
    const pids = h.sent.filter((m) => m.data.fn === 'pids');
    expect(pids[0]!.data.pids).toEqual([4242, 4243]);
    await new Promise((r) => setTimeout(r, 150));
    expect(h.sent.filter((m) => m.data.fn === 'pids')).toHaveLength(1);
    h.lapse('serve deadline of group g passed');
    await h.until(() => h.sent.some((m) => m.data.fn === 'lapsed'));
    const rep = h.sent.find((m) => m.data.fn === 'lapsed')!.data;
    expect(rep.state).toBe('OFFLINE');
    expect(rep.reason).toMatch(/serve deadline of group g passed: cleaned/);
    expect(h.lapsedCalled()).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(h.calls.filter((c) => c === 'clean')).toHaveLength(1);
    expect(h.core.target).toBe('offline');
    h.core.dispose();
  });

  it('does nothing while the resource is not meant to run here', async () => {
    const h = setup();
    h.lapse('serve deadline passed');
    h.core.handle({ cmd: 'target', reqId: 1, target: 'offline' });
    await new Promise((r) => setTimeout(r, 100));
    expect(h.calls).toEqual([]);
    h.core.dispose();
  });
});
