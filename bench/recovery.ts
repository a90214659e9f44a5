/**
 * `npm run bench -- recovery`: crash and hang recovery of the sandbox suite under a real,
 * isolated PM2 daemon (own PM2_HOME) with the coordinator and one agent app per resource, plus
 * the agents' memory and the monitoring CPU of 100 resources. Writes bench/results/recovery.json
 * and recovery.md with the goals of issue 2 beside the measurements.
 *
 * Scenarios: (a) kill -9 of the Dovecot imapd master → IMAP greeting again; (b) SIGSTOP of the
 * whole imapd tree → restarted and greeting (deep check every 1 s cycle, MonitorTimeout 1 s);
 * (c) imapd hung and popd killed at the same instant, in separate resources — both times; (d)
 * VmRSS of every agent app per type, with deep checks off and on (and of an earlier build when
 * MSGHA_BENCH_BEFORE_DIST names its dist/ directory); (e) utime+stime of all agents, the PM2
 * God daemon and the coordinator over ≥ 60 s with 100 Application resources monitored every
 * second; plus the cost of watchPids alone for 1 and 10 pids at several poll intervals.
 *
 * Ports: block 'demo', lower half (25100–25499); files under /tmp/mh-bench-rec. Environment:
 * MSGHA_BENCH_RUNS (default 15), MSGHA_BENCH_CPU_SECONDS (60), MSGHA_BENCH_CPU_RESOURCES (100),
 * MSGHA_BENCH_ONLY (comma list of a,b,c,d,e,w to run a subset).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { buildSandbox, type Sandbox } from '../test/fixtures/sandbox/index';
import { portBlock } from '../test/helpers/ports';
import { clusterFileSource } from '../test/fixtures/cluster-file';
import { mdTable, summarize, writeResults, type Summary } from './stats';
import {
  PACKAGE_ROOT, Pm2Cli, banner, cpuTicks, groupState, memoryOf, readPid, round, rssMb, sleep, sleeperResource, treeOf, waitFor, writeStartSleep,
} from './recovery-env';

const BASE = portBlock('demo', 1); // 25100: the sandbox takes 25100–25139
const METRICS_PORT = BASE + 99;
/** A listener of the benchmark process, the Application resource's deep-check target. */
const PROBE_PORT = BASE + 98;
const WORK = '/tmp/mh-bench-rec';
const RUNS = Number(process.env.MSGHA_BENCH_RUNS ?? 15);
const CPU_SECONDS = Number(process.env.MSGHA_BENCH_CPU_SECONDS ?? 60);
const CPU_RESOURCES = Number(process.env.MSGHA_BENCH_CPU_RESOURCES ?? 100);
const ONLY = new Set((process.env.MSGHA_BENCH_ONLY ?? 'a,b,c,d,e,w').split(','));
const CLK_TCK = 100;

/** The goals of issue 2 and what peers do here (shared research, peers table). */
const GOALS = {
  crashP90Ms: 400, crashMonitP90Ms: 880, crashPm2P90Ms: 239,
  hangP90Ms: 2000, hangMonitP90Ms: 2200, hangMonitOtherHungMs: 6000,
  agentRssMb: 45, cpu100PercentOfCore: 2,
};

/** Fast, explicit timings: deep check every 1 s cycle with a 1 s deadline; a restart budget that never runs out here. */
const TIMING = {
  MonitorInterval: 1, MonitorTimeout: 1, OfflineMonitorInterval: 30, OnlineTimeout: 30, OfflineTimeout: 15,
  CleanTimeout: Number(process.env.MSGHA_BENCH_CLEAN_TIMEOUT ?? 3), RestartLimit: 1000, ConfInterval: 60,
};

// ── cluster files ────────────────────────────────────────────────────────────────────────

interface Layout { rec: boolean; mem: boolean; cpu: number; deep: boolean }

function clusterDefinition(sb: Sandbox, l: Layout): Record<string, unknown> {
  const p = sb.ports;
  const deep = { SecondLevelMonitor: l.deep ? 1 : 0 };
  const groups: Record<string, unknown> = {};
  if (l.rec) {
    groups.rec = { systemList: ['n1'], resources: {
      imap: { type: 'SunJESMsg', ServerRoot: sb.msgRoot, MsgHost: '127.0.0.1', MsgServices: { imap: p.imap }, ...TIMING, ...deep },
      pop: { type: 'SunJESMsg', ServerRoot: sb.msgRoot, MsgHost: '127.0.0.1', MsgServices: { pop: p.pop }, ...TIMING, ...deep },
    } };
  }
  if (l.mem) {
    groups.mem = { systemList: ['n1'], resources: {
      core: { type: 'SunJESMsg', ServerRoot: sb.msgRoot, MsgHost: '127.0.0.1', MsgServices: { core: p.core }, ...TIMING, ...deep },
      ldap: { type: 'SunJESLDAP', InstanceRoot: sb.ldapRoot, LDAPHost: '127.0.0.1', LDAPPort: p.ldap, ...TIMING, ...deep },
      adm: { type: 'SunJESAdm', ServerRoot: sb.adminRoot, AdminHost: '127.0.0.1', AdminPort: p.admin, ...TIMING, ...deep },
      ns: { type: 'NetscapeMsg', ServerRoot: sb.netscapeRoot, MsgHost: sb.fqdn,
        Ports: { smtp: p.nsSmtp, pop: p.nsPop, imap: p.nsImap, http: p.nsHttp }, ProbeTimeout: 1, ...TIMING, ...deep },
      // Its deep check: a TCP connect to a listener the benchmark itself holds (the sleeper has no port).
      app: sleeper(sb, 0, { ...TIMING, ...deep, ProbeServices: { tcp: PROBE_PORT } }),
    } };
  }
  if (l.cpu > 0) {
    const resources: Record<string, unknown> = {};
    for (let i = 1; i <= l.cpu; i += 1) resources[`s${i}`] = sleeper(sb, i, { ...TIMING, SecondLevelMonitor: 0, RestartLimit: 3 });
    groups.cpu = { systemList: ['n1'], resources };
  }
  return { cluster: { name: 'benchrec', nodes: ['n1'], metrics: { listen: `127.0.0.1:${METRICS_PORT}` } }, groups };
}

/** An Application resource whose daemon is a detached `sleep 9000NN` (found by its command line). */
function sleeper(_sb: Sandbox, i: number, extra: Record<string, unknown>): Record<string, unknown> {
  return sleeperResource(WORK, 900000 + i, extra);
}

function writeCluster(sb: Sandbox, l: Layout, distDir: string): string {
  const index = path.join(distDir, 'plugin', 'index.js');
  const file = path.join(WORK, `cluster-${l.rec ? 'r' : ''}${l.mem ? 'm' : ''}${l.cpu ? `c${l.cpu}` : ''}-${l.deep ? 'deep' : 'first'}-${path.basename(path.dirname(distDir))}.config.js`);
  fs.writeFileSync(file, clusterFileSource(index, clusterDefinition(sb, l)));
  return file;
}


async function startCluster(pm2: Pm2Cli, file: string, groups: string[], timeoutMs = 180_000): Promise<void> {
  const r = await pm2.cli(['start', file]);
  if (r.code !== 0) throw new Error(`pm2 start ${file} failed: ${r.out}`);
  await waitFor(`groups ${groups.join(', ')} ONLINE`, async () => {
    const s = await pm2.status();
    return groups.every((g) => groupState(s, g) === 'ONLINE');
  }, timeoutMs, 1000);
}

// ── timing helpers ───────────────────────────────────────────────────────────────────────

/** Resolves once a connect to `port` is refused (the daemon's listener is gone); false after timeoutMs. */
async function refused(port: number, timeoutMs = 3000): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    const r = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('error', (e: NodeJS.ErrnoException) => { s.destroy(); resolve(e.code === 'ECONNREFUSED'); });
      s.once('connect', () => { s.destroy(); resolve(false); });
    });
    if (r) return true;
    await sleep(2);
  }
  return false;
}

/**
 * Milliseconds from t0 until a greeting matching `re` arrives on `port`. A new attempt starts
 * every 20 ms without waiting for the last one: a connect into a hung daemon's backlog never
 * answers, and must not delay noticing the restarted one.
 */
function untilGreeting(port: number, re: RegExp, t0: number, timeoutMs = 60_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = false;
    const open = new Set<net.Socket>();
    const finish = (v: number | Error): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      for (const s of open) s.destroy();
      if (typeof v === 'number') resolve(v); else reject(v);
    };
    const attempt = (): void => {
      if (performance.now() - t0 > timeoutMs) { finish(new Error(`no greeting on ${port} within ${timeoutMs} ms`)); return; }
      const s = net.connect({ host: '127.0.0.1', port });
      open.add(s);
      const drop = (): void => { open.delete(s); s.destroy(); };
      s.setTimeout(1500, drop);
      s.on('error', drop);
      s.on('close', drop);
      s.once('data', (d) => {
        const at = performance.now();
        drop();
        if (re.test(d.toString('latin1'))) finish(at - t0);
      });
    };
    const timer = setInterval(attempt, 20);
    attempt();
  });
}

const IMAP_OK = /^\* OK/;
const POP_OK = /^\+OK/;

function pidFileOf(sb: Sandbox, daemon: string): string {
  return path.join(sb.msgRoot, 'config', 'pid', `${daemon}.pid`);
}

/** Both services answering, the group ONLINE, and a random phase against the 1 s monitor cycle. */
async function steady(pm2: Pm2Cli, sb: Sandbox): Promise<void> {
  await waitFor('IMAP and POP greeting', async () => IMAP_OK.test(await banner(sb.ports.imap, 500)) && POP_OK.test(await banner(sb.ports.pop, 500)), 60_000, 100);
  await waitFor('group rec ONLINE', async () => groupState(await pm2.status(), 'rec') === 'ONLINE', 60_000, 300);
  // After ONLINE the agent runs a first-level monitor that arms the exit watch; give it a cycle.
  await sleep(1200 + Math.random() * 1000);
}

function stopTree(root: number): number[] {
  const pids = treeOf(root);
  for (const pid of pids) { try { process.kill(pid, 'SIGSTOP'); } catch { /* gone */ } }
  return pids;
}

function cont(pids: number[]): void {
  for (const pid of pids) { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } }
}

// ── scenarios ────────────────────────────────────────────────────────────────────────────

async function crashRuns(pm2: Pm2Cli, sb: Sandbox): Promise<{ ms: number[]; notRefused: number }> {
  const ms: number[] = [];
  let notRefused = 0;
  for (let i = 0; i < RUNS; i += 1) {
    await steady(pm2, sb);
    const pid = readPid(pidFileOf(sb, 'imapd'));
    if (!pid) throw new Error('no imapd pid file');
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    // Dovecot's login processes may greet for a moment after the master died: wait for the refusal.
    if (!(await refused(sb.ports.imap))) notRefused += 1;
    ms.push(round(await untilGreeting(sb.ports.imap, IMAP_OK, t0)));
    log(`  (a) run ${i + 1}: ${ms[ms.length - 1]} ms`);
  }
  return { ms, notRefused };
}

async function hangRuns(pm2: Pm2Cli, sb: Sandbox): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    await steady(pm2, sb);
    const pid = readPid(pidFileOf(sb, 'imapd'));
    if (!pid) throw new Error('no imapd pid file');
    const t0 = performance.now();
    const stopped = stopTree(pid);
    try {
      ms.push(round(await untilGreeting(sb.ports.imap, IMAP_OK, t0)));
    } finally {
      cont(stopped); // whatever the agent did not kill must not stay stopped (the pids are checked to be dead below)
    }
    log(`  (b) run ${i + 1}: ${ms[ms.length - 1]} ms`);
  }
  return ms;
}

async function bothRuns(pm2: Pm2Cli, sb: Sandbox): Promise<{ popMs: number[]; imapMs: number[] }> {
  const popMs: number[] = [];
  const imapMs: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    await steady(pm2, sb);
    const imapd = readPid(pidFileOf(sb, 'imapd'));
    const popd = readPid(pidFileOf(sb, 'popd'));
    if (!imapd || !popd) throw new Error('no imapd/popd pid file');
    const t0 = performance.now();
    const stopped = stopTree(imapd);
    process.kill(popd, 'SIGKILL');
    try {
      const pop = (async () => { await refused(sb.ports.pop); return untilGreeting(sb.ports.pop, POP_OK, t0); })();
      const imap = untilGreeting(sb.ports.imap, IMAP_OK, t0);
      const [p, m] = await Promise.all([pop, imap]);
      popMs.push(round(p));
      imapMs.push(round(m));
    } finally {
      cont(stopped);
    }
    log(`  (c) run ${i + 1}: pop ${popMs[popMs.length - 1]} ms, imap ${imapMs[imapMs.length - 1]} ms`);
  }
  return { popMs, imapMs };
}

interface RssRow { build: string; deep: boolean; resource: string; type: string; rssMb: number; anonMb?: number; pssMb?: number }

const TYPES_BY_RESOURCE: Record<string, string> = {
  'rec:imap': 'SunJESMsg (imap)', 'rec:pop': 'SunJESMsg (pop)', 'mem:core': 'SunJESMsg (core)', 'mem:ldap': 'SunJESLDAP',
  'mem:adm': 'SunJESAdm', 'mem:ns': 'NetscapeMsg', 'mem:app': 'Application',
};

/** VmRSS of every agent of groups rec and mem after a few monitor cycles (deep ones when on). */
async function agentRss(pm2: Pm2Cli, build: string, deep: boolean): Promise<{ rows: RssRow[]; god?: number; coordinator?: number }> {
  await sleep(8000);
  const apps = await pm2.jlist();
  const rows: RssRow[] = [];
  for (const a of apps) {
    const type = TYPES_BY_RESOURCE[a.name];
    const mem = memoryOf(a.pid);
    if (type && mem) rows.push({ build, deep, resource: a.name, type, rssMb: mem.rssMb, anonMb: mem.anonMb, pssMb: mem.pssMb });
  }
  const coord = apps.find((a) => a.name === 'msgha');
  const god = pm2.godPid();
  return { rows, god: god ? rssMb(god) : undefined, coordinator: coord ? rssMb(coord.pid) : undefined };
}

interface CpuResult {
  resources: number; seconds: number; agents: number;
  agentsPercent: number; perAgentMeanPercent: number; perAgentMaxPercent: number;
  godPercent: number; coordinatorPercent: number; agentRssMeanMb: number; startupSeconds: number;
}

async function cpuRun(pm2: Pm2Cli, sb: Sandbox): Promise<CpuResult> {
  const file = writeCluster(sb, { rec: false, mem: false, cpu: CPU_RESOURCES, deep: false }, path.join(PACKAGE_ROOT, 'dist'));
  const t0 = performance.now();
  await startCluster(pm2, file, ['cpu'], 900_000);
  const startupSeconds = round((performance.now() - t0) / 1000, 1);
  log(`  (e) ${CPU_RESOURCES} resources ONLINE after ${startupSeconds} s; settling`);
  await sleep(10_000);
  const apps = await pm2.jlist();
  const agents = apps.filter((a) => a.name.startsWith('cpu:')).map((a) => a.pid);
  const coord = apps.find((a) => a.name === 'msgha')?.pid;
  const god = pm2.godPid();
  const sum = (pids: number[]): number => pids.reduce((s, p) => s + (cpuTicks(p) ?? 0), 0);
  const before = agents.map((p) => cpuTicks(p) ?? 0);
  const g0 = god ? cpuTicks(god) ?? 0 : 0;
  const c0 = coord ? cpuTicks(coord) ?? 0 : 0;
  const w0 = performance.now();
  await sleep(CPU_SECONDS * 1000);
  const wall = (performance.now() - w0) / 1000;
  const after = agents.map((p) => cpuTicks(p) ?? 0);
  const per = after.map((v, i) => ((v - before[i]!) / CLK_TCK / wall) * 100);
  const pct = (ticks: number): number => round((ticks / CLK_TCK / wall) * 100, 3);
  const rss = agents.map((p) => rssMb(p) ?? 0);
  return {
    resources: CPU_RESOURCES, seconds: round(wall, 1), agents: agents.length,
    agentsPercent: pct(sum(agents) - before.reduce((s, v) => s + v, 0)),
    perAgentMeanPercent: round(per.reduce((s, v) => s + v, 0) / Math.max(1, per.length), 4),
    perAgentMaxPercent: round(Math.max(0, ...per), 3),
    godPercent: god ? pct((cpuTicks(god) ?? 0) - g0) : NaN,
    coordinatorPercent: coord ? pct((cpuTicks(coord) ?? 0) - c0) : NaN,
    agentRssMeanMb: round(rss.reduce((s, v) => s + v, 0) / Math.max(1, rss.length), 1),
    startupSeconds,
  };
}

// ── watchPids alone (child process mode) ─────────────────────────────────────────────────

interface WatchCost { pids: number; intervalMs: number; percent: number; emptyTimerPercent: number }

/** Child mode: `node recovery.js --watch-cost <pids> <intervalMs> <ms> <empty|watch>`; prints % of a core. */
async function watchCostChild(n: number, intervalMs: number, ms: number, mode: string): Promise<void> {
  const kids: ChildProcess[] = [];
  for (let i = 0; i < n; i += 1) kids.push(spawn('sleep', ['600'], { stdio: 'ignore' }));
  await sleep(300);
  const { watchPids } = require(path.join(PACKAGE_ROOT, 'dist', 'plugin', 'proc', 'pid-watch.js')) as typeof import('../plugin/proc/pid-watch');
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let stop: () => void;
  if (mode === 'watch') {
    const w = watchPids(kids.map((k) => k.pid!), () => undefined, intervalMs);
    stop = () => w.stop();
  } else {
    const t = setInterval(() => undefined, intervalMs);
    stop = () => clearInterval(t);
  }
  await new Promise((resolve) => setTimeout(resolve, ms));
  stop();
  const c = process.cpuUsage(c0);
  process.stdout.write(`${(((c.user + c.system) / 1000) / (performance.now() - t0)) * 100}\n`);
  for (const k of kids) k.kill('SIGKILL');
}

function runChild(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [__filename, '--watch-cost', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += String(d); });
    child.on('close', () => resolve(Number(out.trim())));
  });
}

async function watchCosts(): Promise<WatchCost[]> {
  const rows: WatchCost[] = [];
  for (const intervalMs of [50, 100, 150, 250, 1000]) {
    const empty = await runChild(['0', String(intervalMs), '8000', 'empty']);
    for (const n of [1, 10]) {
      const pct = await runChild([String(n), String(intervalMs), '8000', 'watch']);
      rows.push({ pids: n, intervalMs, percent: round(pct, 3), emptyTimerPercent: round(empty, 3) });
      log(`  (w) ${n} pid(s) every ${intervalMs} ms: ${round(pct, 3)} % of a core (empty timer ${round(empty, 3)} %)`);
    }
  }
  return rows;
}

// ── main ─────────────────────────────────────────────────────────────────────────────────

function log(line: string): void {
  process.stdout.write(line + '\n');
}

async function cleanStart(pm2: Pm2Cli): Promise<void> {
  await pm2.kill();
  for (const e of fs.existsSync(WORK) ? fs.readdirSync(WORK) : []) {
    if (e !== 'h') fs.rmSync(path.join(WORK, e), { recursive: true, force: true });
  }
  fs.rmSync(pm2.home, { recursive: true, force: true });
  fs.mkdirSync(pm2.home, { recursive: true });
}

export async function run(): Promise<void> {
  const pm2 = new Pm2Cli(path.join(WORK, 'h'), { MSGHA_NODE: 'n1' });
  fs.mkdirSync(WORK, { recursive: true });
  await cleanStart(pm2);
  writeStartSleep(WORK);
  const sb = await buildSandbox({ dir: path.join(WORK, 's'), basePort: BASE });
  const probeTarget = net.createServer((s) => s.end()).listen(PROBE_PORT, '127.0.0.1');
  const results: Record<string, unknown> = { goals: GOALS, timing: TIMING, runs: RUNS, node: process.version, at: new Date().toISOString() };
  const rss: RssRow[] = [];
  const daemons: Array<{ build: string; deep: boolean; god?: number; coordinator?: number }> = [];
  try {
    const after = path.join(PACKAGE_ROOT, 'dist');
    const builds: Array<[string, string]> = [];
    if (process.env.MSGHA_BENCH_BEFORE_DIST) builds.push(['before', path.resolve(process.env.MSGHA_BENCH_BEFORE_DIST)]);
    builds.push(['after', after]);
    const wantRecovery = ['a', 'b', 'c'].some((x) => ONLY.has(x));
    // (d) RSS; the last configuration (after, deep on) stays up for (a)–(c).
    const configs = ONLY.has('d')
      ? builds.flatMap(([b, d]) => [false, true].map((deep) => [b, d, deep] as const))
      : wantRecovery ? [['after', after, true] as const] : [];
    for (const [build, dist, deep] of configs) {
      log(`== ${build} build, deep checks ${deep ? 'on' : 'off'}`);
      await startCluster(pm2, writeCluster(sb, { rec: true, mem: true, cpu: 0, deep }, dist), ['rec', 'mem']);
      if (ONLY.has('d')) {
        const r = await agentRss(pm2, build, deep);
        rss.push(...r.rows);
        daemons.push({ build, deep, god: r.god, coordinator: r.coordinator });
        for (const row of r.rows) log(`  (d) ${row.resource} ${row.type}: VmRSS ${row.rssMb} MB, RssAnon ${row.anonMb} MB, Pss ${row.pssMb} MB`);
      }
      const last = build === 'after' && deep;
      if (!last || !wantRecovery) await pm2.kill();
    }
    if (wantRecovery) {
      if (ONLY.has('a')) {
        const a = await crashRuns(pm2, sb);
        results.crash = { ...summarize(a.ms), values: a.ms, refusalNotSeen: a.notRefused };
      }
      if (ONLY.has('b')) {
        const b = await hangRuns(pm2, sb);
        results.hang = { ...summarize(b), values: b };
      }
      if (ONLY.has('c')) {
        const c = await bothRuns(pm2, sb);
        results.hungAndKilled = { pop: { ...summarize(c.popMs), values: c.popMs }, imap: { ...summarize(c.imapMs), values: c.imapMs } };
      }
      const s = await pm2.status();
      results.restarts = s?.groups?.flatMap((g) => g.resources.map((r) => ({ id: r.id, restarts: r.restarts })));
      await pm2.kill();
    }
    if (ONLY.has('d')) results.rss = { agents: rss, daemons };
    if (ONLY.has('e')) {
      fs.rmSync(pm2.home, { recursive: true, force: true });
      fs.mkdirSync(pm2.home, { recursive: true });
      results.cpu = await cpuRun(pm2, sb);
      log(`  (e) ${JSON.stringify(results.cpu)}`);
      await pm2.kill();
    }
    if (ONLY.has('w')) results.watchPids = await watchCosts();
  } finally {
    await pm2.kill();
    await sb.destroy();
    probeTarget.close();
  }
  // A partial run (MSGHA_BENCH_ONLY) replaces only the sections it measured.
  const merged = { ...previousResults(), ...results };
  writeResults('recovery', merged, markdown(merged));
  log(markdown(merged));
}

function previousResults(): Record<string, unknown> {
  if (ONLY.size >= 6) return {};
  try {
    return JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'bench', 'results', 'recovery.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

// ── report ───────────────────────────────────────────────────────────────────────────────

function fmt(s: Summary | undefined): [string, string] {
  return s ? [String(s.median), String(s.p90)] : ['–', '–'];
}

function markdown(r: Record<string, unknown>): string {
  const out: string[] = ['# Recovery benchmark', ''];
  out.push(`Sandbox suite (real Dovecot), isolated PM2 ${'7.0.4'} daemon, coordinator + one agent app per resource; ` +
    `${r.runs} runs per scenario; Node ${r.node}; ${r.at}. Timings: ${JSON.stringify(r.timing)}.`, '');
  const crash = r.crash as Summary | undefined;
  const hang = r.hang as Summary | undefined;
  const both = r.hungAndKilled as { pop: Summary; imap: Summary } | undefined;
  out.push('## Recovery (ms from the fault to the protocol greeting again)', '');
  out.push(mdTable(['scenario', 'median', 'p90', 'goal p90', 'peers (p90)'], [
    ['(a) kill -9 imapd master → IMAP greeting', ...fmt(crash), `≤ ${GOALS.crashP90Ms}`, `monit ${GOALS.crashMonitP90Ms}, PM2 own child ${GOALS.crashPm2P90Ms}`],
    ['(b) SIGSTOP imapd tree → restarted, IMAP greeting', ...fmt(hang), `≤ ${GOALS.hangP90Ms}`, `monit ${GOALS.hangMonitP90Ms} (1 s timeout); PM2 never`],
    ['(c) popd killed while imapd hung: POP greeting', ...fmt(both?.pop), `≤ ${GOALS.crashP90Ms}`, `monit: ${GOALS.hangMonitOtherHungMs} when another daemon is hung`],
    ['(c) … and the hung imapd: IMAP greeting', ...fmt(both?.imap), `≤ ${GOALS.hangP90Ms}`, ''],
  ]), '');
  const rss = r.rss as { agents: RssRow[]; daemons: Array<{ build: string; deep: boolean; god?: number; coordinator?: number }> } | undefined;
  if (rss) {
    out.push(`## (d) Agent app VmRSS (MB; goal ≤ ${GOALS.agentRssMb})`, '');
    const cols = [...new Set(rss.agents.map((x) => `${x.build}${x.deep ? ', deep' : ', first level'}`))];
    const types = [...new Set(rss.agents.map((x) => x.type))];
    out.push('Each cell: VmRSS / RssAnon / Pss. VmRSS counts the node binary and libraries (~34 MB of file pages) that ' +
      'every agent shares; RssAnon is the private memory one more agent adds; Pss splits the shared pages among their users.', '');
    out.push(mdTable(['type', ...cols], types.map((t) => [t, ...cols.map((c) => {
      const row = rss.agents.find((x) => x.type === t && `${x.build}${x.deep ? ', deep' : ', first level'}` === c);
      return row ? `${row.rssMb} / ${row.anonMb ?? '–'} / ${row.pssMb ?? '–'}` : '–';
    })])), '');
    out.push(mdTable(['process', ...cols], [
      ['PM2 God daemon', ...cols.map((c) => String(rss.daemons.find((d) => `${d.build}${d.deep ? ', deep' : ', first level'}` === c)?.god ?? '–'))],
      ['coordinator (msgha)', ...cols.map((c) => String(rss.daemons.find((d) => `${d.build}${d.deep ? ', deep' : ', first level'}` === c)?.coordinator ?? '–'))],
    ]), '');
  }
  const cpu = r.cpu as CpuResult | undefined;
  if (cpu) {
    out.push(`## (e) CPU with ${cpu.resources} Application resources, MonitorInterval 1 s (goal: all agents ≤ ${GOALS.cpu100PercentOfCore} % of one core)`, '');
    out.push(mdTable(['what', 'value'], [
      ['all agents, % of one core', cpu.agentsPercent], ['per agent, mean / max %', `${cpu.perAgentMeanPercent} / ${cpu.perAgentMaxPercent}`],
      ['PM2 God daemon %', cpu.godPercent], ['coordinator %', cpu.coordinatorPercent], ['agent VmRSS mean MB', cpu.agentRssMeanMb],
      ['measured over s', cpu.seconds], ['all ONLINE after s', cpu.startupSeconds],
    ]), '');
  }
  const w = r.watchPids as WatchCost[] | undefined;
  if (w) {
    out.push('## watchPids alone (one Node process, % of one core)', '');
    out.push(mdTable(['poll interval ms', 'empty timer', '1 pid', '10 pids'], [...new Set(w.map((x) => x.intervalMs))].map((iv) => [
      iv, w.find((x) => x.intervalMs === iv)?.emptyTimerPercent ?? '–',
      w.find((x) => x.intervalMs === iv && x.pids === 1)?.percent ?? '–', w.find((x) => x.intervalMs === iv && x.pids === 10)?.percent ?? '–',
    ])), '');
  }
  return out.join('\n');
}

if (require.main === module && process.argv[2] === '--watch-cost') {
  const [n, iv, ms, mode] = process.argv.slice(3);
  void watchCostChild(Number(n), Number(iv), Number(ms), mode ?? 'watch');
}
