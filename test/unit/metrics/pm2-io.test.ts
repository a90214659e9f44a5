import { describe, expect, it } from 'vitest';
import type io from '@pm2/io';
import { REASON_MAX, publishAgentMetrics, publishCoordinatorMetrics, type AgentMetricsView, type Pm2IoLike } from '../../../plugin/metrics/pm2-io';
import type { NodeSnapshot } from '../../../plugin/metrics/snapshot';

// The real @pm2/io object must fit the adapter's parameter type.
type RealIoFits = typeof io extends Pm2IoLike ? true : false;
const fits: RealIoFits = true;

function fakeIo() {
  const metrics = new Map<string, { unit?: string; value?: () => unknown }>();
  const api: Pm2IoLike = { metric: (o) => { metrics.set(o.name!, o); return {}; } };
  const read = () => Object.fromEntries([...metrics].map(([k, v]) => [k, v.value?.()]));
  return { api, read, metrics };
}

describe('@pm2/io adapters', () => {
  it('agent: state, restarts, last probe and its phases in ms; nothing shown before the first probe; one view per round', async () => {
    expect(fits).toBe(true);
    const f = fakeIo();
    let view: AgentMetricsView = { state: 'OFFLINE', restarts: 0 };
    publishAgentMetrics(f.api, () => view);
    expect(f.read()).toMatchObject({ state: 'OFFLINE', 'restarts in place': 0, 'last probe': undefined, 'probe total': undefined });
    expect(f.metrics.get('probe login')?.unit).toBe('ms');
    // The view is read once per round of metric reads (a turn of the event loop).
    await Promise.resolve();
    view = { state: 'ONLINE', restarts: 2, lastProbe: { service: 'imap', outcome: 'ok', phases: { connect: 0.0012, login: 0.0153, total: 0.02 } } };
    expect(f.read()).toMatchObject({ state: 'ONLINE', 'restarts in place': 2, 'last probe': 'imap ok', 'probe connect': 1.2, 'probe login': 15.3, 'probe total': 20, 'probe tls': undefined });
    // The component: its reason (one table row: cut), its daemons, their CPU and memory.
    await Promise.resolve();
    view = { state: 'FAULTED', reason: `imapd not running ${'x'.repeat(300)}`, restarts: 3, pids: [41, 42], usage: { cpuPercent: 1.5, memoryMb: 12.3 } };
    const shown = f.read();
    expect(shown).toMatchObject({ state: 'FAULTED', 'restarts in place': 3, daemons: '41 42', 'daemons cpu': 1.5, 'daemons memory': 12.3 });
    expect(String(shown.reason)).toMatch(/^imapd not running x+…$/);
    expect(String(shown.reason)).toHaveLength(REASON_MAX);
    expect(f.metrics.get('daemons memory')?.unit).toBe('MB');
  });

  it('coordinator: group state and lease per group; a throwing snapshot shows nothing', () => {
    const f = fakeIo();
    let fail = false;
    const snap: NodeSnapshot = { node: 'mx1', groups: [
      { group: 'mail', state: 'ONLINE', frozen: true, lease: { holder: 'mx1', holderIsMe: true, epoch: 4, remainingServeSeconds: 22.7 }, resources: [] },
      { group: 'dir', state: 'OFFLINE', frozen: false, lease: { holder: 'mx2', holderIsMe: false, epoch: 9, remainingServeSeconds: 0 }, resources: [] },
    ] };
    publishCoordinatorMetrics(f.api, () => { if (fail) throw new Error('x'); return snap; }, ['mail', 'dir']);
    expect(f.read()).toEqual({
      'groups online': 1, 'mail state': 'ONLINE, frozen', 'mail lease': 'held, epoch 4, 22 s left', 'dir state': 'OFFLINE', 'dir lease': 'mx2, epoch 9',
    });
    fail = true;
    expect(Object.values(f.read()).every((v) => v === undefined)).toBe(true);
  });

  it('coordinator, multi-node: who reaches each group through its VIP, and this node\'s links; hidden in one-node mode', () => {
    const f = fakeIo();
    const snap: NodeSnapshot = { node: 'mx1', groups: [
      { group: 'mail', state: 'ONLINE', frozen: false, resources: [],
        links: [{ resource: 'nic', device: 'eth0', up: true }],
        remoteProbes: [
          { service: 'imap', from: 'mx3', ok: false }, { service: 'smtp', from: 'mx3', ok: false },
          { service: 'imap', from: 'mx2', ok: true, phases: { total: 0.012 } }, { service: 'smtp', from: 'mx2', ok: true },
          { service: 'imap', from: 'mx4', ok: true }, { service: 'smtp', from: 'mx4', ok: false },
        ],
        unreachableFromNetwork: false },
      { group: 'dir', state: 'OFFLINE', frozen: false, resources: [],
        links: [{ resource: 'nic', device: 'eth0', up: false }, { resource: 'nic2', device: 'eth1', up: undefined }], remoteProbes: [] },
      { group: 'web', state: 'OFFLINE', frozen: false, resources: [] },
    ] };
    publishCoordinatorMetrics(f.api, () => snap, ['mail', 'dir', 'web']);
    expect(f.read()).toMatchObject({
      'mail reachable': 'mx2 yes, mx3 no, mx4 partly', 'dir reachable': '\u2014', 'web reachable': undefined,
      // eth0 is down for dir's link resource: DOWN wins; eth1 not checked yet.
      links: 'eth0 DOWN, eth1 ?',
    });
    snap.groups[0]!.unreachableFromNetwork = true;
    snap.groups[0]!.remoteProbes = snap.groups[0]!.remoteProbes!.map((r) => ({ ...r, ok: false }));
    snap.groups[1]!.links = [];
    expect(f.read()).toMatchObject({ 'mail reachable': 'mx2 no, mx3 no, mx4 no; UNREACHABLE from the network', links: 'eth0 up' });
    // No reason sentence ever: only names, yes/no/partly and fixed words.
    snap.groups = snap.groups.map((g) => ({ ...g, links: undefined, remoteProbes: undefined }));
    expect(f.read()).toMatchObject({ links: undefined, 'mail reachable': undefined });
  });
});
