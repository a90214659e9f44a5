// The elector on a fake clock and fake store: every row of the failure table in docs/lease.md
// ("What happens when something fails", plus clock-rate error), with the invariant "never two
// nodes serving at one instant" checked in global time and "one acquire per epoch".
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeRecord, encodeRecord, RECORD_SIZE } from '../../../plugin/lease/record';
import { fenceMs, PROFILES } from '../../../plugin/lease/profiles';
import { silentAfterMs } from '../../../plugin/lease/elector';
import { expectSafe, Sim, startCluster, stopAll, type SimNode } from './sim';

const T = PROFILES.fast.timings;
const P = T.pollMs, L = T.leaseMs, F = fenceMs(T), FS = T.fenceStartMs, TIO = T.ioTimeoutMs;
const CRASH_BOUND = 2 * P + L + TIO;

const cluster = (names: string[], sim = new Sim()): Promise<{ sim: Sim; holder: SimNode }> => startCluster(sim, names);

const safe = expectSafe;

afterEach(() => { vi.restoreAllMocks(); });

interface Row {
  name: string;
  run(): Promise<void>;
}

/** Row 8 with a given fault: every node's storage fails for 3L, then recovers. */
function storageDownForAll(name: string, inject: (n: SimNode) => void, restore: (n: SimNode) => void): Row {
  return {
    name,
    async run() {
      const { sim, holder } = await cluster(['a', 'b', 'c']);
      await sim.run(500);
      for (const n of sim.nodes) inject(n);
      await sim.run(3 * L);
      expect(holder.holding()).toBe(false);
      expect(sim.acquires).toHaveLength(1);
      for (const n of sim.nodes) restore(n);
      const t = await sim.until(() => sim.holders().length === 1, 3 * CRASH_BOUND);
      expect(t).toBeGreaterThanOrEqual(0);
      await sim.run(2 * L);
      expect(sim.acquires).toHaveLength(2);
      safe(sim);
      await stopAll(sim);
    },
  };
}

const rows: Row[] = [
  {
    name: 'first start: exactly one node acquires epoch 1 at once (epoch.0 is RELEASED)',
    async run() {
      const { sim } = await cluster(['a', 'b', 'c']);
      expect(sim.acquires).toHaveLength(1);
      expect(sim.acquires[0]!.epoch).toBe(1);
      await sim.run(3 * L);
      expect(sim.acquires).toHaveLength(1);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'holder crash: claim after L + ≤2P (+T_io), no overlap',
    async run() {
      const { sim, holder } = await cluster(['a', 'b', 'c']);
      await sim.run(1000);
      holder.crash();
      const t = await sim.until(() => sim.holders().some((n) => n !== holder), 2 * CRASH_BOUND);
      expect(t).toBeGreaterThan(L - 2 * P);
      expect(t).toBeLessThanOrEqual(CRASH_BOUND);
      expect(sim.fenceKills.some((k) => k.node === holder.name)).toBe(true);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'agent crash, services alive, restarted agent with the fence still armed for its nonce resumes the epoch',
    async run() {
      const { sim, holder } = await cluster(['a', 'b']);
      await sim.run(500);
      const tenure = holder.elector.tenure()!;
      holder.crash();
      await sim.run(300);
      const again = sim.add(holder.name);
      const killRemainingMs = (holder.fenceAt! - sim.clock.now()) * again.clock.rate;
      again.start({ epoch: tenure.epoch, nonce: tenure.nonce, killRemainingMs });
      again.fenceAt = holder.fenceAt; holder.fenceAt = undefined; again.current = holder.current; holder.current = undefined;
      await sim.run(3 * L);
      expect(again.holding()).toBe(true);
      expect(again.elector.status().epoch).toBe(tenure.epoch);
      expect(sim.acquires.filter((a) => a.node !== holder.name)).toEqual([]);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'agent crash, restarted without a matching fence: starts as follower, takeover after L, no overlap',
    async run() {
      const { sim, holder } = await cluster(['a', 'b']);
      await sim.run(500);
      const tenure = holder.elector.tenure()!;
      holder.crash();
      await sim.run(200);
      const again = sim.add(holder.name);
      again.start({ epoch: tenure.epoch, nonce: 'not-the-nonce', killRemainingMs: 1500 });
      await sim.run(100);
      expect(again.holding()).toBe(false);
      await sim.until(() => sim.acquires.length === 2, 2 * CRASH_BOUND);
      expect(sim.acquires.at(-1)!.epoch).toBe(tenure.epoch + 1);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'holder agent paused (SIGSTOP) for 2L: fence kills at F, follower claims after L, the old holder fences on SIGCONT and never reclaims',
    async run() {
      const { sim, holder } = await cluster(['a', 'b']);
      await sim.run(1000);
      holder.pause();
      const other = sim.nodes.find((n) => n !== holder)!;
      await sim.run(2 * L);
      expect(other.holding()).toBe(true);
      const kill = sim.fenceKills.find((k) => k.node === holder.name)!;
      const acq = sim.acquires.find((a) => a.node === other.name)!;
      expect(kill.at).toBeLessThan(acq.at);
      holder.resume();
      await sim.run(3 * L);
      expect(holder.lost.length).toBe(1);
      expect(holder.holding()).toBe(false);
      expect(sim.acquires.filter((a) => a.node === holder.name)).toHaveLength(1);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'whole node frozen > L (fence frozen too): on thaw the old holder stops at once — the documented limit (docs/lease.md, After a thaw: overlap until thaw)',
    async run() {
      const { sim, holder } = await cluster(['a', 'b']);
      await sim.run(1000);
      holder.pause(true);
      await sim.run(2 * L);
      const thaw = sim.clock.now();
      holder.resume();
      await sim.run(50);
      const old = sim.intervals.find((i) => i.node === holder.name)!;
      expect(old.end).toBe(thaw); // killed at thaw, never later
      expect(sim.overlaps().length).toBe(1); // only storage-side fencing or the guard close this (docs/lease.md, After a thaw)
      expect(sim.doubleAcquires()).toEqual([]);
      await stopAll(sim);
    },
  },
  {
    name: 'storage hangs on the holder only: fence start by FS, takeover after L, late writes harmless',
    async run() {
      const { sim, holder } = await cluster(['a', 'b', 'c']);
      await sim.run(1000);
      const hangAt = sim.clock.now();
      holder.view.faults.hang = true;
      await sim.run(2 * L);
      expect(holder.lost[0]!.reason).toBe('renew-deadline');
      expect(holder.lost[0]!.at - hangAt).toBeLessThanOrEqual(FS + 10);
      expect(sim.holders().filter((n) => n !== holder)).toHaveLength(1);
      holder.view.unhang(); // late renewals land in the dead epoch
      await sim.run(3 * L);
      expect(sim.holders()).toHaveLength(1);
      expect(sim.acquires).toHaveLength(2);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'storage hangs on a contender only: no holder change',
    async run() {
      const { sim, holder } = await cluster(['a', 'b', 'c']);
      const f = sim.nodes.find((n) => n !== holder)!;
      f.view.faults.hang = true;
      await sim.run(4 * L);
      f.view.unhang();
      await sim.run(2 * L);
      expect(sim.acquires).toHaveLength(1);
      expect(holder.holding()).toBe(true);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'storage fails fast (EROFS) on the holder only: fence and takeover, no overlap',
    async run() {
      const { sim, holder } = await cluster(['a', 'b']);
      await sim.run(500);
      holder.view.faults.fail = 'EROFS';
      await sim.run(2 * L);
      expect(holder.holding()).toBe(false);
      expect(sim.acquires).toHaveLength(2);
      safe(sim);
      await stopAll(sim);
    },
  },
  storageDownForAll(
    'storage down for all for 3L: the holder fences, nobody claims during the outage, exactly one claim after',
    (n) => { n.view.faults.hang = true; }, (n) => n.view.unhang(),
  ),
  storageDownForAll(
    'storage read-only (EROFS) for all for 3L: failed claims leave no epoch behind, exactly one claim after',
    (n) => { n.view.faults.failWrites = 'EROFS'; }, (n) => { n.view.faults = {}; },
  ),
  {
    name: 'corrupt record over a live holder ×5: garbage is ignored, the next renewal is life again, no takeover',
    async run() {
      const { sim, holder } = await cluster(['a', 'b']);
      for (let i = 0; i < 5; i++) {
        const junk = Buffer.alloc(RECORD_SIZE);
        for (let j = 0; j < RECORD_SIZE; j++) junk[j] = (j * 31 + i * 7) & 0xff;
        sim.dir.poke('g', 1, junk);
        await sim.run(L / 2);
      }
      expect(holder.holding()).toBe(true);
      expect(sim.acquires).toHaveLength(1);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'crash, then bytes 100–300 flipped: unchanged garbage is dead after L',
    async run() {
      const { sim, holder } = await cluster(['a', 'b']);
      await sim.run(300);
      holder.crash();
      const cur = Buffer.from(sim.dir.groupMap('g').get(1)!);
      for (let j = 100; j < 300; j++) cur[j] = cur[j]! ^ 0xff;
      sim.dir.poke('g', 1, cur);
      expect(decodeRecord(cur, 1, { key: sim.key(), group: 'g' }).kind).toBe('invalid');
      const t = await sim.until(() => sim.holders().some((n) => n !== holder), 2 * CRASH_BOUND);
      expect(t).toBeGreaterThan(L - 2 * P);
      expect(t).toBeLessThanOrEqual(CRASH_BOUND);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'crash, then record truncated to 100 B: takeover after L',
    async run() {
      const { sim, holder } = await cluster(['a', 'b']);
      await sim.run(300);
      holder.crash();
      sim.dir.poke('g', 1, sim.dir.groupMap('g').get(1)!.subarray(0, 100));
      const t = await sim.until(() => sim.holders().some((n) => n !== holder), 2 * CRASH_BOUND);
      expect(t).toBeLessThanOrEqual(CRASH_BOUND);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: '8 racing contenders, holder killed 5 times: one acquire per epoch, no overlap',
    async run() {
      const sim = new Sim();
      const { holder } = await cluster(['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8'], sim);
      let h = holder;
      for (let k = 0; k < 5; k++) {
        await sim.run(300);
        h.crash();
        const t = await sim.until(() => sim.holders().some((n) => n !== h && !n.clock.paused), 2 * CRASH_BOUND);
        expect(t).toBeGreaterThanOrEqual(0);
        h = sim.holders().find((n) => !n.clock.paused)!;
      }
      expect(sim.acquires.map((a) => a.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'wall-clock jump (+365 d, running 2×) on every node: no behaviour change',
    async run() {
      const real = Date.now.bind(Date);
      const start = real();
      vi.spyOn(Date, 'now').mockImplementation(() => start + 365 * 86_400_000 + (real() - start) * 2);
      const { sim, holder } = await cluster(['a', 'b']);
      await sim.run(1000);
      holder.crash();
      const t = await sim.until(() => sim.holders().some((n) => n !== holder), 2 * CRASH_BOUND);
      expect(t).toBeGreaterThan(L - 2 * P);
      expect(t).toBeLessThanOrEqual(CRASH_BOUND);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'monotonic clocks with unrelated origins (+1e8 ms, −5e5 ms): no behaviour change',
    async run() {
      const sim = new Sim();
      sim.add('a', { offset: 1e8 });
      sim.add('b', { offset: -5e5 });
      const { holder } = await cluster([], sim);
      await sim.run(1000);
      holder.crash();
      const t = await sim.until(() => sim.holders().some((n) => n !== holder), 2 * CRASH_BOUND);
      expect(t).toBeLessThanOrEqual(CRASH_BOUND);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'node rejoins with a stale view: follows the newest epoch, never claims an existing one',
    async run() {
      const { sim, holder } = await cluster(['a', 'b']);
      for (let k = 0; k < 3; k++) { // epochs move on: 2, 3, 4 (release to the other node)
        const h = sim.holders()[0]!;
        const other = sim.nodes.find((n) => n !== h)!;
        await h.elector.release(other.name);
        await sim.until(() => other.holding(), 2000);
      }
      expect(holder).toBeDefined();
      const late = sim.add('late');
      late.start();
      await sim.run(3 * L);
      expect(late.holding()).toBe(false);
      expect(late.elector.status().epoch).toBe(4);
      expect(sim.acquires.map((a) => a.epoch)).toEqual([1, 2, 3, 4]);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'manual switch (admin move to c): c holds E+1 at once, the others do not claim',
    async run() {
      const { sim, holder } = await cluster(['a', 'b', 'c']);
      const target = sim.nodes.find((n) => n !== holder && n.name === 'c') ?? sim.nodes.find((n) => n !== holder)!;
      const bystander = sim.nodes.find((n) => n !== holder && n !== target)!;
      await sim.run(300);
      await bystander.admin({ cmd: 'move', to: target.name, epoch: bystander.elector.status().epoch! });
      const t = await sim.until(() => target.holding(), 3000);
      expect(t).toBeGreaterThanOrEqual(0);
      expect(t).toBeLessThanOrEqual(5 * T.renewMs + 2 * TIO + P + 100);
      expect(holder.lost[0]!.reason).toBe('released');
      await sim.run(2 * L);
      expect(sim.acquires.map((a) => a.node)).toEqual([holder.name, target.name]);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'handover to a target that dies right after RELEASED: another node claims after L',
    async run() {
      const { sim, holder } = await cluster(['a', 'b', 'c']);
      const target = sim.nodes.find((n) => n !== holder)!;
      target.crash();
      const res = await holder.elector.release(target.name);
      expect(res.ok).toBe(true);
      const t0 = sim.clock.now();
      await sim.until(() => sim.holders().length === 1, 2 * CRASH_BOUND);
      const next = sim.acquires[1]!;
      expect(next.node).not.toBe(target.name);
      expect(next.at - t0).toBeGreaterThanOrEqual(L - P);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'freeze: holder crash while frozen → no claim in 3L; claim within L+2P+T_io after unfreeze',
    async run() {
      const { sim, holder } = await cluster(['a', 'b']);
      const other = sim.nodes.find((n) => n !== holder)!;
      expect((await other.admin({ cmd: 'freeze' })).ok).toBe(true);
      await sim.run(500);
      expect(holder.holding()).toBe(true); // the holder keeps renewing while frozen
      holder.crash();
      await sim.run(3 * L);
      expect(sim.acquires).toHaveLength(1);
      expect(other.elector.status().frozen).toBe(true);
      await other.admin({ cmd: 'none' });
      const t = await sim.until(() => other.holding(), 2 * CRASH_BOUND);
      expect(t).toBeGreaterThanOrEqual(0);
      expect(t).toBeLessThanOrEqual(L + 2 * P + TIO);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'clock rate error ±ρ (slow holder 0.9, fast follower 1.1), holder agent paused: no overlap',
    async run() {
      const sim = new Sim();
      const a = sim.add('a', { rate: 1 - T.rho });
      await cluster(['a'], sim);
      const b = sim.add('b', { rate: 1 + T.rho });
      b.start();
      await sim.run(1000);
      a.pause();
      await sim.until(() => b.holding(), 3 * CRASH_BOUND);
      expect(b.holding()).toBe(true);
      safe(sim);
      a.resume();
      await stopAll(sim);
    },
  },
  {
    name: 'clock rate error 3ρ (0.7 vs 1.3) breaks T3: overlap — proves the check bites',
    async run() {
      const sim = new Sim();
      const a = sim.add('a', { rate: 1 - 3 * T.rho });
      await cluster(['a'], sim);
      const b = sim.add('b', { rate: 1 + 3 * T.rho });
      b.start();
      await sim.run(1000);
      a.pause();
      await sim.until(() => b.holding(), 3 * CRASH_BOUND);
      expect(sim.overlaps().length).toBeGreaterThan(0);
      a.resume();
      await stopAll(sim);
    },
  },
  {
    name: 'superseded holder (epoch E+1 appears): fences at its next check',
    async run() {
      const { sim, holder } = await cluster(['a', 'b']);
      const e = holder.elector.status().epoch!;
      const ctx = { key: sim.key(), group: 'g' };
      const rec = decodeRecord(sim.dir.groupMap('g').get(e)!, e, ctx);
      if (rec.kind !== 'valid') throw new Error('record');
      const other = sim.nodes.find((n) => n !== holder)!.name;
      sim.dir.poke('g', e + 1, encodeRecord({ ...rec.record, epoch: e + 1, holder: other, nonce: 'x' }, ctx));
      await sim.run(6 * T.renewMs + 50);
      expect(holder.lost[0]?.reason).toBe('superseded');
      expect(holder.holding()).toBe(false);
      await stopAll(sim);
    },
  },
  {
    name: 'slow stop during a planned release: renewals continue, so the release never overruns FS',
    async run() {
      const { sim, holder } = await cluster(['a', 'b']);
      holder.stopDelayMs = 3 * FS;
      const other = sim.nodes.find((n) => n !== holder)!;
      const done = holder.elector.release(other.name);
      await sim.run(3 * FS + 500);
      expect((await done).ok).toBe(true);
      expect(holder.lost.map((l) => l.reason)).toEqual(['released']);
      await sim.until(() => other.holding(), 1000);
      expect(other.holding()).toBe(true);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'placement delay: the node ranked first claims a fresh group even when it starts last',
    async run() {
      const sim = new Sim();
      const rank: Record<string, number> = { a: 0, b: 1, c: 2 };
      for (const n of ['c', 'b', 'a']) { const x = sim.add(n); x.claimDelay = () => rank[n]! * 600; }
      sim.node('c').start();
      sim.node('b').start();
      await sim.run(100);
      sim.node('a').start();
      expect(await sim.until(() => sim.holders().length === 1, 2000)).toBeGreaterThanOrEqual(0);
      expect(sim.holders()[0]!.name).toBe('a');
      await sim.run(3 * L);
      expect(sim.acquires).toHaveLength(1);
      safe(sim);
      await stopAll(sim);
    },
  },
  {
    name: 'placement delay after a holder crash: the next ranked node takes over within the crash bound, the later one never claims',
    async run() {
      const sim = new Sim();
      const order = ['a', 'b', 'c'];
      for (const n of order) {
        const x = sim.add(n);
        x.claimDelay = (prev) => order.filter((o) => o !== prev).indexOf(n) * 600;
      }
      const { holder } = await cluster(order, sim);
      expect(holder.name).toBe('a');
      await sim.run(1000);
      holder.crash();
      const t = await sim.until(() => sim.holders().some((n) => n !== holder), 2 * CRASH_BOUND);
      expect(t).toBeLessThanOrEqual(CRASH_BOUND);
      expect(sim.holders().filter((n) => n !== holder).map((n) => n.name)).toEqual(['b']);
      await sim.run(3 * L);
      expect(sim.acquires.map((x) => x.node)).toEqual(['a', 'b']);
      safe(sim);
      await stopAll(sim);
    },
  },
];

describe('elector failure table (docs/lease.md, What happens when something fails)', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    await row.run();
  });
  it('F < L in the fast profile (the margin the table relies on)', () => {
    expect(F).toBeLessThan(L);
  });
});

describe('holder-silent: a follower says when the holder\'s renewals stopped', () => {
  it('never while the holder renews; once, a third of L after the holder crashed, and before the claim', async () => {
    const { sim, holder } = await cluster(['a', 'b']);
    const follower = sim.nodes.find((n) => n !== holder)!;
    await sim.run(3 * L);
    expect(follower.events.filter((e) => e.type === 'holder-silent')).toEqual([]);
    const crashedAt = sim.clock.now();
    holder.crash();
    await sim.until(() => follower.events.some((e) => e.type === 'holder-silent'), 2 * L);
    const silentAt = sim.clock.now();
    expect(silentAt - crashedAt).toBeGreaterThanOrEqual(silentAfterMs(T) - P);
    expect(silentAt - crashedAt).toBeLessThan(silentAfterMs(T) + 2 * P + TIO);
    expect(sim.holders()).not.toContain(follower);
    expect(await sim.until(() => sim.holders().includes(follower), 3 * CRASH_BOUND)).toBeGreaterThanOrEqual(0);
    expect(follower.events.filter((e) => e.type === 'holder-silent')).toHaveLength(1);
    await stopAll(sim);
  });
});
