/**
 * Helpers of the recovery benchmark: an isolated PM2 daemon driven through the pm2 CLI of this
 * package (own PM2_HOME), protocol banners, and per-process CPU and memory from /proc.
 * Never touches ~/.pm2; `kill()` stops the daemon of this home only.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readStatSync } from '../plugin/proc/table';
import { pssKb } from '../plugin/proc/usage';
import { readBanner } from '../test/fixtures/cluster-file';

/** dist/bench → package root. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
const PM2_BIN = path.join(PACKAGE_ROOT, 'node_modules', 'pm2', 'bin', 'pm2');

export interface AppRow { name: string; pmId: number; pid: number; status: string }

/** Environment for PM2: ours minus npm's and vitest's noise, plus PM2_HOME. */
function baseEnv(home: string, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('npm_') && !k.startsWith('VITEST')) env[k] = v;
  return { ...env, PM2_HOME: home, ...extra };
}

export class Pm2Cli {
  constructor(readonly home: string, private readonly extra: NodeJS.ProcessEnv = {}) {}

  cli(args: string[], timeoutMs = 60_000): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [PM2_BIN, ...args], { env: baseEnv(this.home, this.extra), timeout: timeoutMs, maxBuffer: 64 << 20 },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
          resolve({ code, out: String(stdout) + String(stderr) });
        });
    });
  }

  async jlist(): Promise<AppRow[]> {
    const r = await this.cli(['jlist']);
    const start = r.out.indexOf('[');
    if (start < 0) return [];
    const rows = JSON.parse(r.out.slice(start, r.out.lastIndexOf(']') + 1)) as Array<Record<string, unknown>>;
    return rows.map((p) => ({
      name: String(p.name), pmId: Number(p.pm_id), pid: Number(p.pid),
      status: String((p.pm2_env as Record<string, unknown> | undefined)?.status),
    }));
  }

  /** The coordinator's `status` reply (JSON), or undefined when it did not answer in time. */
  async status(app = 'msgha'): Promise<StatusReply | undefined> {
    const r = await this.cli(['trigger', app, 'status'], 8000);
    const line = r.out.split('\n').find((l) => /^\[[^\]]+\]=/.test(l));
    return line ? JSON.parse(line.slice(line.indexOf(']=') + 2)) as StatusReply : undefined;
  }

  /** Pid of the God daemon of this home. */
  godPid(): number | undefined {
    try { return Number(fs.readFileSync(path.join(this.home, 'pm2.pid'), 'utf8').trim()) || undefined; } catch { return undefined; }
  }

  async kill(): Promise<void> {
    if (fs.existsSync(path.join(this.home, 'pm2.pid'))) await this.cli(['kill'], 180_000);
  }
}

export interface StatusReply {
  summary?: string;
  groups?: Array<{ name: string; state: string; resources: Array<{ id: string; state: string; restarts: number }> }>;
}

export function groupState(s: StatusReply | undefined, group: string): string | undefined {
  return s?.groups?.find((g) => g.name === group)?.state;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until truthy or the deadline; throws naming `what`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 200): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch { /* keep trying */ }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** First line a line-protocol server sends; '' on refusal, reset or no data within timeoutMs. */
export function banner(port: number, timeoutMs = 200): Promise<string> {
  return readBanner(port, timeoutMs);
}

/**
 * utime + stime of a process in clock ticks (USER_HZ = 100 on Linux); with `children`, also
 * cutime + cstime (the children it waited for); undefined when gone.
 */
export function cpuTicks(pid: number, o: { children?: boolean } = {}): number | undefined {
  const st = readStatSync(pid);
  return st ? st.cpuTicks + (o.children ? st.childCpuTicks : 0) : undefined;
}

/** Pss of a process in kB (smaps_rollup), as `pm2 show` reports it; undefined when gone. */
export { pssKb };

/** `<dir>/start-sleep SECS`: a daemon that detaches like a real one (own session, parent gone). */
export function writeStartSleep(dir: string): void {
  fs.writeFileSync(path.join(dir, 'start-sleep'), '#!/bin/sh\nsetsid sleep "$1" </dev/null >/dev/null 2>&1 &\nexit 0\n', { mode: 0o755 });
}

/** An Application resource whose daemon is a detached `sleep SECS` (writeStartSleep), found by its command line. */
export function sleeperResource(dir: string, secs: number, extra: Record<string, unknown>): Record<string, unknown> {
  return { type: 'Application', StartProgram: [path.join(dir, 'start-sleep'), String(secs)], MonitorProcesses: [`sleep ${secs}`], ...extra };
}

export interface Memory {
  /** VmRSS: every resident page, including the node binary and libraries that all agents share. */
  rssMb: number;
  /** RssAnon: private memory (heap, stacks) — what one more agent really costs. */
  anonMb: number;
  /** Pss: resident pages with shared ones divided among the processes sharing them. */
  pssMb: number;
}

/** VmRSS, RssAnon and Pss of a process in MB (one decimal); undefined when gone. */
export function memoryOf(pid: number): Memory | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (re: RegExp, text: string): number => Number(re.exec(text)?.[1] ?? NaN);
    const pss = pssKb(pid) ?? NaN;
    const mb = (v: number): number => Math.round(v / 102.4) / 10;
    return { rssMb: mb(kb(/VmRSS:\s+(\d+) kB/, status)), anonMb: mb(kb(/RssAnon:\s+(\d+) kB/, status)), pssMb: mb(pss) };
  } catch {
    return undefined;
  }
}

/** VmRSS of a process in MB (one decimal); undefined when gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : undefined;
  } catch {
    return undefined;
  }
}

/** Live (non-zombie) children of `pid`. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    const c = d.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === pid && f[0] !== 'Z') out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

/** pid and every live descendant. */
export function treeOf(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i += 1) all.push(...childrenOf(all[i]!));
  return all;
}

export function readPid(file: string): number | undefined {
  try { return Number(fs.readFileSync(file, 'utf8').trim()) || undefined; } catch { return undefined; }
}

export function round(v: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
