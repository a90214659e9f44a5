/**
 * `npm run bench -- footprint`: what msgha itself costs a node — memory by PSS (smaps_rollup,
 * summed over every process of ours: the PM2 daemon, the coordinator, the agents, the fence and
 * the helpers they run; the managed daemons are not counted) and CPU (utime + stime of those
 * processes and of the children they waited for) — with the product's default intervals:
 *   standby   an idle standby node of a two-node cluster (namespace nodes, lease profile
 *             `local`), for the demo's layout (6 resources) and the complex example's (26);
 *   holder    the holder of a five-resource group (NIC, IP, Mount and two daemons);
 *   100 @ 1 s one node monitoring 100 Application resources every second, beside monit 5
 *             (`set daemon 1`) checking the same 100 processes in the same minute.
 * The daemons are stand-ins: detached `sleep 9xxxxx` processes found by their command line.
 * PSS is sampled every 5 s over the window (median, p90); CPU is over the whole window and per
 * 10 s slice (median, p90). Writes bench/results/footprint.{json,md}.
 *
 * Environment: MSGHA_BENCH_CPU_SECONDS (60), MSGHA_BENCH_ONLY (comma list of standby,holder,cpu).
 * Files under /tmp/mh-bench-fp and the cluster harness's /tmp/mh-fp; ports of block 'demo' 5.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MsgCluster, type GroupPlan } from '../test/fixtures/cluster/cluster';
import { cmdlineOf, type ClusterNode } from '../test/fixtures/cluster/node';
import { clusterFileSource } from '../test/fixtures/cluster-file';
import { portBlock } from '../test/helpers/ports';
import { mdTable, resultsDir, summarize, writeResults, type Summary } from './stats';
import {
  PACKAGE_ROOT, Pm2Cli, cpuTicks, groupState, pssKb, round, sleep, sleeperResource, treeOf, waitFor, writeStartSleep,
} from './recovery-env';

const WORK = '/tmp/mh-bench-fp';
const SECONDS = Number(process.env.MSGHA_BENCH_CPU_SECONDS ?? 60);
const ONLY = new Set((process.env.MSGHA_BENCH_ONLY ?? 'standby,holder,cpu').split(','));
const CLK_TCK = 100;
const BASE = portBlock('demo', 5);
/** The stand-in daemons: `sleep 9NNNNN`, NNNNN unique per resource. */
const STAND_IN = /^sleep 9\d{5}$/;
const GOALS = { standbyPssMb: 110, holderBaseMb: 120, holderPerResourceMb: 20, cpu100Percent: 3 };

export interface Usage { pss: Summary; cpuPercent: number; cpuSlices: Summary; processes: number }

// ── measuring a set of processes ─────────────────────────────────────────────────────────

/**
 * PSS and CPU of the processes `ours()` lists (asked again at every sample: agents may come and
 * go), over SECONDS. CPU counts the processes alive at both ends of a slice.
 */
async function measure(ours: () => number[]): Promise<Usage> {
  const pss: number[] = [];
  const slices: number[] = [];
  // A process's own CPU and that of the children it waited for (the agents' `ip`, `ping`, …).
  const snapshot = (): Map<number, number> => new Map(ours().map((p) => [p, cpuTicks(p, { children: true }) ?? 0]));
  const delta = (a: Map<number, number>, b: Map<number, number>): number => [...b].reduce((s, [p, t]) => s + (a.has(p) ? t - a.get(p)! : 0), 0);
  const start = snapshot();
  const t0 = performance.now();
  let last = start;
  let lastT = t0;
  let processes = 0;
  for (let elapsed = 0; elapsed < SECONDS * 1000; elapsed = performance.now() - t0) {
    await sleep(5000);
    const pids = ours();
    processes = Math.max(processes, pids.length);
    pss.push(pids.reduce((s, p) => s + (pssKb(p) ?? 0), 0) / 1024);
    if (performance.now() - lastT >= 9_900) {
      const now = snapshot();
      slices.push((delta(last, now) / CLK_TCK) / ((performance.now() - lastT) / 1000) * 100);
      last = now;
      lastT = performance.now();
    }
  }
  const wall = (performance.now() - t0) / 1000;
  const cpuPercent = round((delta(start, snapshot()) / CLK_TCK) / wall * 100, 2);
  const r = (s: Summary): Summary => ({ ...s, median: round(s.median, 1), p90: round(s.p90, 1), min: round(s.min, 1), max: round(s.max, 1) });
  return { pss: r(summarize(pss)), cpuPercent, cpuSlices: r(summarize(slices)), processes };
}

/** Every process of a node except its PID 1 loop and the stand-in daemons. */
function oursOnNode(node: ClusterNode): () => number[] {
  return () => node.pids().filter((p) => {
    if (p === node.initPid) return false;
    const c = cmdlineOf(p);
    return c !== 'sleep 3600' && !STAND_IN.test(c);
  });
}

// ── the stand-ins and the clusters ───────────────────────────────────────────────────────

function standIn(n: number, requires: string[]): Record<string, unknown> {
  return sleeperResource(WORK, 900000 + n, { requires });
}

/** A group of `resources` resources in all: NIC, IP and Mount (the harness's), and stand-ins. */
function plan(name: string, resources: number, first: number): GroupPlan {
  return {
    name, vipHost: 70, basePort: BASE, systemList: ['fa', 'fb'],
    services: () => Object.fromEntries(Array.from({ length: resources - 3 }, (_, i) => [`d${i + 1}`, standIn(first + i, ['vip', 'disk'])])),
  };
}

/** Two nodes, one group held by fa; returns the usage of `which` node once all is quiet. */
async function twoNodes(resources: number, which: 'fa' | 'fb'): Promise<Usage> {
  const c = new MsgCluster({
    tag: 'fp', net: 29, nodes: ['fa', 'fb'], profile: 'local', productTiming: true, remoteProbes: {},
    groups: [plan('g', resources, resources * 100)],
  });
  try {
    await c.setup();
    await c.startNode('fa');
    if (!(await c.waitFor(() => c.settledAt('g'), 180_000, 500))) throw new Error('group g did not come online on fa');
    await c.startNode('fb');
    const follower = (): boolean => c.views().fb?.groups.some((g) => g.name === 'g' && g.role === 'follower' && g.holder === 'fa') ?? false;
    if (!(await c.waitFor(follower, 120_000, 500))) throw new Error('fb did not settle as a standby of g');
    // Past the start-up: agents loaded, the first standby checks and remote probes done.
    await sleep(20_000);
    log(`  ${which === 'fb' ? 'standby' : 'holder'} with ${resources} resources: measuring ${SECONDS} s`);
    return await measure(oursOnNode(c.node(which)));
  } finally { await c.teardown(); }
}

// ── 100 resources every second on one node, and monit ────────────────────────────────────

async function hundred(): Promise<{ ours: Usage; monit?: Usage; monitVersion?: string }> {
  const home = path.join(WORK, 'pm2');
  const pm2 = new Pm2Cli(home, { MSGHA_NODE: 'n1' });
  await pm2.kill();
  const resources: Record<string, unknown> = {};
  for (let i = 1; i <= 100; i += 1) Object.assign(resources, { [`s${i}`]: { ...standIn(10000 + i, []), MonitorInterval: 1, SecondLevelMonitor: 0 } });
  const file = path.join(WORK, 'hundred.config.js');
  fs.writeFileSync(file, clusterFileSource(path.join(PACKAGE_ROOT, 'dist', 'plugin', 'index.js'),
    { cluster: { name: 'benchfp', nodes: ['n1'], metrics: { listen: `127.0.0.1:${BASE + 99}` } }, groups: { cpu: { systemList: ['n1'], resources } } }));
  let monit: ReturnType<typeof spawn> | undefined;
  try {
    const r = await pm2.cli(['start', file]);
    if (r.code !== 0) throw new Error(`pm2 start ${file} failed: ${r.out}`);
    await waitFor('group cpu ONLINE', async () => groupState(await pm2.status(), 'cpu') === 'ONLINE', 900_000, 2000);
    // monit first, so that both are past their start-up when the window opens. A minute: the
    // last of the 100 apps came online moments ago, and a Node process's first idle minute still
    // has start-up work (V8's deferred compiles and GCs) that is not what the node costs.
    const version = monitVersion();
    if (version) monit = startMonit();
    await sleep(60_000);
    log(`  100 resources at 1 s: measuring ${SECONDS} s${monit ? ', monit beside' : ' (monit not installed)'}`);
    const god = pm2.godPid();
    const [ours, theirs] = await Promise.all([
      measure(() => (god ? treeOf(god).filter((p) => !STAND_IN.test(cmdlineOf(p))) : [])),
      monit?.pid ? measure(() => [monit!.pid!]) : Promise.resolve(undefined),
    ]);
    return { ours, ...(theirs ? { monit: theirs, monitVersion: version } : {}) };
  } finally {
    monit?.kill('SIGKILL');
    await pm2.kill();
    try { execFileSync('pkill', ['-f', '^sleep 9100']); } catch { /* none left */ }
  }
}

function monitVersion(): string | undefined {
  try { return /version ([\d.]+)/.exec(execFileSync('monit', ['-V'], { encoding: 'utf8' }))?.[1]; } catch { return undefined; }
}

/** monit in the foreground, a 1 s cycle, one process check per stand-in (what our agents check). */
function startMonit(): ReturnType<typeof spawn> {
  const rc = path.join(WORK, 'monitrc');
  const lines = ['set daemon 1', `set logfile ${WORK}/monit.log`, `set pidfile ${WORK}/monit.pid`, `set idfile ${WORK}/monit.id`, `set statefile ${WORK}/monit.state`];
  for (let i = 1; i <= 100; i += 1) {
    const secs = 910000 + i;
    lines.push(`check process s${i} matching "^sleep ${secs}$"`, `  start program = "${WORK}/start-sleep ${secs}"`);
  }
  fs.writeFileSync(rc, lines.join('\n') + '\n', { mode: 0o600 });
  return spawn('monit', ['-I', '-c', rc], { stdio: 'ignore' });
}

// ── run ──────────────────────────────────────────────────────────────────────────────────

function log(line: string): void { process.stdout.write(`${line}\n`); }

export async function run(): Promise<void> {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  writeStartSleep(WORK);
  // A subset (MSGHA_BENCH_ONLY) keeps the other rows of the last run.
  const result: Record<string, unknown> = { ...previousResults(), when: new Date().toISOString(), node: process.version, seconds: SECONDS, goals: GOALS };
  if (ONLY.has('standby')) {
    result.standby6 = await twoNodes(6, 'fb');
    result.standby26 = await twoNodes(26, 'fb');
  }
  if (ONLY.has('holder')) result.holder5 = await twoNodes(5, 'fa');
  if (ONLY.has('cpu')) result.hundred = await hundred();
  writeFootprint(result);
}

/** bench/results/footprint.{json,md}; also prints the table. */
export function writeFootprint(result: Record<string, unknown>): void {
  writeResults('footprint', result, markdown(result));
  log(markdown(result));
}

function previousResults(): Record<string, unknown> {
  try { return JSON.parse(fs.readFileSync(path.join(resultsDir(), 'footprint.json'), 'utf8')) as Record<string, unknown>; } catch { return {}; }
}

function markdown(r: Record<string, unknown>): string {
  const u = (k: string): Usage | undefined => r[k] as Usage | undefined;
  const h = r.hundred as { ours: Usage; monit?: Usage; monitVersion?: string } | undefined;
  const row = (what: string, x: Usage | undefined, goal: string): Array<string | number> =>
    x ? [what, x.processes, `${x.pss.median} / ${x.pss.p90}`, x.cpuPercent, `${x.cpuSlices.median} / ${x.cpuSlices.p90}`, goal] : [what, '—', '—', '—', '—', goal];
  return [
    '# Footprint: what msgha costs a node',
    '',
    `${r.when}, Node ${r.node}; ${r.seconds} s per row; PSS sampled every 5 s, CPU over the window and per 10 s slice.`,
    'Every process of ours is counted (PM2 daemon, coordinator, agents, fence, their helpers and the children they waited for);',
    'the managed daemons (stand-ins: detached `sleep`) are not. Product default intervals, lease profile `local`, except the 100-resource row (MonitorInterval 1 s).',
    '',
    mdTable(['node', 'processes', 'PSS MB median / p90', 'CPU % of one core', 'per 10 s median / p90', 'goal'], [
      row('idle standby, demo layout (6 resources)', u('standby6'), `≤ ${GOALS.standbyPssMb} MB`),
      row('idle standby, complex layout (26 resources)', u('standby26'), `≤ ${GOALS.standbyPssMb} MB`),
      row('holder of a five-resource group', u('holder5'), `≤ ${GOALS.holderBaseMb + 5 * GOALS.holderPerResourceMb} MB`),
      row('one node, 100 resources at MonitorInterval 1 s', h?.ours, `CPU ≤ ${GOALS.cpu100Percent} %`),
      row(`monit ${h?.monitVersion ?? '(not installed)'}, the same 100 processes, 1 s cycle`, h?.monit, 'peer'),
    ]),
  ].join('\n');
}
