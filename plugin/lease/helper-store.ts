/**
 * The shared-directory lease store: every call runs in the I/O helper child process
 * (io-helper-child.ts) with a deadline.
 *
 * Guarantees: the caller's event loop never performs shared-directory I/O, so a hung NFS call
 * cannot stop its timers; one request is in flight at a time, in call order (a RELEASED write
 * queued after a renewal lands after it); every call resolves by its deadline (T_io after it was
 * made) with a value — TIMEOUT when the helper did not answer; a helper wedged longer than
 * `wedgeKillMs` (default L) is SIGKILLed and respawned (NFS waits are killable since 2.6.25).
 * Not guaranteed: that a timed-out write did not land later (the lease algorithm makes a late
 * landing harmless).
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from '../core/log';
import { compiledScript } from './script-path';
import { ioFail, type EpochBytes, type IoCode, type IoResult, type LeaseStore, type TreeCheck } from './store';

export interface HelperOptions {
  /** `<shared>/.cluster/<cluster>`. */
  root: string;
  /** This node's name (temp file names). */
  node: string;
  /** T_io: deadline of one call, from the moment it is made. */
  ioTimeoutMs: number;
  /** How long the helper may stay wedged on one call before it is killed and respawned. */
  wedgeKillMs: number;
  directIo: boolean;
  log?: Logger;
  /**
   * Run the helper as this user (tests: the files it creates are then owned by that user, as
   * root's are on an NFS export with root_squash).
   */
  runAs?: { uid: number; gid: number };
}

interface Pending {
  id: number;
  op: string;
  args: unknown[];
  resolve: (r: IoResult<unknown>) => void;
  timer: NodeJS.Timeout;
  done: boolean;
}

const CODES: readonly IoCode[] = ['ENOENT', 'EEXIST', 'EIO', 'EROFS', 'EACCES', 'REJECTED'];

export class HelperStore implements LeaseStore {
  private child: ChildProcess | undefined;
  private queue: Pending[] = [];
  private inflight: Pending | undefined;
  private inflightSince = 0;
  private wedgeTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private closed = false;
  /** Counters for metrics and the benchmark. */
  readonly stats = { calls: 0, timeouts: 0, respawns: 0 };

  constructor(private readonly o: HelperOptions) {}

  /** Pid of the current helper (tests stop it to simulate a hung storage). */
  pid(): number | undefined { return this.child?.pid; }

  private spawn(): ChildProcess {
    const script = compiledScript(__dirname, 'io-helper-child');
    const child = fork(script, [], {
      serialization: 'advanced',
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, MSGHA_LEASE_ROOT: this.o.root, MSGHA_LEASE_DIRECT: this.o.directIo ? '1' : '0' },
      ...(this.o.runAs ? { uid: this.o.runAs.uid, gid: this.o.runAs.gid } : {}),
    });
    child.on('message', (m: { id: number; ok: boolean; value?: unknown; code?: string; message?: string }) => this.onReply(child, m));
    child.on('exit', () => {
      if (this.child !== child) return;
      this.child = undefined;
      this.abandonInflight();
      this.pump();
    });
    child.on('error', () => { /* exit follows */ });
    // The helper must never keep its parent alive.
    child.unref();
    (child as unknown as { channel?: { unref(): void } }).channel?.unref();
    return child;
  }

  private onReply(child: ChildProcess, m: { id: number; ok: boolean; value?: unknown; code?: string; message?: string }): void {
    if (child !== this.child || !this.inflight || this.inflight.id !== m.id) return;
    const p = this.inflight;
    this.inflight = undefined;
    clearTimeout(this.wedgeTimer);
    if (!p.done) {
      p.done = true;
      clearTimeout(p.timer);
      if (m.ok) p.resolve({ ok: true, value: m.value });
      else {
        const code = (CODES as readonly string[]).includes(m.code ?? '') ? (m.code as IoCode) : 'OTHER';
        p.resolve(ioFail(code, m.message ?? code));
      }
    }
    this.pump();
  }

  /** The in-flight call is lost with its helper (already timed out or failed as EIO). */
  private abandonInflight(): void {
    const p = this.inflight;
    this.inflight = undefined;
    clearTimeout(this.wedgeTimer);
    if (p && !p.done) { p.done = true; clearTimeout(p.timer); p.resolve(ioFail('EIO', 'the I/O helper died during the call')); }
  }

  private pump(): void {
    if (this.closed || this.inflight) return;
    while (this.queue.length && this.queue[0]!.done) this.queue.shift();
    const next = this.queue.shift();
    if (!next) return;
    if (!this.child) this.child = this.spawn();
    this.inflight = next;
    this.inflightSince = Date.now();
    this.child.send({ id: next.id, op: next.op, args: next.args });
    this.wedgeTimer = setTimeout(() => this.killWedged(), this.o.wedgeKillMs);
    this.wedgeTimer.unref();
  }

  private killWedged(): void {
    const c = this.child;
    if (!c || !this.inflight) return;
    this.o.log?.warn(`lease I/O helper pid ${c.pid} wedged for ${Date.now() - this.inflightSince} ms on ${this.inflight.op}: SIGKILL and respawn`);
    this.stats.respawns++;
    this.child = undefined;
    try { c.kill('SIGKILL'); } catch { /* gone */ }
    this.abandonInflight();
    // Start the replacement now, not on the next call: its Node start-up (seconds on a loaded
    // machine) must not count against that call's T_io. Calls queue behind the warm-up ping.
    void this.start();
  }

  /**
   * Starts the helper and waits until it answers (a Node start can take seconds on a loaded
   * machine; that must not count against the first lease call's T_io). Call once before use.
   */
  async start(timeoutMs = 10_000): Promise<IoResult<string>> {
    return this.call<string>('ping', [], timeoutMs);
  }

  private call<T>(op: string, args: unknown[], timeoutMs = this.o.ioTimeoutMs): Promise<IoResult<T>> {
    if (this.closed) return Promise.resolve(ioFail<T>('OTHER', 'lease store closed'));
    this.stats.calls++;
    return new Promise<IoResult<T>>((resolve) => {
      const p: Pending = {
        id: this.nextId++, op, args, done: false,
        resolve: resolve as (r: IoResult<unknown>) => void,
        timer: setTimeout(() => {
          if (p.done) return;
          p.done = true;
          this.stats.timeouts++;
          resolve(ioFail<T>('TIMEOUT', `${op} did not answer within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.queue.push(p);
      this.pump();
    });
  }

  /** Kills the helper; pending calls fail. */
  close(): void {
    this.closed = true;
    for (const p of this.queue) if (!p.done) { p.done = true; clearTimeout(p.timer); p.resolve(ioFail('OTHER', 'lease store closed')); }
    this.queue = [];
    const c = this.child;
    this.child = undefined;
    this.abandonInflight();
    try { c?.kill('SIGKILL'); } catch { /* gone */ }
  }

  private tag(suffix: string): string { return `.tmp.${this.o.node}.${suffix}`; }

  listEpochs(group: string) { return this.call<number[]>('listEpochs', [group]); }
  async readEpoch(group: string, n: number): Promise<IoResult<EpochBytes>> {
    const r = await this.call<{ bytes: Uint8Array; id: string }>('readEpoch', [group, n]);
    return r.ok ? { ok: true, value: { bytes: Buffer.from(r.value.bytes), id: r.value.id } } : r;
  }
  createEpoch(group: string, n: number, bytes: Buffer, tmpTag: string) { return this.call<'created' | 'exists'>('createEpoch', [group, n, bytes, tmpTag]); }
  writeEpoch(group: string, n: number, bytes: Buffer) { return this.call<void>('writeEpoch', [group, n, bytes]); }
  readAdmin(group: string) { return this.call<string | null>('readAdmin', [group]); }
  writeAdmin(group: string, text: string) { return this.call<void>('writeAdmin', [group, text]); }
  gc(group: string, belowEpoch: number, tmpMaxAgeMs: number) { return this.call<number>('gc', [group, belowEpoch, tmpMaxAgeMs]); }
  readMeta(name: string) { return this.call<string | null>('readMeta', [name]); }
  createMeta(name: string, text: string) { return this.call<'created' | 'exists'>('createMeta', [name, text, this.tag(`${process.pid}${Date.now()}`)]); }
  writeMeta(name: string, text: string) { return this.call<void>('writeMeta', [name, text]); }
  /** The start-up check of the shared directory, done by the helper like all its I/O. */
  checkTree(groups: string[]) { return this.call<TreeCheck>('checkTree', [groups], Math.max(this.o.ioTimeoutMs, 10_000)); }
}
