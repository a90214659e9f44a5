/**
 * Multi-node test harness primitives: lease nodes as real processes (lease-node.cjs: elector +
 * I/O helper + fence + tick service) on one shared directory, fault injection by pid (SIGKILL,
 * SIGSTOP of the agent or of its I/O helper), and the invariant checker over the services'
 * ticks, all timed on the machine's one CLOCK_MONOTONIC. Cleans up every process it started,
 * by pid, and the fences' cgroups.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readOnlyOverSteps, removeCgroup } from '../fixtures/cluster/node';

export const mono = (): number => Number(process.hrtime.bigint()) / 1e6;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch { return false; }
}

export function childrenOf(pid: number): number[] {
  try { return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; }
}

export function cmdline(pid: number): string {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '); } catch { return ''; }
}

export interface LeaseEvent { t: number; node: string; type: string; epoch?: number; detail?: unknown; pid?: number }
export interface Tick { node: string; epoch: number; t: number }

export class LeaseCluster {
  readonly shared: string;
  /** The store root, `<shared>/.cluster/lc` as on a real cluster (groups/, cluster.json). */
  readonly root: string;
  readonly out: string;
  readonly procs = new Map<string, ChildProcess>();
  /** Per-node bind mounts of the shared directory (so a fault can hit one node's view). */
  private readonly views: string[] = [];
  private readonly tag = `t${process.pid}${Math.floor(Math.random() * 1e4)}`;
  /** The cluster key every node reads (base64, mode 0600, like `msgha keygen` writes it). */
  readonly keyFile: string;
  readonly key: Buffer;
  /** cluster.nodes of the lease nodes (holders outside it are never trusted). */
  nodes = ['n1', 'n2', 'n3', 'n9'];

  /**
   * `squashUid`: the I/O helpers run as that user and the shared directory belongs to it — what
   * root's writes look like on an NFS export with root_squash (anyone with that uid may write).
   */
  constructor(readonly base: string, readonly profile = 'fast', readonly bindViews = false, readonly squashUid?: number) {
    this.shared = path.join(base, 'shared');
    this.root = path.join(this.shared, '.cluster', 'lc');
    this.out = path.join(base, 'out');
    fs.mkdirSync(this.shared, { recursive: true });
    fs.mkdirSync(this.out, { recursive: true });
    this.key = randomBytes(32);
    this.keyFile = path.join(base, 'cluster.key');
    fs.writeFileSync(this.keyFile, this.key.toString('base64') + '\n', { mode: 0o600 });
    if (squashUid !== undefined) {
      fs.chmodSync(base, 0o755);
      fs.chownSync(this.shared, squashUid, squashUid);
    }
  }

  runDir(node: string): string { return path.join(this.base, 'run', node); }
  fenceId(node: string): string { return `${this.tag}${node}`; }

  /** The node's path to the shared directory: its own bind mount when bindViews is set. */
  sharedView(node: string): string {
    if (!this.bindViews) return this.shared;
    const v = path.join(this.base, 'views', node);
    if (!this.views.includes(v)) {
      fs.mkdirSync(v, { recursive: true });
      execFileSync('mount', ['--bind', this.shared, v]);
      this.views.push(v);
    }
    return v;
  }

  /** Storage fails fast on one node: its view becomes read-only (EROFS). */
  readOnly(node: string): void {
    const view = this.sharedView(node);
    for (const argv of readOnlyOverSteps(view, path.join(this.base, 'ro-stage', node))) execFileSync(argv[0]!, argv.slice(1));
  }

  start(node: string, env: Record<string, string> = {}): ChildProcess {
    const script = path.join(__dirname, 'lease-node.cjs');
    const child = spawn(process.execPath, [script], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env, NODE_NAME: node, SHARED: path.join(this.sharedView(node), '.cluster', 'lc'), RUN_DIR: this.runDir(node), OUT: this.out, PROFILE: this.profile, FENCE_ID: this.fenceId(node),
        KEY_FILE: this.keyFile, NODES: this.nodes.join(','), ...(this.squashUid !== undefined ? { SQUASH_UID: String(this.squashUid) } : {}), ...env,
      },
    });
    child.stderr?.on('data', (d: Buffer) => { fs.appendFileSync(path.join(this.out, `${node}.stderr`), d); });
    this.procs.set(node, child);
    return child;
  }

  pid(node: string): number { return this.procs.get(node)!.pid!; }
  helperPid(node: string): number | undefined { return childrenOf(this.pid(node)).find((p) => cmdline(p).includes('io-helper-child')); }
  fencePid(node: string): number | undefined {
    try { return Number(fs.readFileSync(path.join(this.runDir(node), 'fence.pid'), 'utf8')) || undefined; } catch { return undefined; }
  }

  events(node?: string): LeaseEvent[] {
    const out: LeaseEvent[] = [];
    for (const f of fs.readdirSync(this.out)) {
      if (!f.endsWith('.events') || (node && f !== `${node}.events`)) continue;
      for (const l of fs.readFileSync(path.join(this.out, f), 'utf8').split('\n')) if (l) out.push(JSON.parse(l) as LeaseEvent);
    }
    return out.sort((a, b) => a.t - b.t);
  }

  fenceLog(node: string): Array<Record<string, unknown>> {
    try {
      return fs.readFileSync(path.join(this.runDir(node), 'fence.log'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    } catch { return []; }
  }

  ticks(): Tick[] {
    const out: Tick[] = [];
    for (const f of fs.readdirSync(this.out)) {
      if (!f.endsWith('.ticks')) continue;
      for (const l of fs.readFileSync(path.join(this.out, f), 'utf8').split('\n')) {
        const [node, epoch, t] = l.split(' ');
        if (node && epoch && t) out.push({ node, epoch: Number(epoch), t: Number(t) });
      }
    }
    return out.sort((a, b) => a.t - b.t);
  }

  acquires(): LeaseEvent[] { return this.events().filter((e) => e.type === 'acquired'); }
  holderNow(): string | undefined {
    const last = new Map<string, string>();
    for (const e of this.events()) if (e.type === 'acquired' || e.type === 'lost' || e.type === 'released') last.set(e.node, e.type);
    const holders = [...last].filter(([, t]) => t === 'acquired').map(([n]) => n);
    return holders.length === 1 ? holders[0] : undefined;
  }

  async waitFor(pred: () => boolean, maxMs: number, stepMs = 25): Promise<boolean> {
    const end = mono() + maxMs;
    while (mono() < end) { if (pred()) return true; await sleep(stepMs); }
    return pred();
  }

  /**
   * The invariant: no tick of epoch e at or after the first tick of any epoch e' > e, and one
   * acquire per epoch. Returns the violations (empty = safe).
   */
  violations(): string[] {
    const ticks = this.ticks();
    const first = new Map<number, number>();
    for (const k of ticks) if (!first.has(k.epoch)) first.set(k.epoch, k.t);
    const out: string[] = [];
    for (const k of ticks) {
      for (const [e, t0] of first) {
        if (e > k.epoch && k.t >= t0) { out.push(`${k.node} served epoch ${k.epoch} at ${k.t.toFixed(1)}, after epoch ${e} began at ${t0.toFixed(1)}`); break; }
      }
    }
    const seen = new Map<number, number>();
    for (const a of this.acquires()) seen.set(a.epoch!, (seen.get(a.epoch!) ?? 0) + 1);
    for (const [e, n] of seen) if (n > 1) out.push(`epoch ${e} acquired ${n} times`);
    return out.slice(0, 5);
  }

  /** Gap between the last tick of `oldEpoch` and the first tick of the next epoch (ms). */
  gap(oldEpoch: number): number | undefined {
    const ticks = this.ticks();
    const last = ticks.filter((k) => k.epoch === oldEpoch).at(-1);
    const next = ticks.find((k) => k.epoch > oldEpoch);
    return last && next ? next.t - last.t : undefined;
  }

  /** SIGKILLs everything of a node: agent, I/O helper, service processes and its fence. */
  crash(node: string): void {
    const pids = [this.pid(node), ...childrenOf(this.pid(node)), ...this.servicePids(node)];
    const fp = this.fencePid(node);
    if (fp) pids.push(fp);
    for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  }

  servicePids(node?: string): number[] {
    return fs.readdirSync(this.out).filter((f) => f.includes('.ticks.pid.') && (!node || f.startsWith(`${node}.`))).map((f) => Number(f.split('.').pop()));
  }

  async cleanup(): Promise<void> {
    for (const [node, c] of this.procs) {
      for (const p of [c.pid!, ...childrenOf(c.pid!)]) { try { process.kill(p, 'SIGCONT'); process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
      const fp = this.fencePid(node);
      if (fp) { try { process.kill(fp, 'SIGKILL'); } catch { /* gone */ } }
    }
    for (const p of this.servicePids()) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    await sleep(100);
    for (const node of this.procs.keys()) removeCgroup(this.fenceId(node));
    // A read-only view is a second mount on top of the view's bind: take off both.
    for (const v of this.views) for (let i = 0; i < 2; i++) { try { execFileSync('umount', ['-l', v], { stdio: 'ignore' }); } catch { /* gone */ } }
    if (!process.env.MH_KEEP) fs.rmSync(this.base, { recursive: true, force: true });
  }
}
