/**
 * Client of the per-node fence process: starts it when absent (detached with `setsid -f`, so it
 * is re-parented to init, outside PM2's tree) and sends arm / renew / disarm / adopt / spawn /
 * fire / status / shutdown.
 *
 * Guarantees: every call resolves with a reply value (ok:false with the reason when the fence is
 * unreachable or silent — the caller must then self-fence: a holder without a working fence may
 * not serve); deadlines are sent as absolute CLOCK_MONOTONIC ms computed at call time from the
 * remaining time, so transit never extends them.
 * One channel: every call goes over one unix-socket connection, opened by the first call (the
 * status of ensureRunning, before any arm) and kept, one request at a time; it is reopened only
 * after an error. So a renewal needs no new descriptor, and a process out of descriptors (a
 * connection flood elsewhere in it) still renews. If reopening fails for want of descriptors
 * (EMFILE, ENFILE, …) the call is retried every 50 ms instead of failing: a renewal until the
 * kill deadline the fence holds for that epoch (the fence's own judgment, F, decides), any other
 * call for `timeoutMs`. A fence that stops answering fails the call `timeoutMs` after it was
 * sent. An older fence (one request per connection) gets one connection per call, as before.
 * Adoption covers: with cgroups, the pid and all its current descendants, and everything they
 * start later (no fork or setsid escapes a cgroup); without cgroups, the pid, its current
 * descendants by pid, and the process groups that one of them leads — a later setsid/setpgid
 * child escapes, so prefer spawn() (the fence starts the program itself) or cgroups.
 * A configured watchdog is opened by a fence this client starts (--watchdog), and by a running
 * fence that has none (the 'watchdog' request), so a coordinator restart with a new cluster file
 * turns it on without stopping the fence; a running fence is never told to stop petting.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { FenceSettings } from '../model/cluster-types';
import { createLogger, type Logger } from '../core/log';
import { monotonicMs } from '../lease/clock';
import { defaultWatchdogMs, type LeaseTimings } from '../lease/profiles';
import { compiledScript } from '../lease/script-path';
import { MAX_LINE_BYTES, pidPath, socketPath, type FenceReply, type FenceRequest, type GroupStatus, type WatchdogStatus } from './protocol';

export interface FenceClientOptions {
  /** Local runtime directory (tmpfs), e.g. /run/msgha. Never the shared directory. */
  runDir: string;
  /** Node name (cgroup directory name). */
  node: string;
  /** Pet this watchdog device (off by default; tests use a file standing in for it). */
  watchdog?: string;
  /** W: the watchdog timeout the fence sets (through wdctl) and keeps its pets within. */
  watchdogTimeoutMs?: number;
  /** SCHED_FIFO priority the fence asks for itself (default 10; 0 = none, only nice −10). */
  rtPriority?: number;
  /** Test hook: read boottime from this file instead of /proc/uptime. */
  uptimeFile?: string;
  /** How long the fence may take to answer a sent request (default 1000 ms). */
  timeoutMs?: number;
  /** Where the channel reports running short of descriptors (default: the coordinator's stdout/stderr). */
  log?: Logger;
}

/** Failures of this process (no descriptor, no buffer), not of the fence: worth retrying. */
const TRANSIENT = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EAGAIN']);
const RETRY_MS = 50;

interface Call {
  line: string;
  /** For log lines, e.g. "renew of mail epoch 7". */
  what: string;
  /** CLOCK_MONOTONIC ms until which a transient failure to open the channel is retried. */
  transientUntil: number;
  resolve(r: FenceReply): void;
  /** Runs while the call waits to be sent; cleared once it is written. */
  queued?: NodeJS.Timeout;
}

export class FenceClient {
  private sock: net.Socket | undefined;
  private connected = false;
  /** False once the fence answered without `keep` (an older fence): one connection per call. */
  private keeps = true;
  private readonly queue: Call[] = [];
  /** Written, waiting for its reply. */
  private inFlight: { call: Call; timer: NodeJS.Timeout } | undefined;
  private buf = '';
  private reopen: NodeJS.Timeout | undefined;
  /** Since when (monotonic ms) the channel cannot be opened for want of descriptors, and why. */
  private short: { since: number; code: string } | undefined;
  /** The kill deadline the fence accepted last, per group: how long a renewal may wait for descriptors. */
  private readonly accepted = new Map<string, { epoch: number; deadlineMono: number }>();
  private readonly log: Logger;

  constructor(private readonly o: FenceClientOptions) {
    this.log = o.log ?? createLogger('msgha', 'fence-client');
  }

  private get timeout(): number { return this.o.timeoutMs ?? 1000; }

  /** One request over the channel; `transientUntil` (CLOCK_MONOTONIC ms) extends the wait for descriptors. */
  request(req: FenceRequest, transientUntil = monotonicMs() + this.timeout): Promise<FenceReply> {
    return new Promise((resolve) => {
      const call: Call = { line: JSON.stringify(req) + '\n', what: describe(req), transientUntil, resolve };
      // Not sent by then (the channel cannot be opened, or another call hangs): give up.
      call.queued = setTimeout(() => {
        const i = this.queue.indexOf(call);
        if (i < 0) return;
        this.queue.splice(i, 1);
        resolve({ ok: false, reason: this.short ? `fence unreachable (${this.short.code}: this process could not open a socket for ${Math.round(monotonicMs() - this.short.since)} ms)` : `fence did not answer within ${this.timeout} ms` });
      }, Math.max(this.timeout, transientUntil - monotonicMs()));
      this.queue.push(call);
      this.pump();
    });
  }

  /** Closes the channel (calls still waiting fail); the next call opens a new one. */
  close(): void {
    if (this.reopen) clearTimeout(this.reopen);
    this.reopen = undefined;
    this.drop();
    for (const c of this.queue.splice(0)) { clearTimeout(c.queued); c.resolve({ ok: false, reason: 'fence client closed' }); }
  }

  private pump(): void {
    if (this.inFlight || !this.queue.length || this.reopen) return;
    if (!this.sock) { this.open(); return; }
    if (!this.connected) return;
    const call = this.queue.shift()!;
    clearTimeout(call.queued);
    const timer = setTimeout(() => {
      // A fence that does not answer is as good as none: this call fails, and the channel is
      // reopened for the next one (a late reply must never be taken for another call's).
      this.inFlight = undefined;
      this.drop();
      call.resolve({ ok: false, reason: `fence did not answer within ${this.timeout} ms` });
      this.pump();
    }, this.timeout);
    this.inFlight = { call, timer };
    this.sock.write(call.line);
  }

  private open(): void {
    const sock = net.createConnection(socketPath(this.o.runDir));
    this.sock = sock;
    this.connected = false;
    this.buf = '';
    // The channel never keeps a process alive on its own (calls in progress have their timers).
    sock.unref();
    sock.setEncoding('utf8');
    sock.on('connect', () => {
      if (this.sock !== sock) return;
      this.connected = true;
      if (this.short) {
        this.log.info(`fence channel open again after ${Math.round(monotonicMs() - this.short.since)} ms without descriptors (${this.short.code})`);
        this.short = undefined;
      }
      this.pump();
    });
    sock.on('data', (d: string) => { if (this.sock === sock) this.received(d); });
    sock.on('error', (e: NodeJS.ErrnoException) => { if (this.sock === sock) this.lost(e.code ?? e.message); });
    sock.on('close', () => { if (this.sock === sock) this.lost('connection closed'); });
  }

  private received(d: string): void {
    this.buf += d;
    const nl = this.buf.indexOf('\n');
    if (nl < 0) {
      if (this.buf.length > MAX_LINE_BYTES) this.lost('reply too long');
      return;
    }
    const line = this.buf.slice(0, nl);
    this.buf = this.buf.slice(nl + 1);
    const f = this.inFlight;
    if (!f) { this.lost('reply nobody asked for'); return; }
    this.inFlight = undefined;
    clearTimeout(f.timer);
    let reply: FenceReply;
    try { reply = JSON.parse(line) as FenceReply; } catch { reply = { ok: false, reason: 'bad reply from fence' }; }
    const { keep, ...rest } = reply;
    if (!keep) {
      // An older fence closes after each answer: from now on one connection per call.
      if (this.keeps) this.log.warn(`the running fence answers one request per connection (an older version): every call opens a socket; for the long-lived channel, while no group is armed on this node stop it (kill -TERM $(cat ${pidPath(this.o.runDir)})) and restart the coordinator`);
      this.keeps = false;
      this.drop();
    }
    f.call.resolve(rest);
    this.pump();
  }

  /** The connection failed or closed: the call in flight fails; waiting calls retry or fail by `code`. */
  private lost(code: string): void {
    const f = this.inFlight;
    this.inFlight = undefined;
    this.drop();
    if (f) { clearTimeout(f.timer); f.call.resolve({ ok: false, reason: `fence connection lost before it answered (${code})` }); }
    if (!this.queue.length) return;
    const now = monotonicMs();
    if (TRANSIENT.has(code)) {
      const waiting = this.queue.filter((c) => c.transientUntil > now);
      if (!this.short) {
        this.short = { since: now, code };
        const renew = waiting.find((c) => c.what.startsWith('renew'));
        this.log.error(`fence channel: cannot open a socket to ${socketPath(this.o.runDir)} (${code}: this process is out of descriptors); retrying every ${RETRY_MS} ms — not a reason to self-fence: ${renew ? `the fence's kill deadline for the ${renew.what} (in ${Math.round(renew.transientUntil - now)} ms) decides` : 'the fence keeps its deadlines'}`);
      }
      for (const c of this.queue.filter((x) => x.transientUntil <= now)) this.fail(c, `fence unreachable (${code}: no descriptor for a socket until the deadline)`);
      if (this.queue.length) {
        this.reopen = setTimeout(() => { this.reopen = undefined; this.pump(); }, RETRY_MS);
      }
      return;
    }
    // The fence is not there (ENOENT, ECONNREFUSED) or went away: every waiting call learns it now.
    for (const c of [...this.queue]) this.fail(c, `fence unreachable (${code})`);
  }

  private fail(c: Call, reason: string): void {
    const i = this.queue.indexOf(c);
    if (i >= 0) this.queue.splice(i, 1);
    clearTimeout(c.queued);
    c.resolve({ ok: false, reason });
  }

  /** Forgets the socket; its late events are ignored (they name another socket). */
  private drop(): void {
    this.sock?.destroy();
    this.sock = undefined;
    this.connected = false;
    this.buf = '';
  }

  /** Pid of a running fence (from its pid file, confirmed by a status call), or undefined. */
  async running(): Promise<number | undefined> {
    const r = await this.request({ op: 'status' });
    return r.ok ? r.fencePid : undefined;
  }

  /**
   * The fence of this runtime directory is gone (killed, crashed): its pid file names no live
   * process running fence-main with this --dir. A fence that is alive but silent (stopped, or
   * starved) is not gone: a second fence is never started beside it.
   */
  gone(): boolean {
    let pid: number;
    try { pid = Number(fs.readFileSync(pidPath(this.o.runDir), 'utf8').trim()); } catch { return true; }
    if (!Number.isInteger(pid) || pid <= 1) return true;
    let argv: string[];
    try { argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'); } catch { return true; }
    const dir = argv.indexOf('--dir');
    return !argv.some((a) => a.endsWith('fence-main.js')) || dir < 0 || argv[dir + 1] !== this.o.runDir;
  }

  /** Starts a new fence when the node's fence is gone (see gone()); a running one is left alone. */
  async restartIfGone(): Promise<{ restarted: boolean; ok: boolean; pid?: number; reason?: string }> {
    if (!this.gone()) return { restarted: false, ok: true };
    const r = await this.ensureRunning();
    return { ...r, restarted: r.started };
  }

  /** Starts the fence when none answers; resolves with its pid once its socket answers. */
  async ensureRunning(): Promise<{ ok: boolean; pid?: number; started: boolean; reason?: string }> {
    const st = await this.request({ op: 'status' });
    if (st.ok && st.fencePid) {
      if (this.o.watchdog && !st.watchdog?.open) {
        const w = await this.request({ op: 'watchdog', device: this.o.watchdog, timeoutMs: this.o.watchdogTimeoutMs });
        if (!w.ok) return { ok: false, pid: st.fencePid, started: false, reason: `running fence could not open watchdog ${this.o.watchdog}: ${w.reason}` };
      }
      return { ok: true, pid: st.fencePid, started: false };
    }
    fs.mkdirSync(this.o.runDir, { recursive: true, mode: 0o700 });
    const args = [compiledScript(__dirname, 'fence-main'), '--dir', this.o.runDir, '--id', this.o.node];
    if (this.o.watchdog) args.push('--watchdog', this.o.watchdog);
    if (this.o.watchdog && this.o.watchdogTimeoutMs !== undefined) args.push('--watchdog-timeout-ms', String(this.o.watchdogTimeoutMs));
    if (this.o.rtPriority !== undefined) args.push('--rt-priority', String(this.o.rtPriority));
    if (this.o.uptimeFile) args.push('--uptime-file', this.o.uptimeFile);
    const useSetsid = fs.existsSync('/usr/bin/setsid') || fs.existsSync('/bin/setsid');
    const child = useSetsid
      ? spawn('setsid', ['-f', process.execPath, ...args], { detached: true, stdio: 'ignore' })
      : spawn(process.execPath, args, { detached: true, stdio: 'ignore' });
    child.unref();
    child.on('error', () => { /* reported by the wait below */ });
    // A loaded machine can take seconds to start a Node process: wait up to 10 s.
    for (let i = 0; i < 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const p = await this.running();
      if (!p) continue;
      if (this.o.watchdog) {
        // A fence whose configured watchdog did not open refuses every arm: say so now, once,
        // rather than claim the lease again and again.
        const st = await this.status();
        if (!st.watchdog?.open) return { ok: false, pid: p, started: true, reason: `the fence could not open watchdog ${this.o.watchdog} (${st.watchdog?.error ?? st.reason ?? 'unknown error'}): load its driver (e.g. modprobe softdog) or remove cluster.fence.watchdog` };
      }
      return { ok: true, pid: p, started: true };
    }
    return { ok: false, started: false, reason: 'fence did not start within 10 s' };
  }

  /** `mounts`: the group's shared-disk mount points, lazily unmounted when the fence fires. */
  async arm(group: string, epoch: number, nonce: string, killRemainingMs: number, mounts: string[] = []): Promise<FenceReply> {
    const now = monotonicMs();
    const deadlineMono = now + killRemainingMs;
    const r = await this.request({ op: 'arm', group, epoch, nonce, deadlineMono, sentMono: now, mounts });
    if (r.ok) this.accepted.set(group, { epoch, deadlineMono });
    return r;
  }

  /**
   * Moves the kill deadline. Without a descriptor to reach the fence it waits, up to the deadline
   * the fence holds now: until then the group may serve anyway, and past it the fence has fired.
   */
  async renew(group: string, epoch: number, killRemainingMs: number): Promise<FenceReply> {
    const now = monotonicMs();
    const deadlineMono = now + killRemainingMs;
    const held = this.accepted.get(group);
    const r = await this.request({ op: 'renew', group, epoch, deadlineMono, sentMono: now }, held?.epoch === epoch ? held.deadlineMono : undefined);
    if (r.ok) this.accepted.set(group, { epoch, deadlineMono });
    return r;
  }

  /** Only after the group's services are confirmed stopped. */
  async disarm(group: string, epoch: number): Promise<FenceReply> {
    const r = await this.request({ op: 'disarm', group, epoch });
    if (r.ok) this.accepted.delete(group);
    return r;
  }
  adopt(group: string, pid: number): Promise<FenceReply> { return this.request({ op: 'adopt', group, pid }); }
  /** The fence starts the program itself, inside the group's cgroup (or as a new process group). */
  spawn(group: string, argv: string[], opts: { env?: Record<string, string>; cwd?: string; logFile?: string } = {}): Promise<FenceReply> {
    return this.request({ op: 'spawn', group, argv, ...opts });
  }
  fireNow(group: string, reason: string): Promise<FenceReply> {
    this.accepted.delete(group);
    return this.request({ op: 'fire', group, reason });
  }
  async status(): Promise<{ ok: boolean; mode?: 'cgroup' | 'pgid'; groups: GroupStatus[]; reason?: string; sched?: string; watchdog?: WatchdogStatus }> {
    const r = await this.request({ op: 'status' });
    // A coordinator that resumes an armed epoch learns its deadline here (for renew's wait).
    const now = monotonicMs();
    for (const g of r.groups ?? []) if (g.armed && g.remainingMs !== undefined && !this.accepted.has(g.group)) this.accepted.set(g.group, { epoch: g.epoch, deadlineMono: now + g.remainingMs });
    return { ok: r.ok, mode: r.mode, groups: r.groups ?? [], reason: r.reason, sched: r.sched, watchdog: r.watchdog };
  }
  shutdown(force = false): Promise<FenceReply> { return this.request({ op: 'shutdown', force }); }

  /** The pid in the fence's pid file (for cleanup by pid, never by name). */
  pidFromFile(): number | undefined {
    try { return Number(fs.readFileSync(pidPath(this.o.runDir), 'utf8')) || undefined; } catch { return undefined; }
  }
}

/** e.g. "renew of mail epoch 7", for log lines. */
function describe(req: FenceRequest): string {
  if ('epoch' in req) return `${req.op} of ${req.group} epoch ${req.epoch}`;
  return 'group' in req ? `${req.op} of ${req.group}` : req.op;
}

/**
 * The fence options a cluster file asks for (cluster.fence): the watchdog device and W, from
 * fence.watchdogTimeout or derived from the lease profile (defaultWatchdogMs). Validation has
 * checked W against the profile (T2) before a coordinator gets here.
 */
export function fenceOptions(fence: FenceSettings | undefined, t: LeaseTimings): Pick<FenceClientOptions, 'watchdog' | 'watchdogTimeoutMs'> {
  if (!fence?.watchdog) return {};
  return { watchdog: fence.watchdog, watchdogTimeoutMs: fence.watchdogTimeout !== undefined ? fence.watchdogTimeout * 1000 : defaultWatchdogMs(t) };
}
