/**
 * One group's lease files as the elector uses them: every store call bounded by T_io on this
 * node's own clock, whatever the store does (a hung NFS call answers TIMEOUT and holds nothing
 * up), records encoded here and claimed through a temp file named after node and nonce.
 */
import { parseAdmin, type AdminCommand } from './admin';
import type { Clock } from './clock';
import { encodeRecord, type LeaseRecord } from './record';
import { ioFail, type IoResult, type LeaseStore } from './store';

export class GroupFiles {
  constructor(private readonly store: LeaseStore, private readonly group: string, private readonly node: string,
    private readonly clock: Clock, private readonly ioTimeoutMs: number) {}

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
  readEpoch(n: number): Promise<IoResult<Buffer>> { return this.bounded(this.store.readEpoch(this.group, n)); }

  /** link()s `rec` to epoch.<n>: 'created', or 'exists' when the file is there already. */
  createEpoch(n: number, rec: LeaseRecord): Promise<IoResult<'created' | 'exists'>> {
    return this.bounded(this.store.createEpoch(this.group, n, encodeRecord(rec), `.tmp.${this.node}.${rec.nonce}`));
  }

  /** Rewrites epoch.<n> in place (renewal, RELEASED). */
  writeEpoch(n: number, rec: LeaseRecord): Promise<IoResult<void>> {
    return this.bounded(this.store.writeEpoch(this.group, n, encodeRecord(rec)));
  }

  /** The operator command in force (admin.ts), or a failed read. */
  async readAdmin(): Promise<IoResult<AdminCommand>> {
    const r = await this.bounded(this.store.readAdmin(this.group));
    return r.ok ? { ok: true, value: parseAdmin(r.value) } : r;
  }

  gc(belowEpoch: number, tmpMaxAgeMs: number): Promise<IoResult<number>> {
    return this.bounded(this.store.gc(this.group, belowEpoch, tmpMaxAgeMs));
  }
}
