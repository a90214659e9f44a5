/**
 * The exporter's bounds against clients that are not Prometheus, with real sockets: connections
 * beyond the cap are closed at once (and counted), a silent socket and a slow-header client are
 * closed, and requests that are not scrapes (a method other than GET/HEAD, a body, a long target,
 * huge headers) are refused without being read. A normal scrape still works afterwards.
 */
import * as net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../plugin/metrics/metrics';
import { EXPORTER_LIMITS, startExporter, type Exporter } from '../../../plugin/metrics/exporter';
import { portBlock } from '../../helpers/ports';

// 26700–26709: this file (the 'spare' block 7 belongs to the metrics-port security tests).
const BASE = portBlock('spare', 7);
const open: Exporter[] = [];
const sockets: net.Socket[] = [];

afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const e of open) await e.close();
});

async function start(port: number, limits: Parameters<typeof startExporter>[1]['limits'] = {}): Promise<Exporter> {
  const m = createMetrics({ node: 'mx1' });
  m.setSnapshotProvider(() => ({ node: 'mx1', groups: [] }));
  const e = await startExporter(m, { listen: `127.0.0.1:${port}`, healthy: () => true, limits });
  open.push(e);
  return e;
}

/** A raw connection; resolves once connected, with a promise of its close. */
function connect(port: number): Promise<{ sock: net.Socket; closed: Promise<void>; received: () => string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sockets.push(sock);
    let data = '';
    sock.on('data', (d) => { data += d.toString('latin1'); });
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => undefined);
    sock.once('connect', () => resolve({ sock, closed, received: () => data }));
    sock.once('error', reject);
  });
}

/** Sends raw bytes and resolves with everything the server sent until it closed. */
async function rawRequest(port: number, text: string): Promise<string> {
  const c = await connect(port);
  c.sock.end(text);
  await c.closed;
  return c.received();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('exporter limits', () => {
  it('has production defaults a flood cannot turn into descriptor exhaustion', () => {
    expect(EXPORTER_LIMITS.maxConnections).toBe(64);
    expect(EXPORTER_LIMITS.idleTimeoutMs).toBeLessThanOrEqual(10_000);
    expect(EXPORTER_LIMITS.headersTimeoutMs).toBeLessThanOrEqual(10_000);
  });

  it('closes connections beyond the cap at once and counts them; a scrape works once they go', async () => {
    const port = BASE;
    const e = await start(port, { maxConnections: 4 });
    const held = await Promise.all(Array.from({ length: 4 }, () => connect(port)));
    // Wait until the server has accepted the four (the kernel completes handshakes before that).
    for (let i = 0; i < 200 && e.connections().open < 4; i++) await sleep(25);
    expect(e.connections().open).toBe(4);
    const extra = await Promise.all(Array.from({ length: 10 }, () => connect(port)));
    await Promise.all(extra.map((c) => c.closed)); // closed by the server, without a byte sent
    expect(extra.every((c) => c.received() === '')).toBe(true);
    expect(e.connections()).toEqual({ open: 4, dropped: 10 });
    for (const c of held) c.sock.destroy();
    await Promise.all(held.map((c) => c.closed));
    for (let i = 0; i < 200 && e.connections().open > 0; i++) await sleep(25);
    const r = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('msgha_');
  });

  it('closes a socket that sends nothing, and one that trickles its headers', async () => {
    const port = BASE + 1;
    await start(port, { idleTimeoutMs: 300, headersTimeoutMs: 600, requestTimeoutMs: 600, checkIntervalMs: 100 });
    const silent = await connect(port);
    await silent.closed; // the idle timeout; without it the socket would stay forever
    const slow = await connect(port);
    let stop = false;
    // One byte every 100 ms keeps the socket from being idle; the header deadline still ends it.
    void (async () => {
      const line = 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(10_000);
      for (let i = 0; i < line.length && !stop && !slow.sock.destroyed; i++) {
        slow.sock.write(line[i]!);
        await sleep(100);
      }
    })();
    await slow.closed;
    stop = true;
    expect(slow.received()).not.toContain('200 OK');
  });

  it('refuses what is not a scrape without reading it: methods, bodies, long targets, huge headers', async () => {
    const port = BASE + 2;
    await start(port);
    expect(await rawRequest(port, 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')).toMatch(/^HTTP\/1\.1 405 [\s\S]*connection: close/i);
    expect(await rawRequest(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello')).toMatch(/^HTTP\/1\.1 413 /);
    expect(await rawRequest(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')).toMatch(/^HTTP\/1\.1 413 /);
    expect(await rawRequest(port, `GET /metrics?${'q'.repeat(2000)} HTTP/1.1\r\nHost: x\r\n\r\n`)).toMatch(/^HTTP\/1\.1 414 /);
    expect(await rawRequest(port, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    const head = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
