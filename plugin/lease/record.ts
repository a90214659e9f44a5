/**
 * The lease record: exactly 512 bytes (one sector, one O_DIRECT I/O), little endian. Format 2
 * (docs/lease.md, The record):
 *
 *   0 magic u32 'MHLS' | 4 version u16 (2) | 6 state u16 (HELD=1, RELEASED=2)
 *   8 epoch u64 | 16 counter u64 | 24 holder char[32] | 56 nonce char[16] | 72 incarnation u64
 *   80 lease_ms u32 | 84 fence_ms u32 | 88 wall_ms f64 (humans only, never decisions)
 *   96 handoff_to char[32] | 128 flags u32 | 132 profile digest u32
 *   476 MAC (HMAC-SHA256 over the domain "lease\0<group>\0<epoch>\0" and bytes 0..475)
 *   508 CRC-32 of bytes 0..507 (a cheap reject of torn or garbage bytes before the HMAC)
 *
 * Format 1 (older releases) has the same fields, version 1, no MAC.
 *
 * Guarantees: decode never throws; 'valid' only for a complete record of the expected epoch and
 * group whose MAC verifies with the cluster's key and whose holder (and handoff_to, when set)
 * is a member of cluster.nodes; 'format1' for a checksummed version-1 record of the expected
 * epoch (unsigned: trusted only with acceptUnsigned, or by the holder its fence vouches for);
 * everything else 'invalid' with the reason. Not guaranteed: that a valid record is current — a
 * replay of an older record of the same epoch verifies too; the caller judges life by counters.
 */
import { crc32 } from './crc32';
import { domains, MAC_BYTES, type SharedDirKey } from './shared-key';

export const RECORD_SIZE = 512;
export const RECORD_MAGIC = 0x534c484d; // 'MHLS' little endian
export const RECORD_VERSION = 2;
export const RECORD_VERSION_UNSIGNED = 1;
export const HOLDER_MAX = 32;
export const NONCE_MAX = 16;
const MAC_AT = 476;
const CRC_AT = 508;

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

/** Whose records these are: the key and the group (part of the MAC's domain). */
export interface RecordContext { key: SharedDirKey; group: string }

export type DecodeResult =
  | { kind: 'valid'; record: LeaseRecord }
  /** A checksummed version-1 record (unsigned, from an older release). */
  | { kind: 'format1'; record: LeaseRecord }
  | { kind: 'invalid'; why: string };

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

function fields(r: LeaseRecord, version: number): Buffer {
  if (!Number.isSafeInteger(r.epoch) || r.epoch < 0 || !Number.isSafeInteger(r.counter) || r.counter < 0) {
    throw new Error(`lease record: epoch ${r.epoch} or counter ${r.counter} is not a safe integer`);
  }
  const buf = Buffer.alloc(RECORD_SIZE);
  buf.writeUInt32LE(RECORD_MAGIC, 0);
  buf.writeUInt16LE(version, 4);
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
  return buf;
}

/** Format 2: signed with the cluster's key for epoch.<r.epoch> of ctx.group. */
export function encodeRecord(r: LeaseRecord, ctx: RecordContext): Buffer {
  const buf = fields(r, RECORD_VERSION);
  ctx.key.mac(domains.lease(ctx.group, r.epoch), buf.subarray(0, MAC_AT)).copy(buf, MAC_AT);
  buf.writeUInt32LE(crc32(buf, 0, CRC_AT), CRC_AT);
  return buf;
}

/** Format 1, as older releases wrote it (tests of the rolling upgrade only). */
export function encodeUnsignedRecord(r: LeaseRecord): Buffer {
  const buf = fields(r, RECORD_VERSION_UNSIGNED);
  buf.writeUInt32LE(crc32(buf, 0, CRC_AT), CRC_AT);
  return buf;
}

function parse(buf: Buffer): LeaseRecord | string {
  const code = buf.readUInt16LE(6);
  const state = code === 1 ? 'HELD' : code === 2 ? 'RELEASED' : undefined;
  if (!state) return `unknown state ${code}`;
  const epoch = buf.readBigUInt64LE(8);
  const counter = buf.readBigUInt64LE(16);
  const incarnation = buf.readBigUInt64LE(72);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  if (epoch > max || counter > max || incarnation > max) return 'epoch, counter or incarnation beyond 2^53';
  return {
    state,
    epoch: Number(epoch),
    counter: Number(counter),
    holder: getString(buf, 24, HOLDER_MAX),
    nonce: getString(buf, 56, NONCE_MAX),
    incarnation: Number(incarnation),
    leaseMs: buf.readUInt32LE(80),
    fenceMs: buf.readUInt32LE(84),
    wallMs: buf.readDoubleLE(88),
    handoffTo: getString(buf, 96, HOLDER_MAX),
    flags: buf.readUInt32LE(128),
    profileDigest: buf.readUInt32LE(132),
  };
}

/** Decodes raw bytes read from `epoch.<expectedEpoch>` of ctx.group. */
export function decodeRecord(raw: Uint8Array, expectedEpoch: number, ctx: RecordContext): DecodeResult {
  if (raw.length !== RECORD_SIZE) return { kind: 'invalid', why: `short record (${raw.length} of ${RECORD_SIZE} bytes)` };
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.length);
  if (buf.readUInt32LE(0) !== RECORD_MAGIC) return { kind: 'invalid', why: 'bad magic (not a lease record)' };
  if (buf.readUInt32LE(CRC_AT) !== crc32(buf, 0, CRC_AT)) return { kind: 'invalid', why: 'bad CRC (torn or corrupt record)' };
  const version = buf.readUInt16LE(4);
  if (version !== RECORD_VERSION && version !== RECORD_VERSION_UNSIGNED) return { kind: 'invalid', why: `unknown record version ${version}` };
  if (version === RECORD_VERSION && !ctx.key.verify(domains.lease(ctx.group, expectedEpoch), buf.subarray(0, MAC_AT), buf.subarray(MAC_AT, MAC_AT + MAC_BYTES))) {
    return { kind: 'invalid', why: `bad MAC (not written with this cluster's key for epoch.${expectedEpoch} of group ${ctx.group})` };
  }
  const r = parse(buf);
  if (typeof r === 'string') return { kind: 'invalid', why: r };
  if (r.epoch !== expectedEpoch) return { kind: 'invalid', why: `record says epoch ${r.epoch} but the file is epoch.${expectedEpoch}` };
  if (!ctx.key.isMember(r.holder)) return { kind: 'invalid', why: `holder '${r.holder}' is not in cluster.nodes` };
  if (r.handoffTo && !ctx.key.isMember(r.handoffTo)) return { kind: 'invalid', why: `handoff_to '${r.handoffTo}' is not in cluster.nodes` };
  return version === RECORD_VERSION ? { kind: 'valid', record: r } : { kind: 'format1', record: r };
}

/** The record if this node may act on it: valid, or format 1 while acceptUnsigned is set. */
export function trusted(d: DecodeResult, ctx: RecordContext): LeaseRecord | undefined {
  if (d.kind === 'valid') return d.record;
  if (d.kind === 'format1' && ctx.key.acceptUnsigned) return d.record;
  return undefined;
}

/** Why a decoded record is not trusted (for the log), or undefined when it is. */
export function distrust(d: DecodeResult, ctx: RecordContext, epoch: number): string | undefined {
  if (d.kind === 'invalid') return d.why;
  if (d.kind === 'format1' && !ctx.key.acceptUnsigned) {
    return `epoch.${epoch} of group ${ctx.group} is in lease format 1 (unsigned, written by an older pm2-messaging-ha): ignored; see docs/lease.md, Upgrading`;
  }
  return undefined;
}
