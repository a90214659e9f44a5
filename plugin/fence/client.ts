/**
 * Client of the per-node fence process: starts it when absent (detached with `setsid -f`, so it
 * is re-parented to init, outside PM2's tree) and sends arm / renew / disarm / adopt / spawn /
 * fire / status / shutdown.
 *
 * Guarantees: every call resolves by `timeoutMs` with a reply value (ok:false with the reason
 * when the fence is unreachable — the caller must then self-fence: a holder without a working
 * fence may not serve); deadlines are sent as absolute CLOCK_MONOTONIC ms computed at send time
 * from the remaining time, so transit never extends them.
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
import { monotonicMs } from '../lease/clock';
import { defaultWatchdogMs, type LeaseTimings } from '../lease/profiles';
import { compiledScript } from '../lease/script-path';
import { pidPath, socketPath, type FenceReply, type FenceRequest, type GroupStatus, type WatchdogStatus } from './protocol';

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
  timeoutMs?: number;
}

export class FenceClient {
  constructor(private readonly o: FenceClientOptions) {}

  private get timeout(): number { return this.o.timeoutMs ?? 1000; }

  request(req: FenceRequest): Promise<FenceReply> {
    return new Promise((resolve) => {
      let buf = '';
      let done = false;
      const finish = (r: FenceReply): void => { if (!done) { done = true; clearTimeout(timer); sock.destroy(); resolve(r); } };
      const timer = setTimeout(() => finish({ ok: false, reason: `fence did not answer within ${this.timeout} ms` }), this.timeout);
      const sock = net.createConnection(socketPath(this.o.runDir));
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
      sock.on('data', (d: string) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          try { finish(JSON.parse(buf.slice(0, nl)) as FenceReply); } catch { finish({ ok: false, reason: 'bad reply from fence' }); }
        }
      });
      sock.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, reason: `fence unreachable (${e.code ?? e.message})` }));
    });
  }

  /** Pid of a running fence (from its pid file, confirmed by a status call), or undefined. */
  async running(): Promise<number | undefined> {
    const r = await this.request({ op: 'status' });
    return r.ok ? r.fencePid : undefined;
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
  arm(group: string, epoch: number, nonce: string, killRemainingMs: number, mounts: string[] = []): Promise<FenceReply> {
    const now = monotonicMs();
    return this.request({ op: 'arm', group, epoch, nonce, deadlineMono: now + killRemainingMs, sentMono: now, mounts });
  }

  renew(group: string, epoch: number, killRemainingMs: number): Promise<FenceReply> {
    const now = monotonicMs();
    return this.request({ op: 'renew', group, epoch, deadlineMono: now + killRemainingMs, sentMono: now });
  }

  /** Only after the group's services are confirmed stopped. */
  disarm(group: string, epoch: number): Promise<FenceReply> { return this.request({ op: 'disarm', group, epoch }); }
  adopt(group: string, pid: number): Promise<FenceReply> { return this.request({ op: 'adopt', group, pid }); }
  /** The fence starts the program itself, inside the group's cgroup (or as a new process group). */
  spawn(group: string, argv: string[], opts: { env?: Record<string, string>; cwd?: string; logFile?: string } = {}): Promise<FenceReply> {
    return this.request({ op: 'spawn', group, argv, ...opts });
  }
  fireNow(group: string, reason: string): Promise<FenceReply> { return this.request({ op: 'fire', group, reason }); }
  async status(): Promise<{ ok: boolean; mode?: 'cgroup' | 'pgid'; groups: GroupStatus[]; reason?: string; sched?: string; watchdog?: WatchdogStatus }> {
    const r = await this.request({ op: 'status' });
    return { ok: r.ok, mode: r.mode, groups: r.groups ?? [], reason: r.reason, sched: r.sched, watchdog: r.watchdog };
  }
  shutdown(force = false): Promise<FenceReply> { return this.request({ op: 'shutdown', force }); }

  /** The pid in the fence's pid file (for cleanup by pid, never by name). */
  pidFromFile(): number | undefined {
    try { return Number(fs.readFileSync(pidPath(this.o.runDir), 'utf8')) || undefined; } catch { return undefined; }
  }
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
