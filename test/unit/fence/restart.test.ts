/**
 * A fence that died is started again, and only then (fence/client.ts gone / restartIfGone,
 * called by the coordinator's loop): against the real fence process (dist/, so build first).
 * SIGKILLed → gone → a new fence answers; a stopped (silent) fence is not gone — no second fence
 * beside it; a pid file naming another live process (a reused pid) or nothing is gone.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FenceClient } from '../../../plugin/fence/client';
import { pidPath } from '../../../plugin/fence/protocol';
import { createLogger } from '../../../plugin/core/log';

const WORK = `/tmp/mh-frs-${process.pid}`;
const runDir = path.join(WORK, 'run');
const fence = new FenceClient({ runDir, node: `frs${process.pid}`, timeoutMs: 500, log: createLogger('t', 'fence', 'ERROR', () => undefined) });
const started: number[] = [];
const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const r = await fence.ensureRunning();
  expect(r.ok, r.reason).toBe(true);
  started.push(r.pid!);
});

afterAll(async () => {
  for (const p of started) { try { process.kill(p, 'SIGCONT'); } catch { /* gone */ } }
  await fence.shutdown(true);
  fence.close();
  await sleep(100);
  for (const p of started) if (alive(p)) process.kill(p, 'SIGKILL');
  fs.rmSync(WORK, { recursive: true, force: true });
});

it('a running fence is not gone; a SIGKILLed one is, and restartIfGone starts a new one that answers', async () => {
  const first = started[0]!;
  expect(fence.gone()).toBe(false);
  expect(await fence.restartIfGone()).toEqual({ restarted: false, ok: true });
  process.kill(first, 'SIGKILL');
  for (let i = 0; i < 100 && alive(first); i++) await sleep(10);
  expect(fence.gone()).toBe(true);
  const r = await fence.restartIfGone();
  expect(r).toMatchObject({ restarted: true, ok: true });
  started.push(r.pid!);
  expect(r.pid).not.toBe(first);
  expect((await fence.status()).ok).toBe(true);
});

it('a stopped (silent) fence is not gone: no second fence is started beside it', async () => {
  const current = started.at(-1)!;
  process.kill(current, 'SIGSTOP');
  try {
    expect(fence.gone()).toBe(false);
    expect(await fence.restartIfGone()).toEqual({ restarted: false, ok: true });
    expect(Number(fs.readFileSync(pidPath(runDir), 'utf8'))).toBe(current);
  } finally { process.kill(current, 'SIGCONT'); }
});

it('a pid file naming another live process (a reused pid), or nothing at all, is gone', async () => {
  const saved = fs.readFileSync(pidPath(runDir), 'utf8');
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    fs.writeFileSync(pidPath(runDir), String(other.pid));
    expect(fence.gone()).toBe(true);
    fs.writeFileSync(pidPath(runDir), 'not a pid');
    expect(fence.gone()).toBe(true);
    fs.rmSync(pidPath(runDir));
    expect(fence.gone()).toBe(true);
  } finally {
    other.kill('SIGKILL');
    fs.writeFileSync(pidPath(runDir), saved);
  }
});
