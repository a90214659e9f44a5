// Timing rules T1–T4 with their exact messages, the built-in profiles, cluster.json profile check.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { checkClusterProfile, compareClusterFile, clusterFileText, ProfileMismatchError, readClusterFile } from '../../../plugin/lease/cluster-profile';
import { SharedDirKey } from '../../../plugin/lease/shared-key';
import { explainLease } from '../../../plugin/lease/explain';
import { FakeClock } from '../../../plugin/lease/fake-clock';
import { MemoryDirectory, MemoryStoreView } from '../../../plugin/lease/memory-store';
import { describeProfile, failoverBounds, PROFILES, validateTimings, type LeaseTimings } from '../../../plugin/lease/profiles';

const fast = PROFILES.fast.timings;

describe('T1–T4', () => {
  it.each(Object.values(PROFILES).map((p) => [p.name, p] as const))('built-in profile %s is valid', (_n, p) => {
    expect(validateTimings(p.timings)).toEqual([]);
  });

  it.each<[string, Partial<LeaseTimings>, string]>([
    ['T1', { renewMs: 300 }, 'T1 violated: renew interval R=300 ms must be ≤ (FS − T_io)/3 = (1200 − 400)/3 = 266.7 ms, so that three full-length renewal attempts fit before the fence starts'],
    ['T2', { watchdogMs: 1000 }, 'T2 violated: hardware watchdog timeout W=1000 ms must be ≤ stop budget K=600 ms, so the node resets before F = FS + K'],
    ['T3', { leaseMs: 2200 }, 'T3 violated: takeover wait L=2200 ms must be ≥ F·(1+ρ)/(1−ρ) + J = 1800·1.1/0.9 + 100 = 2300 ms, so the old holder\'s services are killed before anyone can claim'],
    ['T4', { pollMs: 300 }, 'T4 violated: poll interval P=300 ms must be ≤ L/10 = 240 ms'],
  ])('%s message', (_rule, change, message) => {
    expect(validateTimings({ ...fast, ...change })).toEqual([message]);
  });

  it('T4 second half: T_io against a measured p99', () => {
    expect(validateTimings(fast, 100)).toEqual(['T4 violated: I/O deadline T_io=400 ms must be ≥ 5 × the p99 lease I/O latency 100 ms = 500 ms']);
    expect(validateTimings(fast, 13)).toEqual([]);
  });

  it('reports every broken rule, not only the first', () => {
    expect(validateTimings({ ...fast, renewMs: 300, pollMs: 300, leaseMs: 2000 })).toHaveLength(3);
  });

  it('worst-case failover per profile matches docs/lease.md (Timing profiles and their rules)', () => {
    expect(failoverBounds(PROFILES.nfs.timings).holderCrashMs).toBe(49_000);
    expect(failoverBounds(PROFILES.local.timings).holderCrashMs).toBe(24_000);
    expect(failoverBounds(PROFILES.fast.timings).holderCrashMs).toBe(3_200);
    expect(failoverBounds(PROFILES.nfs.timings).ridesThroughMs).toBe(15_000);
  });

  it('describeProfile and explainLease show the numbers', () => {
    expect(describeProfile(PROFILES.fast)).toContain('2P+L+T_io = 3.2 s');
    const text = explainLease();
    for (const s of ['profile nfs', 'profile local', 'profile fast', '49 s', '24 s', 'T3']) expect(text).toContain(s);
  });
});

describe('cluster.json profile check', () => {
  const view = () => new MemoryStoreView(new MemoryDirectory(), new FakeClock(), 400);
  const raw = randomBytes(32);
  const key = new SharedDirKey(raw, 'mail');

  it('the first node creates it, the same profile joins, another profile is refused naming both', async () => {
    const v = view();
    expect(await checkClusterProfile(v, PROFILES.nfs, key)).toBe('created');
    expect(await checkClusterProfile(v, PROFILES.nfs, key)).toBe('matches');
    await expect(checkClusterProfile(v, PROFILES.fast, key)).rejects.toThrow(ProfileMismatchError);
    await expect(checkClusterProfile(v, PROFILES.fast, key)).rejects.toThrow(/this node runs profile 'fast' \(P=0.2s .* but cluster.json says the cluster runs profile 'nfs' \(P=2s .*L=40s/);
  });

  it('a node with the same name but a different L is refused', () => {
    const changed = { ...PROFILES.nfs, timings: { ...PROFILES.nfs.timings, leaseMs: 45_000 } };
    const read = readClusterFile(clusterFileText(PROFILES.nfs, key), key, 'cluster.json');
    if ('problem' in read) throw new Error(read.problem);
    expect(compareClusterFile(read.file, changed, 'cluster.json')).toMatch(/profile 'nfs' .*L=45s.*profile 'nfs' .*L=40s/);
  });

  it('a malformed file, a forged one (another key) and an unsigned one refuse, naming the file', async () => {
    expect(readClusterFile('{', key, 'cluster.json')).toEqual({ problem: expect.stringMatching(/not valid JSON/) });
    const other = new SharedDirKey(randomBytes(32), 'mail');
    expect(readClusterFile(clusterFileText(PROFILES.nfs, other), key, '/s/cluster.json')).toEqual({ problem: expect.stringMatching(/^\/s\/cluster.json is not signed with this node's cluster key \(bad MAC\)/) });
    const unsigned = JSON.stringify({ version: 1, profile: 'nfs', timings: PROFILES.nfs.timings, digest: 0 });
    expect(readClusterFile(unsigned, key, 'cluster.json')).toEqual({ problem: expect.stringMatching(/not signed .*acceptUnsigned/) });
    // With acceptUnsigned an older release's file is accepted, then replaced by a signed one.
    const v = view();
    await v.createMeta('cluster.json', unsigned);
    const lenient = new SharedDirKey(raw, 'mail', { acceptUnsigned: true });
    expect(await checkClusterProfile(v, PROFILES.nfs, lenient)).toBe('matches');
    const now = (await v.readMeta('cluster.json'));
    expect(now.ok && readClusterFile(now.value!, key, 'cluster.json')).toMatchObject({ unsigned: false });
  });

  it('an older release still reads the profile from the signed file (the clear fields beside the MAC)', () => {
    const f = JSON.parse(clusterFileText(PROFILES.local, key)) as { version: number; profile: string; timings: unknown };
    expect(f).toMatchObject({ version: 1, profile: 'local', timings: PROFILES.local.timings });
  });
});
