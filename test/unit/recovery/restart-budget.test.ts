/**
 * RestartBudget: RestartLimit restarts within a sliding ConfInterval window; restartBudgetOf
 * reads both attributes through their declarations.
 */
import { describe, expect, it } from 'vitest';
import { RestartBudget, restartBudgetOf } from '../../../plugin/recovery/restart-budget';

describe('RestartBudget', () => {
  it('allows RestartLimit restarts within ConfInterval and forgets older ones', () => {
    let now = 0;
    const b = new RestartBudget(2, 1000, () => now);
    expect([b.take(), b.take(), b.take()]).toEqual([true, true, false]);
    now = 1001;
    expect(b.take()).toBe(true);
    expect(b.used()).toBe(1);
  });

  it('restartBudgetOf: the resource\'s RestartLimit and ConfInterval, else the declared defaults (3 within 600 s)', () => {
    expect(restartBudgetOf({ RestartLimit: 1, ConfInterval: 30 })).toMatchObject({ limit: 1, windowMs: 30_000 });
    expect(restartBudgetOf({})).toMatchObject({ limit: 3, windowMs: 600_000 });
    expect(restartBudgetOf({ RestartLimit: -1, ConfInterval: 'soon' })).toMatchObject({ limit: 3, windowMs: 600_000 });
  });
});
