// The fence's watchdog, with a regular file standing in for /dev/watchdog (softdog is not
// available here): every pet appends 'x', the magic close appends 'V'. Real fence processes
// (dist/plugin/fence/fence-main.js). What is asserted comes from the fence's own bookkeeping
// (status: pets, lastPetMono on the shared CLOCK_MONOTONIC) or from the file while the fence is
// stopped, so the outcome does not depend on how loaded the machine is. Needs `npm run build`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FenceClient } from '../../../plugin/fence/client';
import { monotonicMs } from '../../../plugin/lease/clock';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mh-wd-'));
const W = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started: number[] = [];
const size = (f: string): number => fs.statSync(f).size;
/** Alive and not a zombie (the fence is re-parented; its reaper may be slow). */
const alive = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch { return false; }
};

async function startFence(name: string, opts: { watchdog?: string; watchdogTimeoutMs?: number } = {}): Promise<FenceClient> {
  const f = new FenceClient({ runDir: path.join(root, name), node: `wd${process.pid}${name}`, ...opts });
  const r = await f.ensureRunning();
  if (r.pid) started.push(r.pid);
  expect(r).toMatchObject({ ok: true });
  return f;
}

afterAll(async () => {
  // A fence left running by a failed test: continue it, let it clean up (cgroups), then kill it.
  for (const pid of started) { try { process.kill(pid, 'SIGCONT'); process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
  await sleep(300);
  for (const pid of started) { if (alive(pid)) process.kill(pid, 'SIGKILL'); }
  fs.rmSync(root, { recursive: true, force: true });
});

describe('fence watchdog (a file standing in for the device)', () => {
  const dev = path.join(root, 'watchdog-a');
  fs.writeFileSync(dev, '');
  let fence: FenceClient;
  let pid: number;

  it('a running fence without a watchdog opens the configured one (coordinator restart with a new cluster file)', async () => {
    await startFence('a');
    const withWd = new FenceClient({ runDir: path.join(root, 'a'), node: `wd${process.pid}a`, watchdog: dev, watchdogTimeoutMs: W });
    const r = await withWd.ensureRunning();
    expect(r).toMatchObject({ ok: true, started: false });
    fence = withWd;
    pid = r.pid!;
    const st = await fence.status();
    expect(st.watchdog).toMatchObject({ device: dev, open: true, timeoutMs: W });
    expect(st.sched).toMatch(/^SCHED_(FIFO|OTHER)/);
  });

  it('pets it several times per W while nothing is armed', async () => {
    const before = (await fence.status()).watchdog!.pets;
    await sleep(1100);
    expect((await fence.status()).watchdog!.pets - before).toBeGreaterThanOrEqual(2);
    expect(fs.readFileSync(dev, 'utf8')).toMatch(/^x+$/);
  });

  it('a frozen fence pets nothing; after SIGCONT it pets again', async () => {
    process.kill(pid, 'SIGSTOP');
    try {
      await sleep(50);
      const frozen = size(dev);
      await sleep(700); // more than two pet periods (W/4)
      expect(size(dev)).toBe(frozen);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const after = size(dev);
    await sleep(700);
    expect(size(dev)).toBeGreaterThan(after);
  });

  it('armed and renewed: keeps petting; renewals stop: no pet within W of the deadline, then none ever (reset committed)', async () => {
    expect((await fence.arm('g', 1, 'n1', 1500)).ok).toBe(true);
    const p0 = (await fence.status()).watchdog!.pets;
    for (let i = 0; i < 6; i++) { await sleep(100); expect((await fence.renew('g', 1, 1500)).ok).toBe(true); }
    const st = await fence.status();
    const deadline = monotonicMs() + st.groups.find((g) => g.group === 'g')!.remainingMs!;
    expect(st.watchdog!.pets).toBeGreaterThan(p0);
    // No more renewals: the fence fires at the deadline.
    await sleep(Math.max(0, deadline - monotonicMs()) + 300);
    const fired = await fence.status();
    expect(fired.groups.find((g) => g.group === 'g')).toMatchObject({ armed: false, firedEpoch: 1 });
    expect(fired.watchdog!.lastPetMono!).toBeLessThanOrEqual(deadline - W + 5);
    expect(fired.watchdog!.stoppedFor).toMatch(/g epoch 1 fired \(deadline\)/);
    const pets = fired.watchdog!.pets;
    const bytes = size(dev);
    await sleep(600);
    expect((await fence.status()).watchdog!.pets).toBe(pets);
    expect(size(dev)).toBe(bytes);
  });

  it('an exit after a deadline fire keeps the reset (no magic close)', async () => {
    expect((await fence.shutdown()).ok).toBe(true);
    for (let i = 0; i < 50 && alive(pid); i++) await sleep(20);
    expect(alive(pid)).toBe(false);
    expect(fs.readFileSync(dev, 'utf8')).toMatch(/^x+$/);
  });

  it('a fence started with the watchdog writes the magic close on a clean shutdown', async () => {
    const devC = path.join(root, 'watchdog-c');
    fs.writeFileSync(devC, '');
    const c = await startFence('c', { watchdog: devC, watchdogTimeoutMs: W });
    const st = await c.status();
    expect(st.watchdog).toMatchObject({ device: devC, open: true });
    const cpid = (await c.running())!;
    expect((await c.arm('h', 1, 'n', 5000)).ok).toBe(true);
    await sleep(300);
    expect((await c.disarm('h', 1)).ok).toBe(true);
    expect((await c.shutdown()).ok).toBe(true);
    for (let i = 0; i < 50 && alive(cpid); i++) await sleep(20);
    expect(alive(cpid)).toBe(false);
    expect(fs.readFileSync(devC, 'utf8')).toMatch(/^x+V$/);
  });

  it('a fence started with a watchdog that cannot be opened is not ready (the coordinator does not contend); it refuses to arm', async () => {
    const b = new FenceClient({ runDir: path.join(root, 'b'), node: `wd${process.pid}b`, watchdog: path.join(root, 'no', 'such', 'watchdog'), watchdogTimeoutMs: W });
    const up = await b.ensureRunning();
    if (up.pid) started.push(up.pid);
    expect(up).toMatchObject({ ok: false, started: true });
    expect(up.reason).toMatch(/could not open watchdog .*no\/such\/watchdog .*ENOENT.*modprobe softdog/);
    expect((await b.status()).watchdog).toMatchObject({ open: false });
    const r = await b.arm('g', 1, 'n', 2000);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/watchdog .* is configured but not open \(cannot open .*ENOENT.*\): refusing to arm/);
    await b.shutdown(true);
  });
});
