// The 512-byte lease record: round trip, CRC-32 against zlib, torn / corrupt / short detection.
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../../plugin/lease/crc32';
import { decodeRecord, encodeRecord, RECORD_SIZE, type LeaseRecord } from '../../../plugin/lease/record';

const rec: LeaseRecord = {
  state: 'HELD', epoch: 42, counter: 7, holder: 'mx1', nonce: '0123456789abcdef', incarnation: 3,
  leaseMs: 40000, fenceMs: 30000, wallMs: 1.7e12, handoffTo: '', flags: 0, profileDigest: 0xdeadbeef,
};

describe('lease record', () => {
  it('is exactly 512 bytes and round-trips', () => {
    const b = encodeRecord(rec);
    expect(b.length).toBe(RECORD_SIZE);
    expect(decodeRecord(b, 42)).toEqual({ valid: true, record: rec });
    const rel = encodeRecord({ ...rec, state: 'RELEASED', handoffTo: 'mx2' });
    const d = decodeRecord(rel, 42);
    expect(d.valid && d.record.state === 'RELEASED' && d.record.handoffTo === 'mx2').toBe(true);
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
    ['torn: second half from another version', (b: Buffer) => Buffer.concat([b.subarray(0, 256), encodeRecord({ ...rec, counter: 8 }).subarray(256)]), /bad CRC/],
    ['bytes 100–300 flipped', (b: Buffer) => { const c = Buffer.from(b); for (let i = 100; i < 300; i++) c[i] = c[i]! ^ 0xff; return c; }, /bad CRC/],
    ['one bit flipped in the counter', (b: Buffer) => { const c = Buffer.from(b); c[16] = c[16]! ^ 1; return c; }, /bad CRC/],
    ['random garbage', () => Buffer.alloc(512, 0x5a), /bad magic/],
    ['all zeros', () => Buffer.alloc(512), /bad magic/],
  ])('detects %s', (_name, mutate, why) => {
    const d = decodeRecord(mutate(encodeRecord(rec)), 42);
    expect(d.valid).toBe(false);
    if (!d.valid) expect(d.why).toMatch(why);
  });

  it('rejects a valid record under the wrong file name', () => {
    const d = decodeRecord(encodeRecord(rec), 43);
    expect(d).toEqual({ valid: false, why: 'record says epoch 42 but the file is epoch.43' });
  });

  it('refuses over-long holder names when encoding', () => {
    expect(() => encodeRecord({ ...rec, holder: 'h'.repeat(33) })).toThrow(/holder .* longer than 32 bytes/);
  });
});
