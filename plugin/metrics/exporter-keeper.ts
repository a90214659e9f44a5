/**
 * Keeps the exporter listening: starts it, and while its port is taken (or the address not yet
 * there, or descriptors short) tries again with a bounded backoff, naming the socket's holder.
 * Its state is what `msgha status` and `pm2 show` print, so an operator can tell whether the
 * /healthz on the port is ours.
 *
 * Guarantees: never throws; one ERROR at the first failure, a WARN when the holder changes or
 * every 10 minutes while it lasts, an INFO when the port is ours again; a configuration error (bad
 * address, credential file) is not retried — it needs a restart. Not guaranteed: that nobody
 * grabs the port between our close and the next coordinator's start (a restart is such a window).
 */
import type { Logger } from '../core/log';
import type { Exporter } from './exporter';
import { describeOwner, portOwner, type PortOwner } from './port-owner';

/** The exporter as `msgha status` shows it (one place for the type; the CLI formats it). */
export interface ExporterState {
  /** HOST:PORT configured (cluster.metrics.listen). */
  listen: string;
  state: 'starting' | 'listening' | 'port-taken' | 'failed' | 'closed';
  /** The coordinator's pid: the process whose exporter this is. */
  pid: number;
  /** ISO time of the last change of state. */
  since: string;
  /** Why not listening (one line, no secret). */
  reason?: string;
  /** Who holds the port (describeOwner), when it is taken. */
  takenBy?: string;
  /** Failed attempts since the last success. */
  attempts: number;
  /** Delay before the next attempt, when one is scheduled. */
  retryInMs?: number;
  /** Sockets open now and closed at once at the cap (while listening). */
  connections?: { open: number; dropped: number };
}

export interface KeeperOptions {
  listen: string;
  /** Starts the exporter; rejects with an errno-coded Error when it cannot listen. */
  start: () => Promise<Exporter>;
  log: Logger;
  /** First retry delay (default 2 s; 0 = never retry); doubles up to retryMaxMs (default 10 s). */
  retryMs?: number;
  retryMaxMs?: number;
  /** The cluster file, named in the first ERROR. */
  file?: string;
}

/** Worth trying again: someone else's socket, an address not up yet, a short-lived lack of descriptors. */
const RETRYABLE = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EMFILE', 'ENFILE']);
const REMIND_MS = 10 * 60_000;

export class ExporterKeeper {
  private exporter: Exporter | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private current: ExporterState;
  private owner: PortOwner | undefined;
  private remindedAt = 0;

  constructor(private readonly o: KeeperOptions) {
    this.current = { listen: o.listen, state: 'starting', pid: process.pid, since: new Date().toISOString(), attempts: 0 };
  }

  /** The first attempt; later ones run on their own. Resolves with the exporter or undefined. */
  async start(): Promise<Exporter | undefined> {
    if (!this.exporter && !this.closed && !this.timer) await this.attempt();
    return this.exporter;
  }

  get running(): Exporter | undefined { return this.exporter; }

  state(): ExporterState {
    const s = { ...this.current };
    if (this.exporter) s.connections = this.exporter.connections();
    return s;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const e = this.exporter;
    this.exporter = undefined;
    this.set({ state: 'closed', attempts: this.current.attempts });
    await e?.close();
  }

  private set(s: Omit<ExporterState, 'listen' | 'pid' | 'since'>): void {
    const changed = s.state !== this.current.state || s.takenBy !== this.current.takenBy || s.reason !== this.current.reason;
    this.current = { listen: this.o.listen, pid: process.pid, since: changed ? new Date().toISOString() : this.current.since, ...s };
  }

  private async attempt(): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    try {
      const e = await this.o.start();
      if (this.closed) { await e.close(); return; }
      this.exporter = e;
      const after = this.current.attempts;
      this.set({ state: 'listening', attempts: 0 });
      this.o.log.info(`metrics on http://${this.o.listen}/metrics (health: /healthz)${after ? ` — the port is ours again after ${after} failed attempt(s)` : ''}`);
    } catch (err) {
      this.failed(err as NodeJS.ErrnoException);
    }
  }

  private failed(err: NodeJS.ErrnoException): void {
    if (this.closed) return;
    const why = err instanceof Error ? err.message : String(err);
    const code = err?.code ?? /\b(E[A-Z]+)\b/.exec(why)?.[1];
    const attempts = this.current.attempts + 1;
    const first = attempts === 1;
    const base = this.o.retryMs ?? 2_000;
    const max = this.o.retryMaxMs ?? Math.max(base, 10_000);
    const retry = code !== undefined && RETRYABLE.has(code) && base > 0;
    const delay = retry ? Math.min(max, base * 2 ** Math.min(attempts - 1, 16)) : undefined;
    let takenBy: string | undefined;
    if (code === 'EADDRINUSE') {
      // The pid scan reads every process's descriptors: only when the socket is a new one.
      const port = Number(this.o.listen.split(':').pop());
      const seen = portOwner(port, false);
      if (seen && seen.inode !== this.owner?.inode) this.owner = portOwner(port, true) ?? seen;
      else if (!seen) this.owner = undefined;
      takenBy = this.owner ? describeOwner(this.owner) : undefined;
    }
    const before = this.current.takenBy;
    this.set({
      state: code === 'EADDRINUSE' ? 'port-taken' : retry ? 'starting' : 'failed',
      reason: code === 'EADDRINUSE' ? 'port taken by another process' : why,
      ...(takenBy ? { takenBy } : {}),
      attempts,
      ...(delay !== undefined ? { retryInMs: delay } : {}),
    });
    const retrying = delay !== undefined ? ` (trying again after ${seconds(base)}, backing off to every ${seconds(max)})` : '';
    const holder = takenBy ? `; held by ${takenBy} — its /healthz is not ours` : '';
    const now = Date.now();
    if (first) {
      // The message names the cause (EADDRINUSE, a credential file's problem), never a secret.
      this.remindedAt = now;
      const fix = code === 'EADDRINUSE' ? 'stop that process, or change cluster.metrics.listen' : 'change cluster.metrics.listen (or the metrics credentials)';
      this.o.log.error(`no /metrics on ${this.o.listen}: ${why}${holder}; ${fix}${this.o.file ? ` in ${this.o.file}` : ''} and restart the coordinator; running without the exporter${retrying}`);
    } else if (takenBy !== before || now - this.remindedAt >= REMIND_MS) {
      this.remindedAt = now;
      this.o.log.warn(`metrics: ${this.o.listen} still not ours after ${attempts} attempts (${code ?? why})${holder}`);
    }
    if (delay !== undefined) {
      // unref: the retries never keep a stopping process alive.
      this.timer = setTimeout(() => { void this.attempt(); }, delay);
      this.timer.unref();
    }
  }
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

/** One line for `msgha status`, e.g. "metrics: 127.0.0.1:9464 not listening — port taken by another process (…), retrying". */
export function describeExporter(s: ExporterState): string {
  const at = `metrics: ${s.listen}`;
  switch (s.state) {
    case 'listening': {
      const c = s.connections;
      return `${at} listening (this coordinator, pid ${s.pid}${c ? `; ${c.open} connection(s) open, ${c.dropped} dropped at the cap` : ''})`;
    }
    case 'port-taken':
      return `${at} not listening — port taken by another process${s.takenBy ? ` (${s.takenBy})` : ''}, retrying${s.retryInMs !== undefined ? ` every ${seconds(s.retryInMs)}` : ''} (${s.attempts} attempt(s) since ${s.since}); a /healthz answering there is not ours`;
    case 'failed':
      return `${at} not listening — ${s.reason ?? 'failed'}; not retried: fix cluster.metrics and restart the coordinator`;
    case 'starting':
      return `${at} not listening yet${s.reason ? ` — ${s.reason}, retrying` : ''}`;
    case 'closed':
      return `${at} closed (coordinator stopping)`;
  }
}
