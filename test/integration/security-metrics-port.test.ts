/**
 * Issue 10, item 4 — a taken metrics port. As user nobody (setpriv), a process grabs the
 * coordinator's metrics port before it starts and serves a fake /healthz that answers 200. The
 * real coordinator under a real PM2 daemon must keep running, report it — an ERROR naming the
 * holder (uid, pid), `msgha status` ("metrics: HOST:PORT not listening — port taken by another
 * process (…), retrying"), the PM2 metric "metrics exporter" — keep trying, and serve /metrics
 * as soon as the port is free; `msgha status` then says the exporter is this coordinator's.
 * Needs root and `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portBlock } from '../helpers/ports';
import { pm2Home, runNode, waitFor, PACKAGE_ROOT, type Pm2Home } from '../helpers/pm2';
import { clusterFileSource } from '../fixtures/cluster-file';

// 26740–26749 of the 'spare' block 7 (the metrics-port security tests).
const PORT = portBlock('spare', 7) + 40;
const WORK = `/tmp/mh-secm-port-${process.pid}`;
const CLI = path.join(PACKAGE_ROOT, 'dist', 'plugin', 'cli', 'main.js');
const FAKE = path.join(WORK, 'fake-healthz.js');

/** The attacker's exporter: 200 "ok" for every path. */
const FAKE_JS = `
const http = require('http');
http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok\\n'); })
  .listen(Number(process.argv[2]), '127.0.0.1', () => process.stdout.write('listening\\n'));
`;

let pm2: Pm2Home;
let fake: ChildProcess | undefined;

async function status(): Promise<string> {
  const r = await runNode([CLI, 'status'], pm2.env(), { timeoutMs: 40_000 });
  return r.stdout + r.stderr;
}

async function get(p: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${PORT}${p}`, { signal: AbortSignal.timeout(5000) });
    return { status: r.status, body: await r.text() };
  } catch {
    return undefined;
  }
}

function coordinatorLog(): string {
  const dir = path.join(pm2.home, 'logs');
  return fs.readdirSync(dir).filter((f) => f.startsWith('msgha-')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
}

beforeAll(async () => {
  pm2 = await pm2Home(path.join(WORK, 'h'), { MSGHA_NODE: 'n1' });
  fs.chmodSync(WORK, 0o755);
  fs.writeFileSync(FAKE, FAKE_JS, { mode: 0o644 });
  fake = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, FAKE, String(PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    fake!.stdout!.once('data', () => resolve());
    fake!.once('exit', (code) => reject(new Error(`the fake exporter exited (${code}) before listening`)));
  });
  const def = {
    cluster: { name: 'pt', nodes: ['n1'], metrics: { listen: `127.0.0.1:${PORT}` } },
    groups: { g: { systemList: ['n1'], autoStart: false, resources: { app: { type: 'Application', StartProgram: '/bin/sleep 600', MonitorProcesses: ['/bin/sleep 600'] } } } },
  };
  const file = path.join(WORK, 'cluster.config.js');
  fs.writeFileSync(file, clusterFileSource(path.join(PACKAGE_ROOT, 'dist', 'plugin', 'index.js'), def));
  const r = await pm2.cli(['start', file]);
  expect(r.code, r.stderr + r.stdout).toBe(0);
}, 120_000);

afterAll(async () => {
  if (fake?.pid && fake.exitCode === null) { try { process.kill(fake.pid, 'SIGKILL'); } catch { /* gone */ } }
  await pm2?.destroy();
  fs.rmSync(WORK, { recursive: true, force: true });
}, 120_000);

describe('a metrics port taken by another user', () => {
  it('is reported (log, msgha status, pm2 metric), retried, and served once free', async () => {
    // The attack: someone else's /healthz answers 200 on our port.
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });

    const holder = new RegExp(`metrics: 127\\.0\\.0\\.1:${PORT} not listening — port taken by another process \\(uid 65534 \\(nobody\\), pid ${fake!.pid} node\\), retrying every [\\d.]+ s .*a /healthz answering there is not ours`);
    const taken = await waitFor('msgha status to name the port holder', async () => { const s = await status(); return holder.test(s) ? s : undefined; }, { timeoutMs: 90_000, intervalMs: 1000 });
    expect(taken).toMatch(holder);
    const log = coordinatorLog();
    console.log(`msgha status while the port is taken:\n${taken.trim()}\ncoordinator log:\n${log.split('\n').filter((l) => /metrics|open files/.test(l)).join('\n')}`);
    expect(log).toMatch(new RegExp(`ERROR .*no /metrics on 127\\.0\\.0\\.1:${PORT}: .*EADDRINUSE.*held by uid 65534 \\(nobody\\), pid ${fake!.pid} node — its /healthz is not ours`));
    expect(log.match(/ERROR .*no \/metrics on/g)).toHaveLength(1);
    expect(log).toMatch(/open files: soft limit/);
    // @pm2/io sends its metrics to the daemon about once a second.
    const shown = async (): Promise<unknown> => {
      const app = (await pm2.jlist()).find((a) => a.name === 'msgha');
      return (app?.raw.pm2_env as { axm_monitor?: Record<string, { value: unknown }> } | undefined)?.axm_monitor?.['metrics exporter']?.value;
    };
    expect(await waitFor('the PM2 metric "metrics exporter"', shown, { timeoutMs: 30_000, intervalMs: 500 })).toBe('port taken, retrying');

    // The holder goes away: our exporter takes the port at its next attempt.
    process.kill(fake!.pid!, 'SIGKILL');
    const served = await waitFor('our /metrics', async () => { const r = await get('/metrics'); return r?.status === 200 && r.body.includes('msgha_') ? r : undefined; }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(served.body).toContain('msgha_group_state');
    const pid = (await pm2.jlist()).find((a) => a.name === 'msgha')!.pid;
    expect(await status()).toMatch(new RegExp(`metrics: 127\\.0\\.0\\.1:${PORT} listening \\(this coordinator, pid ${pid};`));
    expect(coordinatorLog()).toMatch(/the port is ours again after \d+ failed attempt/);
  }, 240_000);
});
