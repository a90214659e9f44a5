/**
 * In-memory lease store for unit tests: one shared MemoryDirectory, one view per simulated node,
 * with per-view faults — `hang` (the call never answers; the view reports TIMEOUT after the
 * I/O deadline, like the helper, and a hung write lands later when the hang ends), `fail`
 * (immediate error, e.g. EROFS) and `latencyMs`. Same contract as the real store
 * (createEpoch is create-if-absent). Not a model of directory caching.
 */
import type { Clock } from './clock';
import { ioFail, ioOk, type EpochBytes, type IoCode, type IoResult, type LeaseStore } from './store';

export class MemoryDirectory {
  readonly epochs = new Map<string, Map<number, Buffer>>();
  readonly admin = new Map<string, string>();
  readonly meta = new Map<string, string>();
  /** Every successful createEpoch: group, epoch, creator tag (tests count acquisitions). */
  readonly creates: Array<{ group: string; epoch: number; tag: string }> = [];
  /** File ids (an inode): a new one per file created or replaced under a name. */
  private readonly ids = new Map<string, number>();
  private nextId = 1;

  idOf(group: string, n: number): string {
    const k = `${group}\0${n}`;
    let id = this.ids.get(k);
    if (id === undefined) { id = this.nextId++; this.ids.set(k, id); }
    return String(id);
  }

  /** A new file under the name (creation, or a replacement with rename). */
  newFile(group: string, n: number): void { this.ids.set(`${group}\0${n}`, this.nextId++); }

  groupMap(group: string): Map<number, Buffer> {
    let m = this.epochs.get(group);
    if (!m) { m = new Map(); this.epochs.set(group, m); }
    return m;
  }

  /** Test injection: change the bytes of an epoch file in place (corruption, truncation). */
  poke(group: string, n: number, bytes: Buffer): void { this.groupMap(group).set(n, Buffer.from(bytes)); }

  /** Test injection: another file under the name (write a temp file, rename it over). */
  replace(group: string, n: number, bytes: Buffer): void { this.newFile(group, n); this.poke(group, n, bytes); }
}

export interface ViewFaults {
  hang?: boolean;
  fail?: IoCode;
  /** Only the calls that change the directory fail (a read-only mount: reads still work). */
  failWrites?: IoCode;
  latencyMs?: number;
}

export class MemoryStoreView implements LeaseStore {
  faults: ViewFaults = {};
  /** Awaited before every result is handed back (tests model a paused node with it). */
  gate: (() => Promise<void>) | undefined;
  private deferred: Array<() => void> = [];

  constructor(readonly dir: MemoryDirectory, private readonly clock: Clock, private readonly ioTimeoutMs: number) {}

  /** Ends a hang: writes issued during it land now (late writes must be harmless). */
  unhang(): void {
    this.faults.hang = false;
    const d = this.deferred;
    this.deferred = [];
    for (const f of d) f();
  }

  private async op<T>(effect: () => IoResult<T>, writes = false): Promise<IoResult<T>> {
    if (this.faults.latencyMs) await this.clock.sleep(this.faults.latencyMs);
    if (writes && this.faults.failWrites) return ioFail<T>(this.faults.failWrites, `injected ${this.faults.failWrites} (writes)`);
    if (this.faults.hang) {
      this.deferred.push(() => { effect(); });
      await this.clock.sleep(this.ioTimeoutMs);
      return ioFail('TIMEOUT', `lease I/O took longer than ${this.ioTimeoutMs} ms`);
    }
    const r = this.faults.fail ? ioFail<T>(this.faults.fail, `injected ${this.faults.fail}`) : effect();
    if (this.gate) await this.gate();
    return r;
  }

  listEpochs(group: string): Promise<IoResult<number[]>> {
    return this.op(() => ioOk([...this.dir.groupMap(group).keys()].sort((a, b) => a - b)));
  }

  readEpoch(group: string, n: number): Promise<IoResult<EpochBytes>> {
    return this.op(() => {
      const b = this.dir.groupMap(group).get(n);
      return b ? ioOk({ bytes: Buffer.from(b), id: this.dir.idOf(group, n) }) : ioFail('ENOENT', `epoch.${n} does not exist`);
    });
  }

  createEpoch(group: string, n: number, bytes: Buffer, tmpTag: string): Promise<IoResult<'created' | 'exists'>> {
    return this.op(() => {
      const m = this.dir.groupMap(group);
      if (m.has(n)) return ioOk('exists' as const);
      m.set(n, Buffer.from(bytes));
      this.dir.newFile(group, n);
      this.dir.creates.push({ group, epoch: n, tag: tmpTag });
      return ioOk('created' as const);
    }, true);
  }

  writeEpoch(group: string, n: number, bytes: Buffer): Promise<IoResult<void>> {
    return this.op(() => {
      const m = this.dir.groupMap(group);
      if (!m.has(n)) return ioFail('ENOENT', `epoch.${n} does not exist`);
      m.set(n, Buffer.from(bytes));
      return ioOk(undefined);
    }, true);
  }

  readAdmin(group: string): Promise<IoResult<string | null>> {
    return this.op(() => ioOk(this.dir.admin.get(group) ?? null));
  }

  writeAdmin(group: string, text: string): Promise<IoResult<void>> {
    return this.op(() => { this.dir.admin.set(group, text); return ioOk(undefined); }, true);
  }

  gc(group: string, belowEpoch: number): Promise<IoResult<number>> {
    return this.op(() => {
      const m = this.dir.groupMap(group);
      let n = 0;
      for (const k of [...m.keys()]) if (k < belowEpoch) { m.delete(k); n++; }
      return ioOk(n);
    }, true);
  }

  readMeta(name: string): Promise<IoResult<string | null>> {
    return this.op(() => ioOk(this.dir.meta.get(name) ?? null));
  }

  createMeta(name: string, text: string): Promise<IoResult<'created' | 'exists'>> {
    return this.op(() => {
      if (this.dir.meta.has(name)) return ioOk('exists' as const);
      this.dir.meta.set(name, text);
      return ioOk('created' as const);
    }, true);
  }

  writeMeta(name: string, text: string): Promise<IoResult<void>> {
    return this.op(() => { this.dir.meta.set(name, text); return ioOk(undefined); }, true);
  }
}
