import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../plugin/metrics/metrics';
import { startExporter, type Exporter } from '../../../plugin/metrics/exporter';
import { portBlock } from '../../helpers/ports';

// Ports 25510–25519 of the 'demo' block (upper half belongs to metrics tests and benchmarks).
const BASE = portBlock('demo', 5) + 10;
const PROMTOOL = '/usr/bin/promtool';

let dir: string;
const open: Exporter[] = [];

beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgha-exp-')); });
afterAll(async () => {
  for (const e of open) await e.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function metricsWithSnapshot() {
  const m = createMetrics({ node: 'mx1' });
  m.setSnapshotProvider(() => ({
    node: 'mx1',
    groups: [{ group: 'mail', state: 'ONLINE', frozen: false, lease: { holder: 'mx1', holderIsMe: true, epoch: 1, remainingServeSeconds: 20 },
      resources: [{ resource: 'imap', type: 'SunJESMsg', state: 'ONLINE', restarts: 0 }] }],
  }));
  m.probe('mail', 'imap', 'imap', { outcome: 'ok', phases: { connect: 0.001, greeting: 0.002, login: 0.01, logout: 0.001, total: 0.02 } });
  m.functionDuration('mail', 'imap', 'SunJESMsg', 'monitor', 0.03);
  m.leaseRenew('mail', 0.002, true);
  return m;
}

function secretFile(name: string, content: string, mode = 0o600): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, content, { mode });
  fs.chmodSync(f, mode);
  return f;
}

async function start(...args: Parameters<typeof startExporter>): Promise<Exporter> {
  const e = await startExporter(...args);
  open.push(e);
  return e;
}

function promtool(args: string[], input: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(PROMTOOL, args, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
    child.stdin!.end(input);
  });
}

describe('exporter', () => {
  it('serves /metrics (promtool check metrics passes) and /healthz follows healthy()', async () => {
    let healthy = true;
    const e = await start(metricsWithSnapshot(), { listen: `127.0.0.1:${BASE}`, healthy: () => healthy });
    expect(e.port).toBe(BASE);
    const r = await fetch(`http://127.0.0.1:${BASE}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/plain; version=0\.0\.4/);
    const body = await r.text();
    expect(body).toContain('msgha_group_state{node="mx1",group="mail",state="ONLINE"} 1');
    expect(body).toMatch(/^process_cpu_seconds_total\{node="mx1"\} /m);
    expect(fs.existsSync(PROMTOOL), 'promtool missing: install the Debian package "prometheus"').toBe(true);
    const check = await promtool(['check', 'metrics'], body);
    expect(check.out).toBe('');
    expect(check.code).toBe(0);
    expect((await fetch(`http://127.0.0.1:${BASE}/healthz`)).status).toBe(200);
    healthy = false;
    expect((await fetch(`http://127.0.0.1:${BASE}/healthz`)).status).toBe(503);
    expect((await fetch(`http://127.0.0.1:${BASE}/nope`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${BASE}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('basic auth: 401 without or with wrong credentials, 200 with the right ones; healthz stays open', async () => {
    const passwordFile = secretFile('pw', 's3cret-pw\n');
    const port = BASE + 1;
    await start(metricsWithSnapshot(), { listen: `127.0.0.1:${port}`, basicAuth: { user: 'prom', passwordFile }, healthy: () => true });
    const url = `http://127.0.0.1:${port}/metrics`;
    const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/Basic/);
    expect((await fetch(url, { headers: basic('prom', 'wrong') })).status).toBe(401);
    expect((await fetch(url, { headers: basic('prom', 's3cret-pw') })).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('bearer token from a file', async () => {
    const tokenFile = secretFile('token', 'tok-123\n');
    const port = BASE + 2;
    await start(metricsWithSnapshot(), { listen: `127.0.0.1:${port}`, bearerTokenFile: tokenFile, healthy: () => true });
    const url = `http://127.0.0.1:${port}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer tok-123' } })).status).toBe(200);
  });

  it('refuses a non-loopback address without auth, naming the options to set', async () => {
    await expect(startExporter(metricsWithSnapshot(), { listen: `0.0.0.0:${BASE + 3}`, healthy: () => true }))
      .rejects.toThrow(/metrics\.basicAuth.*metrics\.bearerTokenFile/);
  });

  it('refuses group-readable or empty credential files without echoing their content', async () => {
    const loose = secretFile('loose', 'visible-secret', 0o644);
    const err = await startExporter(metricsWithSnapshot(), { listen: `127.0.0.1:${BASE + 4}`, bearerTokenFile: loose, healthy: () => true })
      .then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/chmod 600/);
    expect(err?.message).not.toContain('visible-secret');
    const empty = secretFile('empty', '');
    await expect(startExporter(metricsWithSnapshot(), { listen: `127.0.0.1:${BASE + 4}`, bearerTokenFile: empty, healthy: () => true }))
      .rejects.toThrow(/empty/);
  });

  it('rejects a malformed listen address and a port in use with the option name', async () => {
    await expect(startExporter(metricsWithSnapshot(), { listen: 'localhost', healthy: () => true })).rejects.toThrow(/HOST:PORT/);
    await expect(startExporter(metricsWithSnapshot(), { listen: `127.0.0.1:${BASE}`, healthy: () => true })).rejects.toThrow(/EADDRINUSE.*metrics\.listen/);
  });
});
