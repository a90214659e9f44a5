/**
 * Test helper: an isolated PM2 daemon per test file (its own PM2_HOME under /tmp), driven
 * through the real `pm2` CLI of this package, plus wait-for helpers with deadlines.
 * Never touches ~/.pm2; `kill()` stops the daemon (and with it every app) and removes the home.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
const PM2_BIN = path.join(PACKAGE_ROOT, 'node_modules', 'pm2', 'bin', 'pm2');

export interface CliResult { code: number; stdout: string; stderr: string }

export interface AppRow {
  name: string; pm_id: number; pid: number; status: string; namespace?: string; restart_time: number;
  env: Record<string, unknown>; raw: Record<string, unknown>;
}

export function runNode(args: string[], env: NodeJS.ProcessEnv, opts: { cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, args, { env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 45_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export class Pm2Home {
  constructor(readonly home: string, readonly extraEnv: NodeJS.ProcessEnv = {}) {}

  env(more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { ...process.env, PM2_HOME: this.home, ...this.extraEnv, ...more };
  }

  cli(args: string[], more: NodeJS.ProcessEnv = {}, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
    return runNode([PM2_BIN, ...args], this.env(more), opts);
  }

  async jlist(): Promise<AppRow[]> {
    const r = await this.cli(['jlist']);
    const start = r.stdout.indexOf('[');
    const rows = JSON.parse(start >= 0 ? r.stdout.slice(start) : '[]') as Array<Record<string, unknown>>;
    return rows.map((p) => {
      const e = (p.pm2_env ?? {}) as Record<string, unknown>;
      return {
        name: String(p.name), pm_id: Number(p.pm_id), pid: Number(p.pid), status: String(e.status),
        namespace: e.namespace as string | undefined, restart_time: Number(e.restart_time ?? 0),
        env: (e.env ?? {}) as Record<string, unknown>, raw: p,
      };
    });
  }

  /** `pm2 trigger <app> <action> [param]`: the JSON reply of the first process that answered. */
  async trigger(app: string, action: string, param?: string, timeoutMs = 30_000): Promise<{ code: number; reply?: Record<string, unknown>; out: string }> {
    // PM2's own `pm2 trigger` can lose a prompt reply (it counts replies only once the daemon
    // said how many processes received the action; one that came first never completes it —
    // see pm2-client.ts trigger): keep timeouts short for idempotent actions and retry.
    const r = await this.cli(['trigger', app, action, ...(param !== undefined ? [param] : [])], {}, { timeoutMs });
    const line = r.stdout.split('\n').find((l) => /^\[[^\]]+\]=/.test(l));
    const reply = line ? JSON.parse(line.slice(line.indexOf(']=') + 2)) as Record<string, unknown> : undefined;
    return { code: r.code, reply, out: r.stdout + r.stderr };
  }

  async kill(): Promise<void> {
    if (fs.existsSync(this.home)) await this.cli(['kill'], {}, { timeoutMs: 60_000 });
  }

  async destroy(): Promise<void> {
    await this.kill();
    fs.rmSync(this.home, { recursive: true, force: true });
  }
}

/** A fresh PM2_HOME; a daemon left there by an aborted run is killed first, never orphaned. */
export async function pm2Home(home: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Pm2Home> {
  const h = new Pm2Home(home, extraEnv);
  if (fs.existsSync(path.join(home, 'pm2.pid'))) await h.kill();
  fs.rmSync(home, { recursive: true, force: true });
  fs.mkdirSync(home, { recursive: true });
  return h;
}

/** Poll `check` until it returns a truthy value or the deadline passes (then throw, naming `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}

/** Status reply of the coordinator as returned by the `status` action. */
export interface StatusLike {
  ok?: boolean;
  summary?: string;
  error?: string;
  groups?: Array<{ name: string; state: string; reason: string; resources: Array<{ id: string; name: string; state: string; restarts: number; reason: string }> }>;
}

/** The coordinator's status reply; asked up to three times (PM2 can lose a trigger reply). */
export async function coordinatorStatus(pm2: Pm2Home, app = 'msgha'): Promise<StatusLike | undefined> {
  for (let i = 0; i < 3; i += 1) {
    const r = await pm2.trigger(app, 'status', undefined, 5000);
    if (r.reply) return r.reply as StatusLike;
  }
  return undefined;
}

export function groupOf(s: StatusLike | undefined, name: string) {
  return s?.groups?.find((g) => g.name === name);
}

export function resourceOf(s: StatusLike | undefined, id: string) {
  return s?.groups?.flatMap((g) => g.resources).find((r) => r.id === id);
}
