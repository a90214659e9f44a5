/**
 * Issue 10, item 4 — a connection flood on /metrics must not hurt the lease. The audit: 21,000
 * idle connections to the loopback metrics port used up the coordinator's descriptors, the
 * fence client (a new socket per renewal) got EMFILE and the holder self-fenced.
 *
 * Here, as the attacker would: two processes running as user nobody (setpriv; each at most its
 * hard limit of descriptors) open 25,000 idle connections to the exporter while this process —
 * standing in for the coordinator: the exporter with its production limits and the real
 * FenceClient in one process — renews a real, armed fence every 200 ms. Every renewal must
 * succeed, the fence must never fire (the service it guards stays alive), and the exporter
 * answers a normal scrape once the flood is gone. Scrape latency p50/p90 before, during and after
 * is printed (no timing is asserted: the machine is shared). Needs root and `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../plugin/metrics/metrics';
import { startExporter, type Exporter } from '../../plugin/metrics/exporter';
import { FenceClient } from '../../plugin/fence/client';
import { logPath, type FenceReply } from '../../plugin/fence/protocol';
import { portBlock } from '../helpers/ports';

// 26720–26729 of the 'spare' block 7 (the metrics-port security tests).
const PORT = portBlock('spare', 7) + 20;
const WORK = `/tmp/mh-secm-flood-${process.pid}`;
const RUN = path.join(WORK, 'run');
const FLOOD = path.join(WORK, 'flood.js');
const TOTAL = 25_000;
const FLOODERS = 2;
const GROUP = 'mail';

/** Opens COUNT idle connections (never sends a byte), from 127.0.0.2–9 so no source port runs out; reports JSON lines. */
const FLOOD_JS = `
const net = require('net');
const [port, count] = process.argv.slice(2).map(Number);
const s = { attempts: 0, connected: 0, open: 0, maxOpen: 0, closedByServer: 0, errors: {}, done: false };
const socks = new Set();
let inflight = 0;
let stopping = false;
function one() {
  s.attempts++; inflight++;
  const sock = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.' + (2 + (s.attempts % 8)) });
  socks.add(sock);
  let up = false;
  sock.on('connect', () => { up = true; inflight--; s.connected++; s.open++; s.maxOpen = Math.max(s.maxOpen, s.open); more(); });
  sock.on('error', (e) => { s.errors[e.code] = (s.errors[e.code] || 0) + 1; });
  sock.on('close', () => { socks.delete(sock); if (up) { s.open--; if (!stopping) s.closedByServer++; } else { inflight--; more(); } });
}
function more() {
  while (!stopping && inflight < 400 && s.attempts < count) one();
  if (s.attempts >= count && inflight === 0) s.done = true;
}
const report = () => process.stdout.write(JSON.stringify(s) + '\\n');
setInterval(report, 250);
process.on('SIGTERM', () => { stopping = true; for (const x of socks) x.destroy(); report(); process.exit(0); });
more();
`;

let exporter: Exporter;
const fence = new FenceClient({ runDir: RUN, node: `flood${process.pid}` });
let fencePid: number | undefined;
let servicePid: number | undefined;
const flooders: ChildProcess[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };
const pct = (xs: number[], p: number): number => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]! : NaN);

/** One scrape on a fresh connection, as a new Prometheus would: status and milliseconds. */
function scrape(timeoutMs = 5000): Promise<{ status: number; ms: number; body: string }> {
  const t = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: PORT, path: '/metrics', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t, body }));
      res.on('error', () => resolve({ status: 0, ms: performance.now() - t, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t, body: '' }));
  });
}

async function scrapes(n: number): Promise<{ ok: number[]; failed: number }> {
  const ok: number[] = [];
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const r = await scrape();
    if (r.status === 200 && r.body.includes('msgha_')) ok.push(r.ms); else failed++;
  }
  return { ok, failed };
}

const fmt = (s: { ok: number[]; failed: number }): string => `p50 ${pct(s.ok, 50).toFixed(2)} ms, p90 ${pct(s.ok, 90).toFixed(2)} ms (${s.ok.length} ok, ${s.failed} failed)`;

function ownFds(): number { return fs.readdirSync('/proc/self/fd').length; }

beforeAll(async () => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(RUN, { recursive: true, mode: 0o700 });
  // The flooders run as nobody: they need to read their script (the run dir stays root-only).
  fs.chmodSync(WORK, 0o755);
  fs.writeFileSync(FLOOD, FLOOD_JS, { mode: 0o644 });
  const m = createMetrics({ node: 'mx1' });
  m.setSnapshotProvider(() => ({ node: 'mx1', groups: [{ group: GROUP, state: 'ONLINE', frozen: false, resources: [] }] }));
  exporter = await startExporter(m, { listen: `127.0.0.1:${PORT}`, healthy: () => true });
  const f = await fence.ensureRunning();
  expect(f.ok, f.reason).toBe(true);
  fencePid = f.pid;
}, 60_000);

afterAll(async () => {
  for (const c of flooders) if (c.pid && c.exitCode === null) { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }
  if (servicePid && alive(servicePid)) process.kill(servicePid, 'SIGKILL');
  await fence.shutdown(true);
  fence.close();
  await sleep(100);
  if (fencePid && alive(fencePid)) process.kill(fencePid, 'SIGKILL');
  await exporter?.close();
  fs.rmSync(WORK, { recursive: true, force: true });
}, 60_000);

describe('25,000 idle connections to /metrics while the lease renews', () => {
  it('every fence renewal succeeds, the fence never fires, and /metrics answers after the flood', async () => {
    const before = await scrapes(40);
    expect(before.failed).toBe(0);

    // The lease: armed with a 2 s kill deadline, renewed every 200 ms over the real client.
    expect((await fence.arm(GROUP, 1, 'n1', 2000)).ok).toBe(true);
    const svc = await fence.spawn(GROUP, ['/bin/sleep', '600']);
    expect(svc.ok, svc.reason).toBe(true);
    servicePid = svc.pid;
    const replies: FenceReply[] = [];
    let renewing = true;
    const renewals = (async () => {
      while (renewing) {
        replies.push(await fence.renew(GROUP, 1, 2000));
        await sleep(200);
      }
    })();

    // The flood: as nobody, each process within its own descriptor limit.
    const stats = new Map<ChildProcess, Record<string, unknown>>();
    for (let i = 0; i < FLOODERS; i++) {
      const c = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, FLOOD, String(PORT), String(TOTAL / FLOODERS)], { stdio: ['ignore', 'pipe', 'pipe'] });
      flooders.push(c);
      let buf = '';
      c.stdout!.setEncoding('utf8');
      c.stdout!.on('data', (d: string) => {
        buf += d;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          try { stats.set(c, JSON.parse(buf.slice(0, nl)) as Record<string, unknown>); } catch { /* partial */ }
          buf = buf.slice(nl + 1);
        }
      });
    }
    let maxFds = ownFds();
    const during: { ok: number[]; failed: number } = { ok: [], failed: 0 };
    const deadline = Date.now() + 240_000;
    while (![...stats.values()].filter((s) => s.done).length || [...stats.values()].filter((s) => s.done).length < FLOODERS) {
      expect(Date.now() < deadline, `flood did not finish: ${JSON.stringify([...stats.values()])}`).toBe(true);
      for (const c of flooders) expect(c.exitCode, 'a flooder died').toBeNull();
      maxFds = Math.max(maxFds, ownFds());
      const r = await scrape(2000);
      if (r.status === 200) during.ok.push(r.ms); else during.failed++;
      await sleep(100);
    }
    // Hold the connections a little longer, renewals going on.
    for (let i = 0; i < 10; i++) { maxFds = Math.max(maxFds, ownFds()); await sleep(200); }
    const flood = [...stats.values()];
    for (const c of flooders) c.kill('SIGTERM');
    await Promise.all(flooders.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    renewing = false;
    await renewals;

    const sum = (k: string) => flood.reduce((a, s) => a + Number(s[k] ?? 0), 0);
    const failedRenewals = replies.filter((r) => !r.ok);
    console.log([
      `flood: ${sum('attempts')} connection attempts by ${FLOODERS} processes as nobody, ${sum('connected')} connected, ${sum('closedByServer')} closed by the exporter, at most ${sum('maxOpen')} open at once (client view); errors ${JSON.stringify(flood.map((s) => s.errors))}`,
      `exporter: ${exporter.connections().dropped} connections dropped at the cap; this process at most ${maxFds} descriptors`,
      `fence: ${replies.length} renewals, ${failedRenewals.length} failed`,
      `scrape latency before: ${fmt(before)}`,
      `scrape latency during: ${fmt(during)}`,
    ].join('\n'));

    expect(sum('attempts')).toBe(TOTAL);
    expect(sum('connected')).toBeGreaterThan(TOTAL * 0.9);
    expect(failedRenewals).toEqual([]);
    expect(replies.length).toBeGreaterThanOrEqual(10);
    expect(exporter.connections().dropped).toBeGreaterThan(0);
    // The cap holds the exporter's sockets to 64: this process never came near its limit.
    expect(maxFds).toBeLessThan(1000);
    // The fence never fired: the guarded service lives, the group is still armed.
    expect(alive(servicePid!)).toBe(true);
    expect(fs.readFileSync(logPath(RUN), 'utf8')).not.toMatch(/"event":"fired"/);
    const st = await fence.status();
    expect(st.groups.find((g) => g.group === GROUP)).toMatchObject({ armed: true, epoch: 1 });

    // After the flood: a normal scrape answers.
    const first = await scrape();
    expect(first.status).toBe(200);
    expect(first.body).toContain('msgha_group_state');
    const after = await scrapes(40);
    console.log(`scrape latency after: ${fmt(after)}`);
    expect(after.failed).toBe(0);
    expect((await fence.disarm(GROUP, 1)).ok).toBe(true);
  }, 300_000);
});
