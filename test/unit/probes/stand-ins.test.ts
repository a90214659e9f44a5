import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeAdmin } from '../../../probes/admin';
import { probeTcp } from '../../../probes/tcp';
import { probeTls } from '../../../probes/tls';
import { portBlock } from '../../helpers/ports';

const BASE = portBlock('contract', 5);
const host = '127.0.0.1';
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

function listen(server: net.Server, port: number): Promise<void> {
  servers.push(server);
  server.on('connection', (s: net.Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return new Promise((resolve) => server.listen(port, host, () => resolve()));
}

beforeAll(async () => {
  await listen(net.createServer((s) => s.write('* OK ready\r\n')), BASE);
  await listen(net.createServer(() => { /* accepts, never greets */ }), BASE + 1);
  await listen(net.createServer((s) => s.end('-ERR go away\r\n')), BASE + 2);
  // A greeting with the right prefix that never ends its line.
  await listen(net.createServer((s) => s.write('* OK ' + 'A'.repeat(10_000))), BASE + 4);
  await listen(http.createServer((req, res) => {
    if (req.url === '/port') {
      const ok = req.headers.authorization === 'Basic ' + Buffer.from('admin:pw').toString('base64');
      res.writeHead(ok ? 200 : 401).end(ok ? 'configuration.nsserverport = 390\n' : 'no');
    } else res.writeHead(500).end();
  }), BASE + 3);
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
});

describe('tcp probe', () => {
  it('ok with the expected greeting, phases timed', async () => {
    const r = await probeTcp({ host, port: BASE }, { timeoutMs: 2000, greeting: '* OK', bye: 'a1 LOGOUT\r\n' });
    expect(r.outcome, r.reason).toBe('ok');
    expect(r.phases.connect).toBeGreaterThanOrEqual(0);
    expect(r.phases.total).toBeGreaterThanOrEqual(r.phases.connect!);
  });
  it('times out in the greeting phase when the server accepts but never speaks', async () => {
    const t0 = Date.now();
    const r = await probeTcp({ host, port: BASE + 1 }, { timeoutMs: 300, greeting: '* OK' });
    expect(r).toMatchObject({ outcome: 'timeout', failedPhase: 'greeting' });
    expect(Date.now() - t0).toBeLessThan(800);
  });
  it('fails on a wrong greeting and on a refused connection', async () => {
    expect(await probeTcp({ host, port: BASE + 2 }, { timeoutMs: 1000, greeting: '+OK' })).toMatchObject({ outcome: 'fail', failedPhase: 'greeting' });
    expect(await probeTcp({ host, port: BASE + 9 }, { timeoutMs: 1000 })).toMatchObject({ outcome: 'fail', failedPhase: 'connect' });
  });
  it('fails a greeting with no line end within 4096 bytes, whatever it starts with', async () => {
    const r = await probeTcp({ host, port: BASE + 4 }, { timeoutMs: 2000, greeting: '* OK' });
    expect(r).toMatchObject({ outcome: 'fail', failedPhase: 'greeting' });
    expect(r.reason).toMatch(/no line end within 4096 bytes/);
  });
  it('ends at once when the caller aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    const r = await probeTcp({ host, port: BASE + 1 }, { timeoutMs: 5000, greeting: '* OK' }, ac.signal);
    expect(r.outcome).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('tls probe', () => {
  it('times out in the handshake against a silent server', async () => {
    const r = await probeTls({ host, port: BASE + 1 }, { timeoutMs: 300 });
    expect(r).toMatchObject({ outcome: 'timeout', failedPhase: 'tls' });
  });
  it('fails the handshake against a plain-text server', async () => {
    const r = await probeTls({ host, port: BASE }, { timeoutMs: 1000 });
    expect(r).toMatchObject({ outcome: 'fail', failedPhase: 'tls' });
  });
});

describe('admin probe (the port read-back over HTTP)', () => {
  it('checks status and body with Basic auth; a 401 is a configuration error', async () => {
    const ok = await probeAdmin({ host, port: BASE + 3 }, { timeoutMs: 1000, path: '/port', user: 'admin', password: 'pw', expectPort: 390 });
    expect(ok.outcome, ok.reason).toBe('ok');
    const denied = await probeAdmin({ host, port: BASE + 3 }, { timeoutMs: 1000, path: '/port', user: 'admin', password: 'bad', expectPort: 390 });
    expect(denied).toMatchObject({ outcome: 'fail', configurationError: true });
    expect(denied.reason).not.toContain('bad');
    const err = await probeAdmin({ host, port: BASE + 3 }, { timeoutMs: 1000, path: '/', user: 'admin', password: 'pw' });
    expect(err).toMatchObject({ outcome: 'fail' });
  });
});
