/**
 * One group's lease files as the elector uses them: every store call bounded by T_io on this
 * node's own clock, whatever the store does (a hung NFS call answers TIMEOUT and holds nothing
 * up), records signed and verified here with the cluster's shared-directory key, claimed
 * through a temp file named after node and nonce.
 */
import { parseAdmin, type AdminCommand } from './admin';
import type { Clock } from './clock';
import { decodeRecord, distrust, encodeRecord, trusted, type DecodeResult, type LeaseRecord, type RecordContext } from './record';
import type { SharedDirKey } from './shared-key';
import { ioFail, type IoResult, type LeaseStore } from './store';

/** A read of an epoch file: the record this node may trust, or why not. */
export interface EpochRead { raw: Buffer; id: string; decoded: DecodeResult; record: LeaseRecord | undefined }

export class GroupFiles {
  readonly ctx: RecordContext;

  constructor(private readonly store: LeaseStore, private readonly group: string, private readonly node: string,
    private readonly clock: Clock, private readonly ioTimeoutMs: number, key: SharedDirKey) {
    this.ctx = { key, group };
  }

  /** Bounds any store call by T_io on our own clock. */
  private async bounded<T>(p: Promise<IoResult<T>>): Promise<IoResult<T>> {
    const stop = new AbortController();
    const timeout = this.clock.sleep(this.ioTimeoutMs, stop.signal).then(() =>
      ioFail<T>('TIMEOUT', `lease I/O took longer than T_io=${this.ioTimeoutMs} ms`));
    const r = await Promise.race([p, timeout]);
    stop.abort();
    return r;
  }

  listEpochs(): Promise<IoResult<number[]>> { return this.bounded(this.store.listEpochs(this.group)); }

  /** Reads and verifies epoch.<n>; a record not to be trusted is counted and logged here (unless `quiet`). */
  async readEpoch(n: number, quiet = false): Promise<IoResult<EpochRead>> {
    const r = await this.bounded(this.store.readEpoch(this.group, n));
    if (!r.ok && r.code === 'REJECTED') {
      // A link or a foreign file under the name: content that does not verify, from another file.
      this.ctx.key.reject('lease', `groups/${this.group}/epoch.${n}`, r.message);
      return { ok: true, value: { raw: Buffer.alloc(0), id: 'rejected', decoded: { kind: 'invalid', why: r.message }, record: undefined } };
    }
    if (!r.ok) return r;
    const decoded = decodeRecord(r.value.bytes, n, this.ctx);
    const record = trusted(decoded, this.ctx);
    const why = distrust(decoded, this.ctx, n);
    if (why && !quiet) this.ctx.key.reject('lease', `groups/${this.group}/epoch.${n}`, why);
    return { ok: true, value: { raw: r.value.bytes, id: r.value.id, decoded, record } };
  }

  /** link()s `rec` to epoch.<n>: 'created', or 'exists' when the file is there already. */
  createEpoch(n: number, rec: LeaseRecord): Promise<IoResult<'created' | 'exists'>> {
    return this.bounded(this.store.createEpoch(this.group, n, encodeRecord(rec, this.ctx), `.tmp.${this.node}.${rec.nonce}`));
  }

  /** Rewrites epoch.<n> in place (renewal, RELEASED), always in format 2. */
  writeEpoch(n: number, rec: LeaseRecord): Promise<IoResult<void>> {
    return this.bounded(this.store.writeEpoch(this.group, n, encodeRecord(rec, this.ctx)));
  }

  /** The operator request in force (admin.ts, verified), or a failed read. */
  async readAdmin(): Promise<IoResult<AdminCommand>> {
    const r = await this.bounded(this.store.readAdmin(this.group));
    return r.ok ? { ok: true, value: parseAdmin(r.value, { key: this.ctx.key, group: this.group }) } : r;
  }

  gc(belowEpoch: number, tmpMaxAgeMs: number): Promise<IoResult<number>> {
    return this.bounded(this.store.gc(this.group, belowEpoch, tmpMaxAgeMs));
  }
}
