// What a writer without the cluster key can still do to the lease, on the fake clock and store
// (docs/lease.md, Who may write the shared directory): forged and replayed records never count
// as life, never make a holder step down and never block a takeover; garbage epochs are skipped;
// format 1 is ignored (or read by the old rules with acceptUnsigned); a holder resumes its own
// format-1 record; forged and replayed admin requests freeze and move nothing.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { adminText } from '../../../plugin/lease/admin';
import { decodeRecord, encodeRecord, encodeUnsignedRecord, RECORD_SIZE, type LeaseRecord } from '../../../plugin/lease/record';
import { fenceMs, PROFILES } from '../../../plugin/lease/profiles';
import { SharedDirKey } from '../../../plugin/lease/shared-key';
import { expectSafe, Sim, startCluster, stopAll, type SimNode } from './sim';

const T = PROFILES.fast.timings;
const P = T.pollMs, L = T.leaseMs, R = T.renewMs, TIO = T.ioTimeoutMs;
const CRASH_BOUND = 2 * P + L + TIO;
/** Claims above unverified files go CLAIM_TRIES numbers per poll: a few polls more at most. */
const SKIP_SLACK = 4 * P;

const cluster = (names: string[], sim = new Sim(PROFILES.fast, { nodes: ['a', 'b', 'c'] })): Promise<{ sim: Sim; holder: SimNode }> => startCluster(sim, names);

const safe = expectSafe;

const current = (sim: Sim, e: number): LeaseRecord => {
  const d = decodeRecord(sim.dir.groupMap('g').get(e)!, e, { key: sim.key(), group: 'g' });
  if (d.kind !== 'valid') throw new Error(`epoch.${e}: ${d.kind}`);
  return d.record;
};

/** Runs `ms` of global time while `write` rewrites something every `every` ms. */
async function whileWriting(sim: Sim, ms: number, every: number, write: (i: number) => void): Promise<void> {
  for (let t = 0, i = 0; t < ms; t += every, i++) { write(i); await sim.run(every); }
}

describe('a writer without the key: the lease', () => {
  it('a forged HELD "ghost" record written every 200 ms (temp file + rename) after the holder crashed: takeover within the crash bound + L', async () => {
    const { sim, holder } = await cluster(['a', 'b', 'c']);
    await sim.run(500);
    const e = holder.elector.status().epoch!;
    const mine = current(sim, e);
    holder.crash();
    const forger = { key: new SharedDirKey(randomBytes(32), 'sim'), group: 'g' }; // not the cluster's key
    const t0 = sim.clock.now();
    let took = -1;
    await whileWriting(sim, 2 * CRASH_BOUND, 200, (i) => {
      sim.dir.replace('g', e, encodeRecord({ ...mine, holder: 'ghost', counter: mine.counter + 100 + i, nonce: `g${i}` }, forger));
      if (took < 0 && sim.holders().some((n) => n !== holder)) took = sim.clock.now() - t0;
    });
    expect(took).toBeGreaterThan(0);
    // the first replacement restarts the wait once (it bounds a holder whose renewals it broke)
    expect(took).toBeLessThanOrEqual(CRASH_BOUND + L + 200);
    const rejected = sim.nodes.filter((n) => n !== holder).reduce((a, n) => a + n.key.rejectedCount.lease, 0);
    expect(rejected).toBeGreaterThan(5);
    safe(sim);
    await stopAll(sim);
  });

  it('replays of the holder\'s own older records (temp file + rename) after it crashed never count as life', async () => {
    const { sim, holder } = await cluster(['a', 'b']);
    const e = holder.elector.status().epoch!;
    const captured: Buffer[] = [];
    for (let i = 0; i < 10; i++) { await sim.run(R); captured.push(Buffer.from(sim.dir.groupMap('g').get(e)!)); }
    holder.crash();
    const t0 = sim.clock.now();
    let took = -1;
    await whileWriting(sim, 2 * CRASH_BOUND, 200, (i) => {
      sim.dir.replace('g', e, captured[i % captured.length]!);
      if (took < 0 && sim.holders().some((n) => n !== holder)) took = sim.clock.now() - t0;
    });
    expect(took).toBeGreaterThan(0);
    expect(took).toBeLessThanOrEqual(CRASH_BOUND + L + 200);
    safe(sim);
    await stopAll(sim);
  });

  it('someone who can write the holder\'s file overwrites it in place right after every renewal (NFS root_squash): never two holders — such changes are life', async () => {
    const { sim, holder } = await cluster(['a', 'b', 'c']);
    const e = holder.elector.status().epoch!;
    let last = -1;
    let junk = 0;
    // checked every 10 ms: a renewal that landed is overwritten before any follower's next read
    for (let t = 0; t < 4 * L; t += 10) {
      const cur = sim.dir.groupMap('g').get(e)!;
      const d = decodeRecord(cur, e, { key: sim.key(), group: 'g' });
      if (d.kind === 'valid' && d.record.counter !== last) { last = d.record.counter; sim.dir.poke('g', e, Buffer.alloc(RECORD_SIZE, ++junk)); }
      await sim.run(10);
    }
    expect(holder.holding()).toBe(true);
    expect(sim.acquires).toHaveLength(1);
    safe(sim);
    await stopAll(sim);
  });

  it('garbage epoch.E+1 created while the holder lives: no step-down, no claim', async () => {
    const { sim, holder } = await cluster(['a', 'b', 'c']);
    const e = holder.elector.status().epoch!;
    sim.dir.poke('g', e + 1, Buffer.alloc(RECORD_SIZE, 0x41));
    await sim.run(4 * L);
    expect(holder.holding()).toBe(true);
    expect(holder.lost).toEqual([]);
    expect(sim.acquires).toHaveLength(1);
    for (const n of sim.nodes) if (n !== holder) expect(n.elector.status().epoch).toBe(e);
    safe(sim);
    await stopAll(sim);
  });

  it('a forged record at E+1 (wrong key, a member named): no step-down', async () => {
    const { sim, holder } = await cluster(['a', 'b']);
    const e = holder.elector.status().epoch!;
    const other = sim.nodes.find((n) => n !== holder)!.name;
    const forger = { key: new SharedDirKey(randomBytes(32), 'sim'), group: 'g' };
    sim.dir.poke('g', e + 1, encodeRecord({ ...current(sim, e), epoch: e + 1, holder: other }, forger));
    await sim.run(3 * L);
    expect(holder.holding()).toBe(true);
    expect(sim.acquires).toHaveLength(1);
    await stopAll(sim);
  });

  it('garbage epoch.E+1 when the holder crashes: the claim passes it once it showed no life for L', async () => {
    const { sim, holder } = await cluster(['a', 'b', 'c']);
    const e = holder.elector.status().epoch!;
    holder.crash();
    sim.dir.poke('g', e + 1, Buffer.alloc(RECORD_SIZE, 0x42));
    const t = await sim.until(() => sim.holders().some((n) => n !== holder), 2 * CRASH_BOUND + L);
    expect(t).toBeGreaterThanOrEqual(0);
    expect(t).toBeLessThanOrEqual(CRASH_BOUND + L);
    expect(sim.acquires.at(-1)!.epoch).toBe(e + 2);
    safe(sim);
    await stopAll(sim);
  });

  it('twelve garbage epochs above the holder\'s (more than one claim cycle tries), then the holder crashes: takeover above them', async () => {
    const { sim, holder } = await cluster(['a', 'b', 'c']);
    const e = holder.elector.status().epoch!;
    for (let k = 1; k <= 12; k++) sim.dir.poke('g', e + k, randomBytes(RECORD_SIZE));
    await sim.run(L);
    expect(sim.acquires).toHaveLength(1);
    holder.crash();
    const t = await sim.until(() => sim.holders().some((n) => n !== holder), 2 * CRASH_BOUND + SKIP_SLACK);
    expect(t).toBeGreaterThanOrEqual(0);
    expect(t).toBeLessThanOrEqual(CRASH_BOUND + SKIP_SLACK);
    expect(sim.acquires.at(-1)!.epoch).toBe(e + 13);
    await sim.run(2 * L);
    expect(sim.acquires).toHaveLength(2);
    safe(sim);
    await stopAll(sim);
  });

  it('the live holder\'s epoch file deleted: nobody claims before the holder stopped (its renewals fail), one claim after', async () => {
    const { sim, holder } = await cluster(['a', 'b', 'c']);
    await sim.run(500);
    const e = holder.elector.status().epoch!;
    sim.dir.groupMap('g').delete(e);
    await sim.run(3 * L);
    expect(holder.lost[0]?.reason).toBe('renew-deadline');
    expect(sim.acquires).toHaveLength(2);
    expect(sim.acquires[1]!.epoch).toBe(e + 1);
    safe(sim);
    await stopAll(sim);
  });
});

describe('format 1 (an older release) and the rolling upgrade', () => {
  it('without acceptUnsigned an old holder\'s format-1 record is never trusted (said plainly), yet its renewals in place keep it alive; a claim after L once it stops', async () => {
    const lines: string[] = [];
    const log = { error: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), info: () => undefined, trace: () => undefined, child: () => log, level: 'INFO' as const };
    const sim = new Sim(PROFILES.fast, { nodes: ['a', 'old'], log });
    const base: LeaseRecord = { state: 'HELD', epoch: 0, counter: 1, holder: 'old', nonce: 'n', incarnation: 0, leaseMs: L, fenceMs: fenceMs(T), wallMs: 0, handoffTo: '', flags: 0, profileDigest: 0 };
    sim.dir.poke('g', 0, encodeUnsignedRecord(base));
    const a = sim.add('a');
    a.start();
    await whileWriting(sim, 3 * L, R, (i) => sim.dir.poke('g', 0, encodeUnsignedRecord({ ...base, counter: 2 + i })));
    expect(a.holding()).toBe(false);
    expect(lines.join('\n')).toContain('epoch.0 of group g is in lease format 1 (unsigned, written by an older pm2-messaging-ha): ignored; see docs/lease.md, Upgrading');
    const t = await sim.until(() => a.holding(), 2 * CRASH_BOUND);
    expect(t).toBeGreaterThanOrEqual(L - 2 * P);
    expect(t).toBeLessThanOrEqual(CRASH_BOUND);
    await stopAll(sim);
  });

  it('without acceptUnsigned an old node\'s RELEASED with handoff_to is not honoured (no claim at once); with it, it is', async () => {
    for (const accept of [false, true]) {
      const sim = new Sim(PROFILES.fast, { nodes: ['a', 'old'], acceptUnsigned: accept });
      sim.dir.poke('g', 0, encodeUnsignedRecord({ state: 'RELEASED', epoch: 0, counter: 9, holder: 'old', nonce: 'n', incarnation: 0, leaseMs: L, fenceMs: fenceMs(T), wallMs: 0, handoffTo: 'a', flags: 0, profileDigest: 0 }));
      const a = sim.add('a');
      a.start();
      await sim.run(5 * P);
      expect(a.holding()).toBe(accept);
      await stopAll(sim);
    }
  });

  it('with acceptUnsigned an old holder renewing in format 1 is alive; once it stops, a claim after L', async () => {
    const sim = new Sim(PROFILES.fast, { nodes: ['a', 'old'], acceptUnsigned: true });
    const base: LeaseRecord = { state: 'HELD', epoch: 0, counter: 1, holder: 'old', nonce: 'n', incarnation: 0, leaseMs: L, fenceMs: fenceMs(T), wallMs: 0, handoffTo: '', flags: 0, profileDigest: 0 };
    sim.dir.poke('g', 0, encodeUnsignedRecord(base));
    const a = sim.add('a');
    a.start();
    await whileWriting(sim, 3 * L, R, (i) => sim.dir.poke('g', 0, encodeUnsignedRecord({ ...base, counter: 2 + i })));
    expect(a.holding()).toBe(false);
    const t = await sim.until(() => a.holding(), 2 * CRASH_BOUND);
    expect(t).toBeGreaterThanOrEqual(L - 2 * P);
    expect(t).toBeLessThanOrEqual(CRASH_BOUND);
    await stopAll(sim);
  });

  it('a holder resumes its own format-1 record (its fence vouches for epoch and nonce) and rewrites it in format 2', async () => {
    const { sim, holder } = await cluster(['a', 'b']);
    const e = holder.elector.status().epoch!;
    const rec = current(sim, e);
    holder.crash();
    sim.dir.poke('g', e, encodeUnsignedRecord({ ...rec, counter: rec.counter + 1 }));
    // a new coordinator on the same node (the old one never runs again): the fence reports epoch e, nonce, and time left
    const reborn = sim.add(holder.name);
    reborn.start({ epoch: e, nonce: rec.nonce, killRemainingMs: fenceMs(T) - 100 });
    await sim.run(3 * R);
    expect(reborn.holding()).toBe(true);
    expect(decodeRecord(sim.dir.groupMap('g').get(e)!, e, { key: sim.key(), group: 'g' }).kind).toBe('valid');
    await sim.run(2 * L);
    expect(sim.acquires).toHaveLength(1);
    await stopAll(sim);
  });

  it('a format-1 record with another nonce than the fence\'s is not resumed', async () => {
    const { sim, holder } = await cluster(['a', 'b']);
    const e = holder.elector.status().epoch!;
    const rec = current(sim, e);
    holder.crash();
    sim.dir.poke('g', e, encodeUnsignedRecord({ ...rec, nonce: 'forged', counter: rec.counter + 1 }));
    const reborn = sim.add(holder.name);
    reborn.start({ epoch: e, nonce: rec.nonce, killRemainingMs: fenceMs(T) - 100 });
    await sim.run(3 * R);
    expect(reborn.events.some((x) => x.type === 'resume-failed')).toBe(true);
    expect(reborn.holding()).toBe(false);
    await stopAll(sim);
  });
});

describe('a writer without the key: the admin file', () => {
  it.each([
    ['a forged freeze (another key)', adminText({ key: new SharedDirKey(randomBytes(32), 'sim'), group: 'g' }, { cmd: 'freeze', why: 'persistent', seq: Date.now() + 1e9, by: 'a', id: 'x' })],
    ['an unsigned freeze (format 1)', JSON.stringify({ cmd: 'freeze', why: 'persistent', by: 'a', id: 'y' })],
    ['garbage (once a persistent freeze)', '{not json'],
  ])('%s is no freeze: a crashed holder is still taken over', async (_name, text) => {
    const { sim, holder } = await cluster(['a', 'b']);
    sim.dir.admin.set('g', text);
    holder.crash();
    expect(await sim.until(() => sim.holders().some((n) => n !== holder), 2 * CRASH_BOUND)).toBeGreaterThanOrEqual(0);
    expect(sim.nodes.reduce((x, n) => x + n.key.rejectedCount.admin, 0)).toBeGreaterThan(0);
    safe(sim);
    await stopAll(sim);
  });

  it('a replay of an older freeze after unfreeze is ignored (seq below one already seen)', async () => {
    const { sim, holder } = await cluster(['a', 'b', 'c']);
    const other = sim.nodes.find((n) => n !== holder)!;
    expect((await other.admin({ cmd: 'freeze', why: 'persistent' })).ok).toBe(true);
    const frozen = sim.dir.admin.get('g')!;
    await sim.run(3 * P);
    expect((await other.admin({ cmd: 'none' })).ok).toBe(true);
    await sim.run(3 * P);
    sim.dir.admin.set('g', frozen); // the replay
    holder.crash();
    expect(await sim.until(() => sim.holders().some((n) => n !== holder), 2 * CRASH_BOUND)).toBeGreaterThanOrEqual(0);
    await stopAll(sim);
  });

  it('a move replayed after the holder changed is stale: the new holder stays', async () => {
    const { sim, holder } = await cluster(['a', 'b', 'c']);
    const e = holder.elector.status().epoch!;
    const target = sim.nodes.find((n) => n !== holder)!;
    await target.admin({ cmd: 'move', to: target.name, epoch: e });
    const move = sim.dir.admin.get('g')!;
    expect(await sim.until(() => target.holding(), 3000)).toBeGreaterThanOrEqual(0);
    await sim.run(5 * R);
    const third = sim.nodes.find((n) => n !== holder && n !== target)!;
    // the replay, byte for byte, now read by a holder of a later epoch
    sim.dir.admin.set('g', move);
    await sim.run(3 * L);
    expect(target.holding()).toBe(true);
    expect(third.holding()).toBe(false);
    expect(sim.acquires).toHaveLength(2);
    safe(sim);
    await stopAll(sim);
  });
});
