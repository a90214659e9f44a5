/**
 * Two coordinators, each under its own PM2 daemon (PM2_HOME, MSGHA_NODE=a|b, own MSGHA_RUN_DIR
 * with its own fence), on one shared temp directory with lease profile 'fast', one group with an
 * Application resource wrapping a small TCP daemon that answers with the name of the node that
 * started it. No namespaces: the daemon's port is the "VIP" — only one node's daemon can hold it.
 * Covers: the group runs on exactly one node; SIGKILL of node a's PM2 daemon and agents → the
 * fence kills a's daemon → b takes over; switch moves it back; a persistent freeze blocks the
 * takeover until unfreeze; RestartLimit used up → failover to the other node, faulted flag
 * published until clear; `msgha status --cluster` shows it all from the shared directory; `pm2 ls`
 * mirrors the component on both nodes — the app `app:svc` online only where the group runs and
 * stopped elsewhere, reversed within a second of a switch, stopped everywhere after
 * `msgha offline`, and a restart in place shown by `pm2 show`.
 * Standby offline monitoring is off here (OfflineMonitorInterval 0): on one machine every node
 * would see the other's daemon through the shared pid file.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FenceClient } from '../../plugin/fence/client';
import { portBlock } from '../helpers/ports';
import { acquireRunLock } from '../helpers/run-lock';
import { pm2Home, runNode, waitFor, PACKAGE_ROOT, type Pm2Home } from '../helpers/pm2';
import { clusterFileSource } from '../fixtures/cluster-file';

const BASE = portBlock('pm2', 8);
const PORT = BASE + 1;
const WORK = `/tmp/msgha-p${BASE}w`;
const SHARED = path.join(WORK, 'shared');
const PIDFILE = path.join(WORK, 'svc.pid');
const CLI = path.join(PACKAGE_ROOT, 'dist', 'plugin', 'cli', 'main.js');

const nodes: Record<'a' | 'b', Pm2Home> = {} as Record<'a' | 'b', Pm2Home>;
let file = '';
let release: (() => Promise<void>) | undefined;

const DAEMON = `
const net = require('node:net'); const fs = require('node:fs'); const { spawn } = require('node:child_process');
const [mode, pidFile, port, name] = process.argv.slice(2);
if (mode === 'start') {
  // The agent runs us with a clean environment: its own (our parent's) names the node.
  let who = '?';
  try { who = (fs.readFileSync('/proc/' + process.ppid + '/environ', 'utf8').split('\\0').find((e) => e.startsWith('MSGHA_NODE=')) || '=?').split('=')[1]; } catch {}
  const c = spawn(process.execPath, [__filename, 'run', pidFile, port, who], { detached: true, stdio: 'ignore' });
  c.unref();
  setTimeout(() => process.exit(0), 100);
} else {
  const srv = net.createServer((s) => s.end(name + ' ' + process.pid + '\\n'));
  srv.on('error', () => process.exit(3));
  srv.listen(Number(port), '127.0.0.1', () => fs.writeFileSync(pidFile, String(process.pid)));
}
`;

function writeCluster(): string {
  const dist = path.join(PACKAGE_ROOT, 'dist', 'plugin', 'index.js');
  const svc = path.join(WORK, 'svc.js');
  fs.writeFileSync(svc, DAEMON);
  // A multi-node cluster signs its shared directory with a key derived from the cluster key.
  const keyFile = path.join(WORK, 'keys', 'cluster.key');
  fs.mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  if (!fs.existsSync(keyFile)) fs.writeFileSync(keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  const fast = { MonitorInterval: 1, OfflineMonitorInterval: 0, OnlineTimeout: 10, OfflineTimeout: 5, CleanTimeout: 5, MonitorTimeout: 3, RestartLimit: 1, ConfInterval: 600 };
  const def = {
    cluster: { name: 'mn', nodes: ['a', 'b'], sharedDir: SHARED, keyFile, lease: { profile: 'fast' }, metrics: { listen: `127.0.0.1:${BASE + 90}` } },
    groups: {
      app: {
        systemList: ['a', 'b'],
        resources: {
          svc: { type: 'Application', StartProgram: `${process.execPath} ${svc} start ${PIDFILE} ${PORT}`, PidFiles: [PIDFILE], ...fast },
        },
      },
    },
  };
  const f = path.join(WORK, 'cluster.config.js');
  fs.writeFileSync(f, clusterFileSource(dist, def));
  return f;
}

/** Which node's daemon answers on the port ('' when none). */
function who(timeoutMs = 500): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port: PORT });
    const done = (v: string): void => { sock.destroy(); resolve(v); };
    sock.setTimeout(timeoutMs, () => done(''));
    sock.on('error', () => done(''));
    sock.once('data', (d) => done(d.toString('utf8').split(' ')[0] ?? ''));
  });
}

async function msgha(node: 'a' | 'b', args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runNode([CLI, ...args], nodes[node].env(), { timeoutMs: 60_000 });
}

async function clusterStatus(): Promise<{ groups: Array<{ name: string; holder: string | null; epoch: number | null; frozen: boolean; onlineOn: string[]; nodes: Record<string, { state: string; faulted: boolean } | null>; lastFailover: { from: string; to: string; kind: string; why: string } | null }> }> {
  const r = await msgha('a', ['status', '--json', '--cluster', file]);
  if (r.code !== 0) throw new Error(`msgha status: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '); } catch { return false; }
}

/** SIGKILL of a node's PM2 daemon and every app it runs (coordinator, agents): the node "dies", its fence stays. */
async function crash(node: 'a' | 'b'): Promise<void> {
  const h = nodes[node];
  const apps = await h.jlist();
  const god = Number(fs.readFileSync(path.join(h.home, 'pm2.pid'), 'utf8'));
  for (const pid of [god, ...apps.map((x) => x.pid).filter((p) => p > 0)]) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  await waitFor(`${node}'s PM2 gone`, () => !alive(god));
  fs.rmSync(path.join(h.home, 'rpc.sock'), { force: true });
  fs.rmSync(path.join(h.home, 'pub.sock'), { force: true });
}

async function startNode(node: 'a' | 'b'): Promise<void> {
  const r = await nodes[node].cli(['start', file]);
  expect(r.code, r.stderr + r.stdout).toBe(0);
}

/** The node published itself OFFLINE for the group and the other node judges it alive again. */
async function waitForFollower(node: 'a' | 'b'): Promise<void> {
  await waitFor(`${node} back as a live follower`, async () => {
    const s = (await clusterStatus()) as unknown as { nodes: Array<{ node: string; alive: boolean | null }>; groups: Array<{ nodes: Record<string, { state: string } | null> }> };
    return s.groups[0]?.nodes[node]?.state === 'OFFLINE' && s.nodes.find((n) => n.node === node)?.alive === true;
  }, { timeoutMs: 30_000 });
}

/** PM2's status of the app `app:svc` on a node. */
async function appStatus(node: 'a' | 'b'): Promise<string | undefined> {
  return (await nodes[node].jlist()).find((x) => x.name === 'app:svc')?.status;
}

/** The app's `pm2 show` metrics on a node. */
async function shown(node: 'a' | 'b'): Promise<Record<string, { value: unknown }>> {
  const row = (await nodes[node].jlist()).find((x) => x.name === 'app:svc');
  return ((row?.raw.pm2_env as Record<string, unknown> | undefined)?.axm_monitor ?? {}) as Record<string, { value: unknown }>;
}

function daemonPid(): number {
  return Number(fs.readFileSync(PIDFILE, 'utf8').trim());
}

beforeAll(async () => {
  // Another clone's run of this file uses the same ports and directory: wait for it (up to 300 s)
  // instead of tearing its daemons down, then 120 s for our own start.
  release = await acquireRunLock(`${WORK}.lock`, 300_000);
  nodes.a = await pm2Home(path.join(WORK, 'ha'), { MSGHA_NODE: 'a', MSGHA_RUN_DIR: path.join(WORK, 'ra') });
  nodes.b = await pm2Home(path.join(WORK, 'hb'), { MSGHA_NODE: 'b', MSGHA_RUN_DIR: path.join(WORK, 'rb') });
  for (const e of fs.readdirSync(WORK)) if (e !== 'ha' && e !== 'hb') fs.rmSync(path.join(WORK, e), { recursive: true, force: true });
  fs.mkdirSync(SHARED, { recursive: true });
  file = writeCluster();
  await startNode('a');
  await waitFor('a serves', async () => (await who()) === 'a', { timeoutMs: 60_000 });
  await startNode('b');
}, 420_000);

afterAll(async () => {
  if (process.env.MSGHA_TEST_KEEP) return;
  try { await teardown(); } finally { await release?.(); }
}, 120_000);

async function teardown(): Promise<void> {
  for (const n of ['a', 'b'] as const) await nodes[n]?.destroy();
  // The fences run detached (outside PM2): ask them to exit (they remove their cgroups), then by pid.
  for (const [n, dir] of [['a', 'ra'], ['b', 'rb']] as const) {
    const runDir = path.join(WORK, dir);
    await new FenceClient({ runDir, node: n }).shutdown(true);
    await new Promise((r) => setTimeout(r, 300));
    try { process.kill(Number(fs.readFileSync(path.join(runDir, 'fence.pid'), 'utf8')), 'SIGKILL'); } catch { /* gone */ }
  }
  try { process.kill(daemonPid(), 'SIGKILL'); } catch { /* none */ }
  fs.rmSync(WORK, { recursive: true, force: true });
}

describe('two coordinators on one shared directory (profile fast)', () => {
  it('runs the group on exactly one node; msgha status shows the whole cluster from the shared directory', async () => {
    const s = await waitFor('b published', async () => { const x = await clusterStatus(); return x.groups[0]?.nodes.b ? x : undefined; }, { timeoutMs: 20_000 });
    const g = s.groups[0]!;
    expect(g.holder).toBe('a');
    expect(g.onlineOn).toEqual(['a']);
    expect(g.nodes.b?.state).toBe('OFFLINE');
    // pm2 ls tells the truth: the app runs where the component runs, and only there.
    expect(await appStatus('a')).toBe('online');
    await waitFor('b\'s app stopped', async () => (await appStatus('b')) === 'stopped', { timeoutMs: 15_000 });
    // Watch for a while: still exactly one server.
    for (let i = 0; i < 10; i += 1) { expect(await who()).toBe('a'); await new Promise((r) => setTimeout(r, 200)); }
    const text = await msgha('b', ['status', '--cluster', file]);
    expect(text.stdout).toMatch(/app\s+a\s+\d+/);
    // The local coordinator's status action also carries the published view.
    const t = await nodes.b.trigger('msgha', 'status', undefined, 10_000);
    expect(t.reply?.mode).toBe('multi-node');
  });

  it('SIGKILL of node a\'s PM2 daemon and agents: the fence kills a\'s daemon, then b takes over', async () => {
    const old = daemonPid();
    const t0 = performance.now();
    await crash('a');
    await waitFor('a\'s daemon killed by the fence', () => !alive(old), { timeoutMs: 10_000, intervalMs: 20 });
    const killedMs = performance.now() - t0;
    await waitFor('b serves', async () => (await who()) === 'b', { timeoutMs: 30_000, intervalMs: 50 });
    const servedMs = performance.now() - t0;
    process.stdout.write(`crash of a → daemon killed by the fence after ${Math.round(killedMs)} ms, b serving after ${Math.round(servedMs)} ms\n`);
    // The holder comes from the lease record; the failover record from b's published view, which
    // follows within a publish period (longer under load): wait for both.
    const s = await waitFor('b holder, its failover published', async () => { const x = await clusterStatus(); return x.groups[0]?.holder === 'b' && x.groups[0]?.lastFailover?.to === 'b' ? x : undefined; }, { timeoutMs: 15_000 });
    expect(s.groups[0]!.lastFailover?.kind).toBe('lease-expired');
    await startNode('a');
    await waitForFollower('a');
    expect(await who()).toBe('b');
  });

  it('switch moves it back to a (CLI on b, default target)', async () => {
    const r = await msgha('b', ['switch', 'app']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/RELEASED to a/);
    await waitFor('a serves', async () => (await who()) === 'a', { timeoutMs: 20_000 });
    // Within a second of the switch completing, pm2 ls shows it the other way round.
    const served = performance.now();
    await waitFor('apps reversed', async () => (await appStatus('a')) === 'online' && (await appStatus('b')) === 'stopped', { timeoutMs: 5000, intervalMs: 50 });
    const reversedMs = Math.round(performance.now() - served);
    process.stdout.write(`switch: pm2 ls reversed ${reversedMs} ms after a served\n`);
    expect(reversedMs).toBeLessThanOrEqual(1000);
    const s = await waitFor('a holder, the switch published', async () => { const x = await clusterStatus(); return x.groups[0]?.holder === 'a' && x.groups[0]?.lastFailover?.kind === 'switch' ? x : undefined; }, { timeoutMs: 15_000 });
    expect(s.groups[0]!.lastFailover?.from).toBe('b');
    // Refusals explain themselves.
    const bad = await nodes.a.trigger('msgha', 'switch', 'app:zz', 10_000);
    expect(bad.reply?.ok).toBe(false);
    expect(String(bad.reply?.summary)).toMatch(/not in the systemList/);
  });

  it('a persistent freeze blocks the takeover until unfreeze', async () => {
    const f = await nodes.a.trigger('msgha', 'freeze', 'app:persistent', 10_000);
    expect(f.reply?.ok, JSON.stringify(f.reply)).toBe(true);
    const old = daemonPid();
    await crash('a');
    await waitFor('a\'s daemon killed by the fence', () => !alive(old), { timeoutMs: 10_000, intervalMs: 20 });
    // L = 2.4 s: three lease periods without a takeover.
    for (let i = 0; i < 15; i += 1) { expect(await who()).toBe(''); await new Promise((r) => setTimeout(r, 500)); }
    const u = await msgha('b', ['unfreeze', 'app']);
    expect(u.code, u.stdout + u.stderr).toBe(0);
    await waitFor('b serves after unfreeze', async () => (await who()) === 'b', { timeoutMs: 20_000 });
    await startNode('a');
    await waitForFollower('a');
  });

  it('RestartLimit used up on b: failover to a; b marked faulted until clear', async () => {
    // RestartLimit 1: the first kill restarts in place, the second faults the group on b.
    for (let i = 0; i < 2; i += 1) {
      await waitFor('b serves', async () => (await who()) === 'b', { timeoutMs: 20_000 });
      // The agent must have seen the daemon ONLINE first (else its online is still polling).
      await waitFor('svc ONLINE on b', async () => (await clusterStatus()).groups[0]?.nodes.b?.state === 'ONLINE', { timeoutMs: 20_000 });
      process.kill(daemonPid(), 'SIGKILL');
      await waitFor('daemon gone', async () => (await who()) !== 'b', { timeoutMs: 5000, intervalMs: 20 });
      if (i === 0) {
        // The restart in place, where a PM2 user looks: pm2 show, within a second of it.
        await waitFor('b serves again', async () => (await who()) === 'b', { timeoutMs: 20_000, intervalMs: 50 });
        const m = await waitFor('pm2 show: restarts in place 1', async () => { const x = await shown('b'); return x['restarts in place']?.value === 1 ? x : undefined; }, { timeoutMs: 3000, intervalMs: 100 });
        expect(String(m.daemons?.value)).toMatch(/^\d+/);
      }
    }
    await waitFor('a serves after the fault on b', async () => (await who()) === 'a', { timeoutMs: 30_000 });
    const s = await waitFor('b faulted in its view', async () => { const x = await clusterStatus(); return x.groups[0]?.nodes.b?.faulted ? x : undefined; }, { timeoutMs: 10_000 });
    expect(s.groups[0]!.holder).toBe('a');
    const c = await msgha('b', ['clear', 'app']);
    expect(c.code, c.stdout + c.stderr).toBe(0);
    await waitFor('b no longer faulted', async () => (await clusterStatus()).groups[0]?.nodes.b?.faulted === false, { timeoutMs: 10_000 });
    expect(await who()).toBe('a');
    expect(await appStatus('b')).toBe('stopped');
  });

  it('msgha offline: the app is stopped on every node', async () => {
    const r = await msgha('a', ['offline', 'app']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await waitFor('no server', async () => (await who()) === '', { timeoutMs: 10_000 });
    await waitFor('stopped everywhere', async () => (await appStatus('a')) === 'stopped' && (await appStatus('b')) === 'stopped', { timeoutMs: 5000, intervalMs: 100 });
  });
});
