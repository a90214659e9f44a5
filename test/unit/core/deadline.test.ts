// timeoutSignal must fire even when nothing but its own timer refers to the timeout: with
// AbortSignal.any([AbortSignal.timeout(ms), parent]) the timeout signal is held weakly and a
// garbage collection before it fires means the combined signal never aborts (nodejs/node#57736;
// a monitor once hung past MonitorTimeout this way). Run in a child with --expose-gc that
// collects every 2 ms: 200 of 200 signals must fire. Uses the compiled module (npm run build).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { timeoutSignal } from '../../../plugin/core/deadline';

const compiled = path.resolve(__dirname, '../../../dist/plugin/core/deadline.js');

describe('timeoutSignal', () => {
  it('fires at its deadline even under garbage collection (200/200)', () => {
    const script = `
      const { timeoutSignal } = require(${JSON.stringify(compiled)});
      let fired = 0;
      const keep = [];
      for (let i = 0; i < 200; i++) { const s = timeoutSignal(30, new AbortController().signal); s.addEventListener('abort', () => fired++); keep.push(s); }
      const gcTimer = setInterval(() => gc(), 2);
      setTimeout(() => { clearInterval(gcTimer); process.stdout.write(String(fired)); }, 400);`;
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('200');
  });

  it('fires when a parent fires, with its reason, and at once when a parent already has', () => {
    const parent = new AbortController();
    const s = timeoutSignal(60_000, parent.signal);
    expect(s.aborted).toBe(false);
    parent.abort('stop');
    expect(s.aborted).toBe(true);
    expect(s.reason).toBe('stop');
    expect(timeoutSignal(60_000, parent.signal).aborted).toBe(true);
  });

  it('fires with a TimeoutError after ms', async () => {
    const s = timeoutSignal(20);
    await new Promise((r) => s.addEventListener('abort', r, { once: true }));
    expect((s.reason as DOMException).name).toBe('TimeoutError');
  });
});
