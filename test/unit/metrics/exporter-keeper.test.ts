/**
 * The exporter keeper with real sockets: a port held by another socket is retried with a
 * doubling, bounded delay, reported once as an ERROR naming the holder (this process here), and
 * served once free; a configuration error is not retried; close() stops the retries.
 */
import * as net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from '../../../plugin/core/log';
import { createMetrics } from '../../../plugin/metrics/metrics';
import { startExporter } from '../../../plugin/metrics/exporter';
import { describeExporter, ExporterKeeper } from '../../../plugin/metrics/exporter-keeper';
import { portBlock } from '../../helpers/ports';

// 26710–26719 of the 'spare' block 7 (the metrics-port security tests).
const BASE = portBlock('spare', 7) + 10;
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => { for (const c of cleanups) await c(); });

function keeper(listen: string, retryMs: number, retryMaxMs: number) {
  const lines: Array<[LogLevel, string]> = [];
  const metrics = createMetrics({ node: 'mx1' });
  metrics.setSnapshotProvider(() => ({ node: 'mx1', groups: [] }));
  let starts = 0;
  const k = new ExporterKeeper({
    listen, retryMs, retryMaxMs, file: '/etc/msgha/mail.config.js',
    log: createLogger('msgha', 'coordinator', 'INFO', (l, lv) => { lines.push([lv, l]); }),
    start: () => { starts++; return startExporter(metrics, { listen, healthy: () => true }); },
  });
  cleanups.push(() => k.close());
  return { k, lines, starts: () => starts };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('exporter keeper', () => {
  it('a taken port: one ERROR naming the holder, retries with a bounded backoff, served once free', async () => {
    const port = BASE;
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(port, '127.0.0.1', () => r()));
    const { k, lines, starts } = keeper(`127.0.0.1:${port}`, 40, 160);
    expect(await k.start()).toBeUndefined();
    const s = k.state();
    expect(s).toMatchObject({ state: 'port-taken', attempts: 1, retryInMs: 40, pid: process.pid });
    expect(s.takenBy).toMatch(new RegExp(`^uid 0 \\(root\\), pid ${process.pid} `));
    expect(describeExporter(s)).toMatch(new RegExp(`^metrics: 127\\.0\\.0\\.1:${port} not listening — port taken by another process \\(uid 0 \\(root\\), pid ${process.pid} .*\\), retrying every 40 ms`));
    await sleep(1000);
    const later = k.state();
    expect(later.attempts).toBeGreaterThanOrEqual(3);
    expect(later.retryInMs).toBe(160); // doubled up to the bound, no further
    expect(starts()).toBe(later.attempts);
    const errors = lines.filter(([lv]) => lv === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]![1]).toMatch(/no \/metrics on 127\.0\.0\.1:26710: .*EADDRINUSE.*held by uid 0 \(root\).*its \/healthz is not ours; stop that process, or change cluster\.metrics\.listen in \/etc\/msgha\/mail\.config\.js/);
    await new Promise<void>((r) => busy.close(() => r()));
    for (let i = 0; i < 100 && k.state().state !== 'listening'; i++) await sleep(50);
    expect(k.state()).toMatchObject({ state: 'listening', attempts: 0, connections: { open: 0, dropped: 0 } });
    expect(describeExporter(k.state())).toBe(`metrics: 127.0.0.1:${port} listening (this coordinator, pid ${process.pid}; 0 connection(s) open, 0 dropped at the cap)`);
    expect(lines.some(([lv, l]) => lv === 'INFO' && /the port is ours again after \d+ failed attempt/.test(l))).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('a configuration error is reported and not retried', async () => {
    const { k, starts } = keeper(`0.0.0.0:${BASE + 1}`, 20, 20);
    expect(await k.start()).toBeUndefined();
    await sleep(200);
    expect(starts()).toBe(1);
    expect(k.state()).toMatchObject({ state: 'failed' });
    expect(describeExporter(k.state())).toMatch(/not listening — .*metrics\.basicAuth.*not retried/);
  });

  it('close() stops the retries', async () => {
    const port = BASE + 2;
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(port, '127.0.0.1', () => r()));
    const { k, starts } = keeper(`127.0.0.1:${port}`, 20, 20);
    await k.start();
    await k.close();
    const n = starts();
    await sleep(200);
    expect(starts()).toBe(n);
    expect(k.state().state).toBe('closed');
    await new Promise<void>((r) => busy.close(() => r()));
  });
});
