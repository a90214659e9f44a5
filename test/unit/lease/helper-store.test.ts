// The shared-directory store through the real I/O helper process: link() creation with one
// winner, in-place rewrite, O_DIRECT reads, no file creation on write, and a hung helper
// (SIGSTOP) answered by TIMEOUT within T_io, then killed and replaced at once. Needs `npm run build`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HelperStore } from '../../../plugin/lease/helper-store';
import { decodeRecord, encodeRecord as encodeSigned, type LeaseRecord } from '../../../plugin/lease/record';
import { SharedDirKey } from '../../../plugin/lease/shared-key';

const key = SharedDirKey.ephemeral('hs');
const encodeRecord = (r: LeaseRecord): Buffer => encodeSigned(r, { key, group: 'any' });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mh-hs-'));
const stores: HelperStore[] = [];
const mk = (node: string, direct: boolean, ioTimeoutMs = 500, wedgeKillMs = 1500): HelperStore => {
  const s = new HelperStore({ root: dir, node, ioTimeoutMs, wedgeKillMs, directIo: direct });
  stores.push(s);
  return s;
};
const rec = (epoch: number, holder: string, counter = 0): LeaseRecord => ({
  state: 'HELD', epoch, counter, holder, nonce: holder, incarnation: 0, leaseMs: 1, fenceMs: 1, wallMs: 0, handoffTo: '', flags: 0, profileDigest: 0,
});

afterAll(() => {
  for (const s of stores) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('HelperStore (real directory, I/O helper process)', () => {
  it.each([[false], [true]])('create / read / rewrite (O_DIRECT %s)', async (direct) => {
    const s = mk('a', direct);
    const g = direct ? 'gd' : 'gb';
    expect(await s.listEpochs(g)).toEqual({ ok: true, value: [] });
    expect(await s.createEpoch(g, 1, encodeRecord(rec(1, 'a')), '.tmp.a.1')).toEqual({ ok: true, value: 'created' });
    expect(await s.createEpoch(g, 1, encodeRecord(rec(1, 'b')), '.tmp.b.1')).toEqual({ ok: true, value: 'exists' });
    const r = await s.readEpoch(g, 1);
    expect(r.ok && decodeRecord(r.value.bytes, 1, { key, group: 'any' })).toMatchObject({ kind: 'valid', record: { holder: 'a' } });
    expect((await s.writeEpoch(g, 1, encodeRecord(rec(1, 'a', 5)))).ok).toBe(true);
    const r2 = await s.readEpoch(g, 1);
    expect(r2.ok && decodeRecord(r2.value.bytes, 1, { key, group: 'any' })).toMatchObject({ kind: 'valid', record: { counter: 5 } });
    expect(await s.writeEpoch(g, 9, encodeRecord(rec(9, 'a')))).toMatchObject({ ok: false, code: 'ENOENT' });
    expect(fs.existsSync(path.join(dir, 'groups', g, 'epoch.9'))).toBe(false);
    expect(fs.readdirSync(path.join(dir, 'groups', g)).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    expect(await s.listEpochs(g)).toEqual({ ok: true, value: [1] });
  });

  it('concurrent creators through separate helpers: exactly one wins each epoch', async () => {
    const nodes = ['n1', 'n2', 'n3', 'n4'].map((n) => mk(n, false));
    // Node's start-up of each helper (seconds on a loaded machine) is not part of the race.
    await Promise.all(nodes.map((s) => s.start()));
    for (let e = 1; e <= 5; e++) {
      const res = await Promise.all(nodes.map((s, i) => s.createEpoch('race', e, encodeRecord(rec(e, `n${i + 1}`)), `.tmp.n${i + 1}.${e}`)));
      expect(res.filter((r) => r.ok && r.value === 'created')).toHaveLength(1);
    }
  });

  it('admin and meta files', async () => {
    const s = mk('a', false);
    expect(await s.readAdmin('adm')).toEqual({ ok: true, value: null });
    await s.writeAdmin('adm', '{"cmd":"freeze"}');
    expect(await s.readAdmin('adm')).toEqual({ ok: true, value: '{"cmd":"freeze"}' });
    expect(await s.createMeta('cluster.json', 'x')).toEqual({ ok: true, value: 'created' });
    expect(await s.createMeta('cluster.json', 'y')).toEqual({ ok: true, value: 'exists' });
    expect(await s.readMeta('cluster.json')).toEqual({ ok: true, value: 'x' });
    expect((await s.readMeta('../etc/passwd')).ok).toBe(false);
  });

  it('a stopped helper (hung storage): calls time out at T_io, the helper is killed and replaced at once', async () => {
    const s = mk('h', false, 300, 800);
    // Started and answering first, as the coordinator does: on a loaded machine a helper's start
    // takes longer than T_io, and a call still in flight would run its own wedge timer.
    expect(await s.start()).toMatchObject({ ok: true });
    expect((await s.listEpochs('hang')).ok).toBe(true);
    const pid = s.pid()!;
    process.kill(pid, 'SIGSTOP');
    const t0 = Date.now();
    const r = await s.listEpochs('hang');
    const took = Date.now() - t0;
    expect(r).toMatchObject({ ok: false, code: 'TIMEOUT' });
    expect(took).toBeGreaterThanOrEqual(280);
    expect(took).toBeLessThan(600);
    // Killed at wedgeKillMs (800) and replaced at once; the replacement's start-up (seconds on
    // a loaded machine) is not charged to any lease call: start() answers once it is ready.
    const killed = Date.now();
    while (s.stats.respawns === 0 && Date.now() - killed < 5000) await new Promise((res) => setTimeout(res, 20));
    expect(s.stats.respawns).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(780);
    expect(s.pid()).toBeDefined();
    expect(s.pid()).not.toBe(pid);
    expect(await s.start()).toMatchObject({ ok: true });
    const again = await s.listEpochs('hang');
    expect(again.ok).toBe(true);
    expect(s.stats.respawns).toBe(1);
    try { process.kill(pid, 'SIGKILL'); } catch { /* killed by the store */ }
  });
});
