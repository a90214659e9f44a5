/**
 * runFunction marks a run its caller cut short as `cancelled: 'aborted'` (no verdict); a run that
 * fails on its own is never marked, whatever its reason says.
 */
import { describe, expect, it } from 'vitest';
import type { MonitorResult } from '../../../plugin/core/results';
import type { ResourceType } from '../../../plugin/resource-types/contract';
import type { ResolvedResource } from '../../../plugin/model/cluster-types';
import { runFunction } from '../../../plugin/resource-types/function-runner';

const resource: ResolvedResource = {
  id: 'g.r', group: 'g', name: 'r', type: 'Fake', requires: [], attrs: { MonitorTimeout: 5, ResLogLevel: 'ERROR' },
};

function fakeType(monitor: ResourceType['monitor']): ResourceType {
  const ok = async () => ({ ok: true, reason: 'fine' });
  return { name: 'Fake', online: ok, offline: ok, clean: ok, monitor };
}

const deps = (type: ResourceType) => ({ resource, type, resolveSecret: async () => undefined });

describe('runFunction cancellation', () => {
  it('a monitor aborted by its caller is cancelled: aborted', async () => {
    const type = fakeType((ctx) => new Promise<MonitorResult>((resolve) => ctx.signal.addEventListener('abort', () => resolve({ state: 'UNKNOWN', reason: 'aborted' }))));
    const outer = new AbortController();
    const run = runFunction(deps(type), 'monitor', { outer: outer.signal });
    setTimeout(() => outer.abort(), 20);
    const o = await run;
    expect(o).toMatchObject({ ok: false, state: 'UNKNOWN', cancelled: 'aborted' });
    expect(o.reason).toMatch(/^monitor cancelled: /);
  });

  it('a monitor that fails on its own with "cancelled" in its reason is not cancelled', async () => {
    const type = fakeType(async () => ({ state: 'OFFLINE', reason: 'NO [UNAVAILABLE] cancelled by server' }));
    const o = await runFunction(deps(type), 'monitor', { outer: new AbortController().signal });
    expect(o).toMatchObject({ ok: false, state: 'OFFLINE', reason: 'NO [UNAVAILABLE] cancelled by server' });
    expect(o.cancelled).toBeUndefined();
  });
});
