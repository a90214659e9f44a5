// The 512-byte lease record, format 2: round trip, CRC-32 against zlib, torn / corrupt / short
// detection, the MAC (another key, group or epoch never verifies), members only, format 1 told
// apart, and what one decode costs (printed: format 1 = CRC only, as before; format 2 = CRC + HMAC).
import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../../plugin/lease/crc32';
import { decodeRecord, distrust, encodeRecord, encodeUnsignedRecord, RECORD_SIZE, trusted, type LeaseRecord } from '../../../plugin/lease/record';
import { SharedDirKey } from '../../../plugin/lease/shared-key';
import { epochOfName } from '../../../plugin/lease/file-ops';

const raw = randomBytes(32);
const key = new SharedDirKey(raw, 'mail', { nodes: ['mx1', 'mx2', 'mx3'] });
const ctx = { key, group: 'g' };
const rec: LeaseRecord = {
  state: 'HELD', epoch: 42, counter: 7, holder: 'mx1', nonce: '0123456789abcdef', incarnation: 3,
  leaseMs: 40000, fenceMs: 30000, wallMs: 1.7e12, handoffTo: '', flags: 0, profileDigest: 0xdeadbeef,
};

describe('lease record', () => {
  it('is exactly 512 bytes and round-trips', () => {
    const b = encodeRecord(rec, ctx);
    expect(b.length).toBe(RECORD_SIZE);
    expect(b.readUInt16LE(4)).toBe(2);
    expect(decodeRecord(b, 42, ctx)).toEqual({ kind: 'valid', record: rec });
    const d = decodeRecord(encodeRecord({ ...rec, state: 'RELEASED', handoffTo: 'mx2' }, ctx), 42, ctx);
    expect(d.kind === 'valid' && d.record.state === 'RELEASED' && d.record.handoffTo === 'mx2').toBe(true);
  });

  it('computes the same CRC-32 as zlib', () => {
    const zcrc = (zlib as unknown as { crc32?: (b: Buffer) => number }).crc32;
    for (const s of ['', 'a', '123456789', 'x'.repeat(1000)]) {
      const b = Buffer.from(s);
      if (zcrc) expect(crc32(b)).toBe(zcrc(b));
    }
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it.each([
    ['short (truncated to 100 B)', (b: Buffer) => b.subarray(0, 100), /short record \(100 of 512/],
    ['empty', () => Buffer.alloc(0), /short record \(0 of 512/],
    ['torn: second half from another version', (b: Buffer) => Buffer.concat([b.subarray(0, 256), encodeRecord({ ...rec, counter: 8 }, ctx).subarray(256)]), /bad CRC/],
    ['bytes 100–300 flipped', (b: Buffer) => { const c = Buffer.from(b); for (let i = 100; i < 300; i++) c[i] = c[i]! ^ 0xff; return c; }, /bad CRC/],
    ['one bit flipped in the counter', (b: Buffer) => { const c = Buffer.from(b); c[16] = c[16]! ^ 1; return c; }, /bad CRC/],
    ['random garbage', () => Buffer.alloc(512, 0x5a), /bad magic/],
    ['all zeros', () => Buffer.alloc(512), /bad magic/],
    ['counter changed and the CRC fixed (no key)', (b: Buffer) => { const c = Buffer.from(b); c[16] = c[16]! + 1; c.writeUInt32LE(crc32(c, 0, 508), 508); return c; }, /bad MAC/],
    ['version 3', (b: Buffer) => { const c = Buffer.from(b); c.writeUInt16LE(3, 4); c.writeUInt32LE(crc32(c, 0, 508), 508); return c; }, /unknown record version 3/],
  ])('detects %s', (_name, mutate, why) => {
    const d = decodeRecord(mutate(encodeRecord(rec, ctx)), 42, ctx);
    expect(d.kind).toBe('invalid');
    if (d.kind === 'invalid') expect(d.why).toMatch(why);
  });

  it('a record of one place never verifies in another: other epoch, group, cluster or key', () => {
    const b = encodeRecord(rec, ctx);
    expect(decodeRecord(b, 43, ctx)).toMatchObject({ kind: 'invalid', why: expect.stringMatching(/bad MAC .*epoch.43/) });
    expect(decodeRecord(b, 42, { key, group: 'h' })).toMatchObject({ kind: 'invalid', why: expect.stringMatching(/bad MAC/) });
    expect(decodeRecord(b, 42, { key: new SharedDirKey(raw, 'other', {}), group: 'g' }).kind).toBe('invalid');
    expect(decodeRecord(b, 42, { key: new SharedDirKey(randomBytes(32), 'mail', {}), group: 'g' }).kind).toBe('invalid');
  });

  it('a holder or handoff_to outside cluster.nodes is invalid even with the right key', () => {
    expect(decodeRecord(encodeRecord({ ...rec, holder: 'ghost' }, ctx), 42, ctx)).toEqual({ kind: 'invalid', why: "holder 'ghost' is not in cluster.nodes" });
    expect(decodeRecord(encodeRecord({ ...rec, state: 'RELEASED', handoffTo: 'ghost' }, ctx), 42, ctx)).toEqual({ kind: 'invalid', why: "handoff_to 'ghost' is not in cluster.nodes" });
  });

  it('format 1 (older release): told apart, trusted only with acceptUnsigned, and said plainly', () => {
    const v1 = encodeUnsignedRecord(rec);
    const d = decodeRecord(v1, 42, ctx);
    expect(d).toEqual({ kind: 'format1', record: rec });
    expect(trusted(d, ctx)).toBeUndefined();
    expect(distrust(d, ctx, 42)).toBe('epoch.42 of group g is in lease format 1 (unsigned, written by an older pm2-messaging-ha): ignored; see docs/lease.md, Upgrading');
    const lenient = { key: new SharedDirKey(raw, 'mail', { nodes: ['mx1'], acceptUnsigned: true }), group: 'g' };
    expect(trusted(decodeRecord(v1, 42, lenient), lenient)).toEqual(rec);
    expect(distrust(decodeRecord(v1, 42, lenient), lenient, 42)).toBeUndefined();
  });

  it('refuses over-long holder names and unsafe numbers when encoding; epoch file names beyond 2^53−2 are never parsed', () => {
    expect(() => encodeRecord({ ...rec, holder: 'h'.repeat(33) }, ctx)).toThrow(/holder .* longer than 32 bytes/);
    expect(() => encodeRecord({ ...rec, epoch: 2 ** 53 }, ctx)).toThrow(/not a safe integer/);
    const big = Buffer.from(encodeUnsignedRecord(rec));
    big.writeBigUInt64LE(2n ** 60n, 8);
    big.writeUInt32LE(crc32(big, 0, 508), 508);
    expect(decodeRecord(big, 42, ctx)).toEqual({ kind: 'invalid', why: 'epoch, counter or incarnation beyond 2^53' });
    expect(epochOfName('epoch.9007199254740990')).toBe(9007199254740990);
    expect(epochOfName('epoch.9007199254740991')).toBeUndefined();
    expect(epochOfName('epoch.99999999999999999999')).toBeUndefined();
    expect(epochOfName('epoch.007')).toBeUndefined();
    expect(epochOfName('epoch.-1')).toBeUndefined();
    expect(epochOfName('epoch.12')).toBe(12);
  });

  it('cost of one decode (printed; format 1 is the old CRC-only path)', () => {
    const v1 = encodeUnsignedRecord(rec);
    const v2 = encodeRecord(rec, ctx);
    const time = (b: Buffer): number => {
      for (let i = 0; i < 2000; i++) decodeRecord(b, 42, ctx); // warm-up
      const n = 20_000;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) decodeRecord(b, 42, ctx);
      return Number(process.hrtime.bigint() - t0) / 1e3 / n;
    };
    const before = time(v1);
    const after = time(v2);
    const enc = (() => { const n = 20_000; const t0 = process.hrtime.bigint(); for (let i = 0; i < n; i++) encodeRecord(rec, ctx); return Number(process.hrtime.bigint() - t0) / 1e3 / n; })();
    console.log(`lease record decode: format 1 (CRC only) ${before.toFixed(2)} µs, format 2 (CRC + HMAC-SHA256) ${after.toFixed(2)} µs; encode format 2 ${enc.toFixed(2)} µs`);
    expect(after).toBeGreaterThan(0); // informative only: no timing assertion on a loaded machine
  });
});
