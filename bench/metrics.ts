/**
 * `npm run bench -- metrics`: how long a scrape of /metrics takes and how big it is for 1, 10
 * and 100 resources (groups of up to 10 resources, one probed service each, all four agent
 * functions observed, leases renewed, process metrics on). Goal (issue 5): ≤ 5 ms p50 at 100.
 *
 * Measures, per size: the wall time of an HTTP GET over loopback against an exporter running in
 * a child process, as Prometheus would see it (keep-alive, so the number is the exporter's work
 * plus one request, not TCP set-up); the `render()` time alone, in this process; the body size
 * and the number of series. Writes bench/results/metrics.json and metrics.md.
 */
import * as http from 'node:http';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createMetrics, type Metrics } from '../plugin/metrics/metrics';
import { startExporter } from '../plugin/metrics/exporter';
import type { NodeSnapshot } from '../plugin/metrics/snapshot';
import { portBlock } from '../test/helpers/ports';
import { mdTable, summarize, writeResults, type Summary } from './stats';

const RUNS = Math.max(50, Number(process.env.MSGHA_BENCH_RUNS) || 300);
const WARMUP = 20;
const PORT = portBlock('demo', 5) + 50;
const SIZES = [1, 10, 100];

interface Row { resources: number; groups: number; series: number; bytes: number; scrapeMs: Summary; renderMs: Summary }

function populate(n: number): Metrics {
  const metrics = createMetrics({ node: 'mx1' });
  const groups: NodeSnapshot['groups'] = [];
  for (let i = 0; i < n; i++) {
    const g = `g${Math.floor(i / 10)}`;
    let group = groups.find((x) => x.group === g);
    if (!group) {
      group = { group: g, state: 'ONLINE', frozen: false, lease: { holder: 'mx1', holderIsMe: true, epoch: 5, remainingServeSeconds: 30 }, resources: [] };
      groups.push(group);
      for (let k = 0; k < 20; k++) metrics.leaseRenew(g, 0.001 * (k + 1), k !== 7);
    }
    const resource = `r${i}`;
    group.resources.push({ resource, type: 'SunJESMsg', state: 'ONLINE', restarts: 0, certExpirySeconds: { imaps: 90 * 86400 } });
    for (const fn of ['online', 'offline', 'monitor', 'clean'] as const) metrics.functionDuration(g, resource, 'SunJESMsg', fn, 0.05);
    metrics.probe(g, resource, 'imap', { outcome: 'ok', phases: { connect: 0.001, greeting: 0.002, login: 0.02, command: 0.004, logout: 0.001, total: 0.03 } });
  }
  metrics.setSnapshotProvider(() => ({ node: 'mx1', groups }));
  return metrics;
}

function get(agent: http.Agent): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: PORT, path: '/metrics', agent }, (res) => {
      // Buffers, not a JS string: Prometheus reads bytes, and decoding here would be our cost, not the exporter's.
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

/** Child mode: `node dist/bench/metrics.js serve N` serves N resources until stdin closes. */
async function serve(n: number): Promise<void> {
  const exporter = await startExporter(populate(n), { listen: `127.0.0.1:${PORT}`, healthy: () => true });
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.on('end', () => { void exporter.close(); });
}

async function measure(n: number): Promise<Row> {
  const metrics = populate(n);
  const child = spawn(process.execPath, [__filename, 'serve', String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [first] = (await once(child.stdout!, 'data')) as [Buffer];
  if (!first.toString().startsWith('ready')) throw new Error(`exporter child said: ${first.toString()}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const scrape: number[] = [];
  const render: number[] = [];
  let last: Buffer = Buffer.alloc(0);
  try {
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const t0 = performance.now();
      const r = await get(agent);
      const wall = performance.now() - t0;
      if (r.status !== 200) throw new Error(`scrape answered ${r.status}`);
      last = r.body;
      const t1 = performance.now();
      await metrics.render();
      const own = performance.now() - t1;
      if (i < WARMUP) continue;
      scrape.push(wall);
      render.push(own);
    }
  } finally {
    agent.destroy();
    const exited = once(child, 'exit');
    child.stdin!.end();
    await exited;
  }
  const series = last.toString('utf8').split('\n').filter((l) => l && !l.startsWith('#')).length;
  return {
    resources: n, groups: Math.ceil(n / 10), series, bytes: last.length,
    scrapeMs: summarize(scrape), renderMs: summarize(render),
  };
}

export async function run(): Promise<void> {
  const rows: Row[] = [];
  for (const n of SIZES) {
    const row = await measure(n);
    rows.push(row);
    process.stdout.write(`${n} resources: scrape p50 ${row.scrapeMs.median.toFixed(2)} ms, p90 ${row.scrapeMs.p90.toFixed(2)} ms, ${row.bytes} bytes, ${row.series} series\n`);
  }
  const f = (x: number): string => x.toFixed(2);
  const md = [
    '# /metrics scrape cost',
    '',
    `${RUNS} scrapes per size after ${WARMUP} warm-up; Node ${process.version}; HTTP GET over loopback with keep-alive.`,
    'Each resource: one probed service, all four agent functions observed; groups of 10 resources; process metrics on.',
    '',
    mdTable(
      ['resources', 'groups', 'series', 'bytes', 'scrape p50 ms', 'scrape p90 ms', 'render p50 ms', 'render p90 ms'],
      rows.map((r) => [r.resources, r.groups, r.series, r.bytes, f(r.scrapeMs.median), f(r.scrapeMs.p90), f(r.renderMs.median), f(r.renderMs.p90)]),
    ),
    '',
    'Goal (issue 5): scrape p50 ≤ 5 ms at 100 resources. Scrape = HTTP GET from this process to an',
    'exporter in a child process (what Prometheus measures as scrape duration, minus its parsing);',
    'render = building the body in-process, without HTTP.',
  ].join('\n');
  writeResults('metrics', { runs: RUNS, warmup: WARMUP, node: process.version, rows }, md);
}

if (require.main === module && process.argv[2] === 'serve') {
  serve(Number(process.argv[3])).catch((err: unknown) => {
    process.stderr.write(`bench metrics child: ${String(err)}\n`);
    process.exit(1);
  });
}
