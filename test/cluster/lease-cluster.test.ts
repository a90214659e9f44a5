// Real processes contending for one group on one shared directory (fast profile): elector +
// I/O helper + detached fence + tick service per node. The invariant — no tick of an epoch at
// or after the first tick of a newer one, one acquire per epoch — is checked from the machine's
// one CLOCK_MONOTONIC. Each test names the failure it tries; docs/lease.md ("What happens when
// something fails") says what the lease promises for each.
// Needs `npm run build`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { failoverBounds, fenceMs, PROFILES } from '../../plugin/lease/profiles';
import { LeaseCluster, mono, sleep } from './harness';

const T = PROFILES.fast.timings;
const L = T.leaseMs;
const F = fenceMs(T);
const CRASH_BOUND = failoverBounds(T).holderCrashMs;
/** Scheduling slack on a loaded 2-core machine (process start, service start, fs appends). */
const SLACK = 800;

let cluster: LeaseCluster | undefined;
let n = 0;
function fresh(bindViews = false): LeaseCluster {
  cluster = new LeaseCluster(fs.mkdtempSync(`/tmp/mh-lc${n++}-`), 'fast', bindViews);
  return cluster;
}

afterEach(async () => {
  await cluster?.cleanup();
  cluster = undefined;
});

async function startNodes(c: LeaseCluster, names: string[]): Promise<string> {
  for (const name of names) c.start(name);
  expect(await c.waitFor(() => c.acquires().length >= 1 && c.ticks().length > 0, 15_000)).toBe(true);
  return c.acquires()[0]!.node;
}

describe('lease on a shared directory, real processes', () => {
  it('three nodes: exactly one holder, no second acquire while it lives', async () => {
    const c = fresh();
    const holder = await startNodes(c, ['n1', 'n2', 'n3']);
    await sleep(2 * L);
    expect(c.acquires()).toHaveLength(1);
    expect(c.acquires()[0]!.node).toBe(holder);
    expect(new Set(c.ticks().map((k) => k.node))).toEqual(new Set([holder]));
    expect(c.violations()).toEqual([]);
  });

  it('holder crash (SIGKILL of every process of the node): takeover within 2P+L+T_io, no overlap', async () => {
    const c = fresh();
    const holder = await startNodes(c, ['n1', 'n2', 'n3']);
    await sleep(1000);
    const t0 = mono();
    c.crash(holder);
    expect(await c.waitFor(() => c.acquires().length === 2 && c.ticks().some((k) => k.epoch === 2), CRASH_BOUND + 3000)).toBe(true);
    const firstNew = c.ticks().find((k) => k.epoch === 2)!;
    const took = firstNew.t - t0;
    expect(took).toBeGreaterThan(L - 2 * T.pollMs - T.renewMs);
    expect(took).toBeLessThanOrEqual(CRASH_BOUND + SLACK);
    expect(c.violations()).toEqual([]);
  });

  it('holder agent SIGSTOPped for 2L: the fence kills the service at F, before the takeover; no restart after SIGCONT', async () => {
    const c = fresh();
    const holder = await startNodes(c, ['n1', 'n2']);
    await sleep(1000);
    process.kill(c.pid(holder), 'SIGSTOP');
    const stoppedAt = mono();
    expect(await c.waitFor(() => c.ticks().some((k) => k.epoch === 2), 2 * L + SLACK)).toBe(true);
    const fired = c.fenceLog(holder).find((e) => e.event === 'fired');
    expect(fired).toBeDefined();
    expect(fired!.lateMs as number).toBeLessThan(100);
    const lastOld = c.ticks().filter((k) => k.epoch === 1).at(-1)!;
    expect(lastOld.t - stoppedAt).toBeLessThanOrEqual(F + 100);
    await sleep(Math.max(0, stoppedAt + 2 * L - mono()));
    process.kill(c.pid(holder), 'SIGCONT');
    await sleep(L);
    expect(c.ticks().filter((k) => k.epoch === 1 && k.t > lastOld.t)).toEqual([]);
    expect(c.events(holder).some((e) => e.type === 'lost')).toBe(true);
    expect(c.violations()).toEqual([]);
    expect(c.gap(1)!).toBeGreaterThan(0);
  });

  it('storage hangs on the holder only (its I/O helper SIGSTOPped): it stops serving before anyone claims', async () => {
    const c = fresh();
    const holder = await startNodes(c, ['n1', 'n2']);
    await sleep(1000);
    const helper = c.helperPid(holder)!;
    expect(helper).toBeGreaterThan(0);
    const t0 = mono();
    process.kill(helper, 'SIGSTOP');
    expect(await c.waitFor(() => c.ticks().some((k) => k.epoch === 2), 2 * L + SLACK)).toBe(true);
    // The elector stops the service at FS; on a starved machine it can be late, and then the
    // fence kills at F. Either way the service is gone by F (+ kill latency), before any claim.
    expect(c.events(holder).some((e) => e.type === 'lost')).toBe(true);
    const lastOld = c.ticks().filter((k) => k.epoch === 1).at(-1)!;
    expect(lastOld.t - t0).toBeLessThanOrEqual(F + 100);
    try { process.kill(helper, 'SIGCONT'); } catch { /* killed and respawned by the store */ }
    await sleep(L);
    expect(c.acquires()).toHaveLength(2);
    expect(c.violations()).toEqual([]);
  });

  it('agent and I/O helper SIGKILLed, services left running: the fence kills them by F, takeover after L', async () => {
    const c = fresh();
    const holder = await startNodes(c, ['n1', 'n2']);
    await sleep(1000);
    const helper = c.helperPid(holder)!;
    const t0 = mono();
    process.kill(c.pid(holder), 'SIGKILL');
    process.kill(helper, 'SIGKILL');
    expect(await c.waitFor(() => c.ticks().some((k) => k.epoch === 2), CRASH_BOUND + SLACK)).toBe(true);
    const lastOld = c.ticks().filter((k) => k.epoch === 1).at(-1)!;
    expect(lastOld.t - t0).toBeLessThanOrEqual(F + 100);
    expect(c.fenceLog(holder).some((e) => e.event === 'fired')).toBe(true);
    expect(c.violations()).toEqual([]);
  });

  it('storage fails fast on the holder only (its view remounted read-only): fence and takeover, no overlap', async () => {
    const c = fresh(true);
    const holder = await startNodes(c, ['n1', 'n2']);
    await sleep(1000);
    const t0 = mono();
    c.readOnly(holder);
    expect(await c.waitFor(() => c.ticks().some((k) => k.epoch === 2), 2 * L + SLACK)).toBe(true);
    const lastOld = c.ticks().filter((k) => k.epoch === 1).at(-1)!;
    expect(lastOld.t - t0).toBeLessThanOrEqual(F + 100);
    expect(c.events(holder).some((e) => e.type === 'lost')).toBe(true);
    expect(c.violations()).toEqual([]);
  });

  it('storage hangs on a follower only: no holder change', async () => {
    const c = fresh();
    const holder = await startNodes(c, ['n1', 'n2']);
    const follower = holder === 'n1' ? 'n2' : 'n1';
    await sleep(500);
    const helper = c.helperPid(follower)!;
    process.kill(helper, 'SIGSTOP');
    await sleep(2 * L);
    try { process.kill(helper, 'SIGCONT'); } catch { /* respawned */ }
    await sleep(L);
    expect(c.acquires()).toHaveLength(1);
    expect(c.violations()).toEqual([]);
  });

  it('planned handover (admin move to a named node): the target holds E+1 fast, the others do not claim', async () => {
    const c = fresh();
    const holder = await startNodes(c, ['n1', 'n2', 'n3']);
    const target = ['n1', 'n2', 'n3'].find((x) => x !== holder)!;
    await sleep(500);
    const t0 = mono();
    fs.writeFileSync(path.join(c.shared, 'groups', 'g', 'admin.tmp'), JSON.stringify({ cmd: 'move', to: target, id: 'h1' }));
    fs.renameSync(path.join(c.shared, 'groups', 'g', 'admin.tmp'), path.join(c.shared, 'groups', 'g', 'admin'));
    expect(await c.waitFor(() => c.ticks().some((k) => k.epoch === 2), 5000)).toBe(true);
    const took = c.ticks().find((k) => k.epoch === 2)!.t - t0;
    expect(c.acquires()[1]!.node).toBe(target);
    expect(took).toBeLessThan(failoverBounds(T).plannedMs + SLACK);
    await sleep(L + 500);
    expect(c.acquires()).toHaveLength(2);
    expect(c.violations()).toEqual([]);
  });

  it('a node with a different profile refuses to join, naming both profiles', async () => {
    const c = fresh();
    await startNodes(c, ['n1']);
    const p = c.start('n9', { PROFILE: 'local' });
    const code = await new Promise<number | null>((r) => p.on('exit', (x) => r(x)));
    expect(code).toBe(3);
    const refused = c.events('n9').find((e) => e.type === 'refused')!;
    expect(String(refused.detail)).toMatch(/this node runs profile 'local'.*cluster runs profile 'fast'/);
  });
});
