/** The probe frame: phases, classification, deadline, caller abort, releases always run. */
import { describe, expect, it } from 'vitest';
import { ProbeFailure, runProbe } from '../../../probes/transport/run-probe';

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('runProbe', () => {
  it('times sequential phases, accumulates a phase entered twice, returns the note', async () => {
    const r = await runProbe(1000, undefined, async (ctx) => {
      ctx.enter('connect'); await wait(10);
      ctx.enter('tls'); await wait(10);
      ctx.enter('connect'); await wait(10);
      ctx.details.x = 1;
      return 'fine';
    });
    expect(r.outcome).toBe('ok');
    expect(r.reason).toBe('fine');
    expect(r.phases.connect).toBeGreaterThanOrEqual(0.018);
    expect(r.phases.tls).toBeGreaterThanOrEqual(0.008);
    expect(r.phases.total).toBeGreaterThanOrEqual(0.028);
    expect(r.details).toEqual({ x: 1 });
  });

  it.each([
    ['ProbeFailure', new ProbeFailure('nope', { configurationError: true }), 'fail', true],
    ['plain error', new Error('boom'), 'fail', false],
    ['timeout code', Object.assign(new Error('slow'), { code: 'ETIMEDOUT' }), 'timeout', false],
  ] as const)('classifies a thrown %s', async (_name, err, outcome, conf) => {
    let released = false;
    const r = await runProbe(1000, undefined, async (ctx) => { ctx.defer(() => { released = true; }); ctx.enter('login'); throw err; });
    expect(r.outcome).toBe(outcome);
    expect(r.failedPhase).toBe('login');
    expect(!!r.configurationError).toBe(conf);
    expect(released).toBe(true);
  });

  it('blames the phase a ProbeFailure names', async () => {
    const r = await runProbe(1000, undefined, async (ctx) => { ctx.enter('login'); throw new ProbeFailure('bad greeting', { phase: 'greeting' }); });
    expect(r.failedPhase).toBe('greeting');
  });

  it('ends at the deadline with a timeout in the running phase, releasing everything', async () => {
    let released = 0;
    const t0 = performance.now();
    const r = await runProbe(100, undefined, async (ctx) => { ctx.defer(() => { released++; }); ctx.enter('greeting'); await new Promise(() => undefined); });
    expect(performance.now() - t0).toBeLessThan(150);
    expect(r).toMatchObject({ outcome: 'timeout', failedPhase: 'greeting' });
    expect(released).toBe(1);
  });

  it('a caller abort ends it at once as a timeout', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const r = await runProbe(5000, ac.signal, async (ctx) => { ctx.enter('command'); await new Promise(() => undefined); });
    expect(r.outcome).toBe('timeout');
    expect(r.reason).toMatch(/cancelled/);
    expect(r.phases.total).toBeLessThan(0.5);
  });
});
