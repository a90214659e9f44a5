import { describe, expect, it } from 'vitest';
import type io from '@pm2/io';
import { publishAgentMetrics, publishCoordinatorMetrics, type AgentMetricsView, type Pm2IoLike } from '../../../plugin/metrics/pm2-io';
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
  it('agent: state, restarts, last probe and its phases in ms; nothing shown before the first probe', () => {
    expect(fits).toBe(true);
    const f = fakeIo();
    let view: AgentMetricsView = { state: 'OFFLINE', restarts: 0 };
    publishAgentMetrics(f.api, () => view);
    expect(f.read()).toMatchObject({ state: 'OFFLINE', restarts: 0, 'last probe': undefined, 'probe total': undefined });
    expect(f.metrics.get('probe login')?.unit).toBe('ms');
    view = { state: 'ONLINE', restarts: 2, lastProbe: { service: 'imap', outcome: 'ok', phases: { connect: 0.0012, login: 0.0153, total: 0.02 } } };
    expect(f.read()).toMatchObject({ state: 'ONLINE', restarts: 2, 'last probe': 'imap ok', 'probe connect': 1.2, 'probe login': 15.3, 'probe total': 20, 'probe tls': undefined });
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
});
