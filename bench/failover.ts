/**
 * `npm run bench -- failover`: failover time of the whole product on a two-node cluster on this
 * machine (test/fixtures/cluster: per node a network + mount + PID namespace with its own PM2,
 * coordinator, agents and fence; the sandbox suite on a loop-mounted shared disk; a client
 * namespace on the bridge), and keepalived moving a bare VIP between the same namespaces as the
 * reference. Writes bench/results/failover.json and failover.md.
 *
 * Scenarios: (a) node kill — every process of the holder SIGKILLed at once — until the first
 * successful IMAP LOGIN through the VIP from the client namespace, per lease profile (fast ≥ 10
 * runs; local; nfs when MSGHA_BENCH_NFS=1); (b) planned switch (`msgha switch mail:<other>` run on
 * the holder) until the first IMAP LOGIN, from the command's start (its own Node start included);
 * (c) keepalived 2.2 (VRRP v2, advert_int 1, priorities 150/100): hard kill of the master's
 * keepalived until a TCP connection to the VIP is answered by the backup; (d) client link cut
 * on the holder — its switch port down, no carrier — until the first IMAP LOGIN through the VIP
 * (the group's NIC resource: three 1 s link checks, then the group fails over).
 *
 * Environment: MSGHA_BENCH_RUNS (fast runs, default 10), MSGHA_BENCH_LOCAL_RUNS (default 5),
 * MSGHA_BENCH_NFS=1 with MSGHA_BENCH_NFS_RUNS (default 3), MSGHA_BENCH_SWITCH_RUNS (default 10),
 * MSGHA_BENCH_KA_RUNS (default 10), MSGHA_BENCH_LINK_RUNS (default 10), MSGHA_BENCH_ONLY (subset: fast,switch,link,keepalived,local,nfs). Needs root, `npm run build`, and Debian's keepalived for (c).
 * Ports: block 'demo', index 2 (25200…), inside the namespaces only; addresses 10.213.40.0/24.
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MsgCluster } from '../test/fixtures/cluster/cluster';
import { mono } from '../test/fixtures/cluster/invariant';
import { mailPlan } from '../test/fixtures/cluster/plans';
import { portBlock } from '../test/helpers/ports';
import { failoverBounds, getProfile } from '../plugin/lease/profiles';
import { mdTable, resultsDir, summarize, writeResults, type Summary } from './stats';

const NODES = ['b1', 'b2'];
const BASE = portBlock('demo', 2);
const env = (k: string, d: number): number => Number(process.env[k] ?? d);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const say = (l: string): void => { process.stdout.write(`${l}\n`); };

const GOALS = { fastKillP50Ms: 4000, defaultKillP50Ms: 21_000, switchMs: 1500, keepalivedRefMs: 3126, linkCutP50Ms: 5000, linkCutP90Ms: 7000 };

interface Row { scenario: string; profile: string; runs: number[]; failures: string[]; summary?: Summary; goal?: string; when?: string }

function readPrevious(): { when: string; rows: Row[] } {
  try {
    const j = JSON.parse(fs.readFileSync(path.join(resultsDir(), 'failover.json'), 'utf8')) as { when?: string; rows?: Row[] };
    return { when: j.when ?? '', rows: Array.isArray(j.rows) ? j.rows : [] };
  } catch {
    return { when: '', rows: [] };
  }
}

function cluster(profile: 'fast' | 'local' | 'nfs'): MsgCluster {
  return new MsgCluster({
    tag: 'bfo', net: 40, nodes: NODES, profile, clusterName: 'bench',
    // A crash in place is not what we measure: keep the restart budget out of the way.
    timing: { RestartLimit: 3 },
    groups: [mailPlan(NODES, BASE)],
  });
}

async function ready(c: MsgCluster, maxMs: number): Promise<string> {
  for (const n of NODES) if (!c.node(n).up() || !c.pm2DaemonPid(n)) await c.startNode(n);
  // The holder's own view says ONLINE and the checker sees that node, alone, holding the VIP (a
  // node that just restarted still shows its view from before the kill until it publishes).
  if (!(await c.waitFor(() => c.settledAt('mail'), maxMs, 200))) throw new Error('group mail did not come online on one node');
  const r = await c.waitImap('mail', 30_000);
  if (!r.ok) throw new Error(`IMAP does not answer on the VIP: ${r.error}`);
  return c.onlineAt('mail')!;
}

/** Every node's coordinator publishes a view that has seen the current holder (a settled follower). */
async function settled(c: MsgCluster, holder: string, leaseMs: number): Promise<void> {
  const ok = await c.waitFor(() => NODES.every((n) => c.views()[n]?.groups.some((g) => g.name === 'mail' && (n === holder ? g.role === 'holder' : g.role === 'follower' && g.holder === holder))), 60_000, 200);
  if (!ok) throw new Error(`the followers did not settle on ${holder}`);
  // A follower that just started observes a full L before it may claim: measure steady state.
  await sleep(leaseMs + 1000);
}

async function nodeKills(profile: 'fast' | 'local' | 'nfs', runs: number): Promise<Row> {
  const row: Row = { scenario: 'node kill → first IMAP LOGIN on the VIP', profile, runs: [], failures: [] };
  const c = cluster(profile);
  const t = getProfile(profile).timings;
  try {
    await c.setup();
    await c.startAll();
    for (let i = 0; i < runs; i++) {
      try {
        const h = await ready(c, 120_000 + 2 * t.leaseMs);
        await settled(c, h, t.leaseMs);
        const t0 = await c.killNode(h);
        const r = await c.waitImap('mail', 3 * t.leaseMs + 60_000, 50);
        if (!r.ok) { row.failures.push(`run ${i + 1}: ${r.error}`); continue; }
        row.runs.push(Math.round(r.at! - t0));
        say(`  ${profile} kill ${i + 1}/${runs}: ${h} killed → IMAP after ${Math.round(r.at! - t0)} ms`);
        if (c.monitor!.violations.length) row.failures.push(`invariant: ${c.monitor!.report().join('; ')}`);
        await c.startNode(h);
      } catch (err) { row.failures.push(`run ${i + 1}: ${err instanceof Error ? err.message : String(err)}`); }
    }
  } finally { await c.teardown(); }
  row.summary = row.runs.length ? summarize(row.runs) : undefined;
  row.goal = profile === 'fast' ? `p50 ≤ ${GOALS.fastKillP50Ms} ms` : profile === 'nfs' ? `p50 ≤ ${GOALS.defaultKillP50Ms} ms (default profile)` : `bound 2P+L+T_io = ${failoverBounds(t).holderCrashMs} ms + start`;
  return row;
}

/**
 * `runs` runs on one two-node cluster of the fast profile: each waits for a settled holder, then
 * `once` does the run (from the holder to the other node) and returns the milliseconds to the
 * first IMAP LOGIN, or why the run failed. The checker's violations fail the row.
 */
async function fastRuns(row: Row, runs: number, once: (c: MsgCluster, h: string, to: string, i: number) => Promise<number | string>): Promise<Row> {
  const c = cluster('fast');
  try {
    await c.setup();
    await c.startAll();
    for (let i = 0; i < runs; i++) {
      try {
        const h = await ready(c, 120_000);
        await settled(c, h, 0);
        const r = await once(c, h, NODES.find((n) => n !== h)!, i);
        if (typeof r === 'number') row.runs.push(r);
        else row.failures.push(`run ${i + 1}: ${r}`);
      } catch (err) { row.failures.push(`run ${i + 1}: ${err instanceof Error ? err.message : String(err)}`); }
    }
    if (c.monitor!.violations.length) row.failures.push(`invariant: ${c.monitor!.report().join('; ')}`);
  } finally { await c.teardown(); }
  row.summary = row.runs.length ? summarize(row.runs) : undefined;
  return row;
}

/** The VIP on `to` alone, as the checker sees it. */
const vipOn = (c: MsgCluster, to: string): Promise<boolean> =>
  c.waitFor(() => { const v = c.monitor!.holders('vip', 'mail'); return v.length === 1 && v[0] === to; }, 30_000, 10);

function switches(runs: number): Promise<Row> {
  const row: Row = { scenario: 'planned switch (msgha switch on the holder) → first IMAP LOGIN', profile: 'fast', runs: [], failures: [], goal: `≤ ${GOALS.switchMs} ms` };
  return fastRuns(row, runs, async (c, h, to, i) => {
    const t0 = mono();
    const at = new Date().toISOString(); // to match the coordinator's "operator request" log line
    const cmd = c.msgha(h, ['switch', `mail:${to}`]);
    // The old holder answers until it stops: count the first login once the VIP is on `to`.
    if (!(await vipOn(c, to))) { await cmd; return `the VIP did not move to ${to}`; }
    const r = await c.waitImap('mail', 30_000, 20);
    const out = await cmd;
    if (!r.ok || out.code !== 0) return `${r.error ?? ''} ${out.stdout}${out.stderr}`.trim();
    say(`  switch ${i + 1}/${runs}: ${h} → ${to} (command at ${at}): IMAP after ${Math.round(r.at! - t0)} ms (${r.attempts} attempts; slowest failed ${r.slowestFailedMs} ms: ${r.lastError || '-'})`);
    return Math.round(r.at! - t0);
  });
}

/** The link of a node as its published view says (NIC resource of the mail group). */
function linkUp(c: MsgCluster, node: string): boolean | null | undefined {
  return c.views()[node]?.links?.find((l) => l.group === 'mail')?.up;
}

function linkCuts(runs: number): Promise<Row> {
  const row: Row = {
    scenario: 'client link cut on the holder (switch port down) → first IMAP LOGIN through the VIP', profile: 'fast', runs: [], failures: [],
    goal: `p50 ≤ ${GOALS.linkCutP50Ms} ms, p90 ≤ ${GOALS.linkCutP90Ms} ms`,
  };
  return fastRuns(row, runs, async (c, h, to, i) => {
    const t0 = mono();
    c.lan!.portDown(h, true);
    let result: number | string;
    try {
      if (!(await vipOn(c, to))) return `the VIP did not move to ${to}`;
      const r = await c.waitImap('mail', 30_000, 20);
      if (!r.ok) return r.error ?? '';
      const vipAt = c.monitor!.firstHold('vip', 'mail', t0, to);
      say(`  link cut ${i + 1}/${runs}: ${h} → ${to}: VIP on ${to} after ${vipAt ? Math.round(vipAt - t0) : '?'} ms, IMAP after ${Math.round(r.at! - t0)} ms`);
      result = Math.round(r.at! - t0);
    } finally { c.lan!.portDown(h, false); }
    // The old holder's link back, its link fault cleared: a standby again before the next run.
    if (!(await c.waitFor(() => linkUp(c, h) === true && c.views()[h]?.groups.some((g) => g.name === 'mail' && !g.faulted && g.contending) === true, 30_000, 200))) {
      row.failures.push(`run ${i + 1}: ${h} did not become a standby again after its link came back`);
    }
    return result;
  });
}

// ── keepalived reference ─────────────────────────────────────────────────────────────────

function keepalivedConf(dir: string, node: string, prio: number, vip: string): string {
  const file = path.join(dir, `${node}.conf`);
  fs.writeFileSync(file, [
    'global_defs {', `  router_id ${node}`, '  enable_script_security', '}',
    'vrrp_instance VI_1 {', '  state BACKUP', '  interface eth0', '  virtual_router_id 213', `  priority ${prio}`,
    '  advert_int 1', '  virtual_ipaddress {', `    ${vip}/24`, '  }', '}', '',
  ].join('\n'));
  return file;
}

async function keepalived(runs: number): Promise<Row> {
  const row: Row = { scenario: 'keepalived: master killed (SIGKILL) → backup answers on the VIP', profile: 'VRRP advert_int 1', runs: [], failures: [] };
  if (!fs.existsSync('/usr/sbin/keepalived')) {
    row.failures.push('keepalived is not installed (apt-get install --no-install-recommends keepalived)');
    return row;
  }
  // The same namespaces as the product (no PM2 on them): the cluster only provides the LAN.
  const c = cluster('fast');
  const procs: ChildProcess[] = [];
  try {
    await c.setup();
    const vip = c.lan!.addr(70);
    const dir = path.join(c.base, 'keepalived');
    fs.mkdirSync(dir, { recursive: true });
    const PORT = BASE + 90;
    const ka = new Map<string, ChildProcess>();
    const startKa = (n: string, prio: number): void => {
      const conf = keepalivedConf(dir, n, prio, vip);
      const p = c.node(n).spawn(['keepalived', '-n', '-l', '-P', '-f', conf, '-p', path.join(dir, `${n}.pid`), '-r', path.join(dir, `${n}.vrrp.pid`)]);
      ka.set(n, p);
      procs.push(p);
    };
    for (const n of NODES) procs.push(c.node(n).spawn([process.execPath, '-e', `require('net').createServer((s)=>s.end('${n}\\n')).listen(${PORT})`]));
    startKa('b1', 150);
    startKa('b2', 100);
    for (let i = 0; i < runs; i++) {
      const up = await c.client!.request({ op: 'waitTcp', host: vip, port: PORT, expect: 'b1', untilMs: 30_000, everyMs: 20 });
      if (!up.ok) { row.failures.push(`run ${i + 1}: master never answered: ${up.error}`); break; }
      await sleep(3000);
      const t0 = mono();
      for (const p of c.node('b1').find('keepalived')) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
      const r = await c.client!.request({ op: 'waitTcp', host: vip, port: PORT, expect: 'b2', untilMs: 30_000, everyMs: 20 });
      if (r.ok) { row.runs.push(Math.round(r.at! - t0)); say(`  keepalived ${i + 1}/${runs}: backup answered after ${Math.round(r.at! - t0)} ms`); }
      else row.failures.push(`run ${i + 1}: ${r.error}`);
      // A hard-killed keepalived leaves its VIP configured (peers.md): remove it, restart the master.
      await c.node('b1').exec(['ip', 'addr', 'del', `${vip}/24`, 'dev', 'eth0']);
      startKa('b1', 150);
    }
  } finally {
    for (const p of procs) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
    await c.teardown();
  }
  row.summary = row.runs.length ? summarize(row.runs) : undefined;
  row.goal = `reference (peers.md: ${GOALS.keepalivedRefMs} ms median)`;
  return row;
}

export async function run(): Promise<void> {
  const rows: Row[] = [];
  // MSGHA_BENCH_ONLY: comma list of fast,switch,link,keepalived,local,nfs (default: all but nfs unless MSGHA_BENCH_NFS=1).
  const only = new Set((process.env.MSGHA_BENCH_ONLY ?? 'fast,switch,link,keepalived,local,nfs').split(','));
  if (only.has('fast')) {
    say('(a) node kill, fast profile');
    rows.push(await nodeKills('fast', env('MSGHA_BENCH_RUNS', 10)));
  }
  if (only.has('switch')) {
    say('(b) planned switch, fast profile');
    rows.push(await switches(env('MSGHA_BENCH_SWITCH_RUNS', 10)));
  }
  if (only.has('link')) {
    say('(d) client link cut on the holder, fast profile');
    rows.push(await linkCuts(env('MSGHA_BENCH_LINK_RUNS', 10)));
  }
  if (only.has('keepalived')) {
    say('(c) keepalived reference');
    rows.push(await keepalived(env('MSGHA_BENCH_KA_RUNS', 10)));
  }
  if (only.has('local')) {
    say('(a) node kill, local profile');
    rows.push(await nodeKills('local', env('MSGHA_BENCH_LOCAL_RUNS', 5)));
  }
  if (only.has('nfs') && process.env.MSGHA_BENCH_NFS === '1') {
    say('(a) node kill, nfs (default) profile');
    rows.push(await nodeKills('nfs', env('MSGHA_BENCH_NFS_RUNS', 3)));
  }
  // A partial run (MSGHA_BENCH_ONLY) keeps the other rows of the last full results, marked with
  // their date, so the table always shows every scenario.
  const previous = readPrevious();
  for (const old of previous.rows) {
    if (!rows.some((r) => r.scenario === old.scenario && r.profile === old.profile)) rows.push({ ...old, when: old.when ?? previous.when });
  }
  const fmt = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '–' : String(Math.round(v)));
  const md = [
    '# Failover (npm run bench -- failover)',
    '',
    'Two nodes on one 2-core machine (network + mount + PID namespaces, own PM2 + coordinator + agents + fence each),',
    'sandbox suite (Dovecot, Postfix, JES-style daemons) on a loop-mounted ext4 shared disk, client in its own namespace',
    'on the bridge. Times in ms on one CLOCK_MONOTONIC, from the fault (or the command) to the first successful IMAP',
    'LOGIN through the VIP (keepalived: the first TCP answer from the backup).',
    '',
    mdTable(['scenario', 'profile', 'runs', 'median', 'p90', 'min', 'max', 'goal', 'failures'],
      rows.map((r) => [`${r.scenario}${r.when ? ` (from the run of ${r.when.slice(0, 16)})` : ''}`, r.profile, r.runs.length, fmt(r.summary?.median), fmt(r.summary?.p90), fmt(r.summary?.min), fmt(r.summary?.max), r.goal ?? '', r.failures.length])),
    '',
    ...rows.filter((r) => r.failures.length).map((r) => `- ${r.scenario} (${r.profile}): ${r.failures.slice(0, 3).join(' | ')}`),
  ].join('\n');
  writeResults('failover', { when: new Date().toISOString(), goals: GOALS, rows }, md);
  say(md);
}
