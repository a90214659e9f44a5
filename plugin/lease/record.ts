/**
 * The lease record: exactly 512 bytes (one sector, one O_DIRECT I/O), little endian, CRC-32
 * over bytes 0..507 stored at 508. Layout (docs/lease.md, The record):
 *
 *   0 magic u32 'MHLS' | 4 version u16 | 6 state u16 (HELD=1, RELEASED=2)
 *   8 epoch u64 | 16 counter u64 | 24 holder char[32] | 56 nonce char[16] | 72 incarnation u64
 *   80 lease_ms u32 | 84 fence_ms u32 | 88 wall_ms f64 (humans only, never decisions)
 *   96 handoff_to char[32] | 128 flags u32 | 132 profile digest u32 | 508 crc32 u32
 *
 * Guarantees: decode never throws; anything that is not a complete, checksummed record of the
 * expected epoch is reported as invalid with the reason (short, magic, version, CRC, epoch,
 * state). Not guaranteed: that a valid record is current — liveness is judged by the caller
 * from raw bytes changing, never from the fields.
 */
import { crc32 } from './crc32';

export const RECORD_SIZE = 512;
export const RECORD_MAGIC = 0x534c484d; // 'MHLS' little endian
export const RECORD_VERSION = 1;
export const HOLDER_MAX = 32;
export const NONCE_MAX = 16;

export type LeaseState = 'HELD' | 'RELEASED';
const STATE_CODE: Record<LeaseState, number> = { HELD: 1, RELEASED: 2 };

export interface LeaseRecord {
  state: LeaseState;
  epoch: number;
  counter: number;
  holder: string;
  nonce: string;
  incarnation: number;
  leaseMs: number;
  fenceMs: number;
  wallMs: number;
  handoffTo: string;
  flags: number;
  profileDigest: number;
}

export type DecodeResult =
  | { valid: true; record: LeaseRecord }
  | { valid: false; why: string };

function putString(buf: Buffer, off: number, max: number, s: string, field: string): void {
  const b = Buffer.from(s, 'utf8');
  if (b.length > max) throw new Error(`lease record: ${field} '${s}' is longer than ${max} bytes`);
  b.copy(buf, off);
}

function getString(buf: Buffer, off: number, max: number): string {
  const slice = buf.subarray(off, off + max);
  const end = slice.indexOf(0);
  return slice.subarray(0, end < 0 ? max : end).toString('utf8');
}

export function encodeRecord(r: LeaseRecord): Buffer {
  const buf = Buffer.alloc(RECORD_SIZE);
  buf.writeUInt32LE(RECORD_MAGIC, 0);
  buf.writeUInt16LE(RECORD_VERSION, 4);
  buf.writeUInt16LE(STATE_CODE[r.state], 6);
  buf.writeBigUInt64LE(BigInt(r.epoch), 8);
  buf.writeBigUInt64LE(BigInt(r.counter), 16);
  putString(buf, 24, HOLDER_MAX, r.holder, 'holder');
  putString(buf, 56, NONCE_MAX, r.nonce, 'nonce');
  buf.writeBigUInt64LE(BigInt(r.incarnation), 72);
  buf.writeUInt32LE(r.leaseMs >>> 0, 80);
  buf.writeUInt32LE(r.fenceMs >>> 0, 84);
  buf.writeDoubleLE(r.wallMs, 88);
  putString(buf, 96, HOLDER_MAX, r.handoffTo, 'handoff_to');
  buf.writeUInt32LE(r.flags >>> 0, 128);
  buf.writeUInt32LE(r.profileDigest >>> 0, 132);
  buf.writeUInt32LE(crc32(buf, 0, 508), 508);
  return buf;
}

/** Decodes raw bytes read from `epoch.<expectedEpoch>`. */
export function decodeRecord(raw: Uint8Array, expectedEpoch?: number): DecodeResult {
  if (raw.length !== RECORD_SIZE) return { valid: false, why: `short record (${raw.length} of ${RECORD_SIZE} bytes)` };
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.length);
  if (buf.readUInt32LE(0) !== RECORD_MAGIC) return { valid: false, why: 'bad magic (not a lease record)' };
  if (buf.readUInt32LE(508) !== crc32(buf, 0, 508)) return { valid: false, why: 'bad CRC (torn or corrupt record)' };
  const version = buf.readUInt16LE(4);
  if (version !== RECORD_VERSION) return { valid: false, why: `unknown record version ${version}` };
  const code = buf.readUInt16LE(6);
  const state = code === 1 ? 'HELD' : code === 2 ? 'RELEASED' : undefined;
  if (!state) return { valid: false, why: `unknown state ${code}` };
  const epoch = Number(buf.readBigUInt64LE(8));
  if (expectedEpoch !== undefined && epoch !== expectedEpoch) {
    return { valid: false, why: `record says epoch ${epoch} but the file is epoch.${expectedEpoch}` };
  }
  return {
    valid: true,
    record: {
      state,
      epoch,
      counter: Number(buf.readBigUInt64LE(16)),
      holder: getString(buf, 24, HOLDER_MAX),
      nonce: getString(buf, 56, NONCE_MAX),
      incarnation: Number(buf.readBigUInt64LE(72)),
      leaseMs: buf.readUInt32LE(80),
      fenceMs: buf.readUInt32LE(84),
      wallMs: buf.readDoubleLE(88),
      handoffTo: getString(buf, 96, HOLDER_MAX),
      flags: buf.readUInt32LE(128),
      profileDigest: buf.readUInt32LE(132),
    },
  };
}
