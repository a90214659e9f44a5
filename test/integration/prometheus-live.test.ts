/**
 * The real thing: a real PM2 daemon (own PM2_HOME) runs the real coordinator and agent apps of a
 * sandbox group (real slapd and Dovecot); a real Prometheus scrapes the coordinator's exporter
 * every second and loads dashboards/alerts.yml. The group comes online, imapd is killed -9 once
 * (restarted in place) and again beyond RestartLimit (group FAULTED, failover counted). Then:
 * every panel, annotation and variable query of every dashboard returns data (except the lease
 * renewal histogram, which has no data until the lease is integrated: those must still
 * evaluate), every alert expression evaluates and "resource faulted" returns imap and becomes active;
 * `promtool check metrics` passes on the live /metrics; no user name, password or secret is in
 * /metrics; `pm2 jlist` / `pm2 show` show the agents' and the coordinator's metrics.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allDashboards } from '../../plugin/metrics/dashboards/generate';
import { ALERT_RULES } from '../../plugin/metrics/dashboards/alerts';
import { buildSandbox, type Sandbox } from '../fixtures/sandbox/index';
import { portBlock } from '../helpers/ports';
import { coordinatorStatus, groupOf, pm2Home, resourceOf, runNode, waitFor, PACKAGE_ROOT, type Pm2Home } from '../helpers/pm2';
import { clusterFileSource, readBanner } from '../fixtures/cluster-file';
import { PROMTOOL_BIN, activeAlerts, dashboardQueryGaps, expectAlertStates, resultOf, startPrometheus, targetAndRulesHealthy, type Prometheus } from '../helpers/prometheus';

// The 'demo' block's upper half: sandbox 25600–25639, Prometheus 25690, exporter 25691.
const BASE = portBlock('demo', 6);
const PROM_PORT = BASE + 90;
const EXPORTER = `127.0.0.1:${BASE + 91}`;
const WORK = `/tmp/msgha-d${BASE}w`;
const SBX = `/tmp/msgha-d${BASE}s`;
const CLI = path.join(PACKAGE_ROOT, 'dist', 'plugin', 'cli', 'main.js');
const RULES = path.join(PACKAGE_ROOT, 'dashboards', 'alerts.yml');
/**
 * Panels fed only by lease renewals (no data until the lease is wired into the coordinator) or by
 * multi-node network facts (links, remote probes: this one-node cluster has none).
 */
const AWAITING_LEASE = /msgha_lease_renew_duration_seconds|msgha_link_up|msgha_remote_probe_|msgha_group_unreachable_from_network/;

const FAST = { MonitorInterval: 2, OfflineMonitorInterval: 5, OnlineTimeout: 30, OfflineTimeout: 20, CleanTimeout: 15, MonitorTimeout: 2 };

let sb: Sandbox;
let pm2: Pm2Home;
let prom: Prometheus | undefined;
let secret = '';

async function writeCluster(s: Sandbox): Promise<string> {
  const keyFile = path.join(WORK, 'cluster.key');
  const env = { ...process.env, MSGHA_KEY_FILE: keyFile };
  expect((await runNode([CLI, 'keygen', '--key-file', keyFile], env)).code).toBe(0);
  const enc = await runNode([CLI, 'encrypt', '--key-file', keyFile], env, { input: `${s.testUser.password}\n` });
  expect(enc.code, enc.stderr).toBe(0);
  secret = enc.stdout.trim().split('\n').pop()!;
  const p = s.ports;
  const def = {
    cluster: { name: 'live', nodes: ['n1'], keyFile, metrics: { listen: EXPORTER } },
    groups: {
      mail: {
        systemList: ['n1'],
        resources: {
          // SSLPort: the deep check's TLS handshake gives the certificate expiry series.
          ldap: { type: 'SunJESLDAP', InstanceRoot: s.ldapRoot, LDAPHost: '127.0.0.1', LDAPPort: p.ldap, SSLPort: p.ldaps, SecondLevelMonitor: 1, ...FAST },
          core: { type: 'SunJESMsg', requires: ['ldap'], ServerRoot: s.msgRoot, MsgHost: '127.0.0.1', MsgServices: { core: p.core }, ...FAST },
          // The deep check logs in as the test user: its name and password must stay out of /metrics.
          imap: { type: 'SunJESMsg', requires: ['core'], ServerRoot: s.msgRoot, MsgHost: '127.0.0.1', MsgServices: { imap: p.imap },
            LDAPTestUser: s.testUser.name, LDAPTestPasswd: secret, SecondLevelMonitor: 1, ...FAST, RestartLimit: 1 },
        },
      },
    },
  };
  const file = path.join(WORK, 'cluster.config.js');
  const dist = path.join(PACKAGE_ROOT, 'dist', 'plugin', 'index.js');
  fs.writeFileSync(file, clusterFileSource(dist, def));
  return file;
}

/** First line of a line-protocol greeting ('' when none came). */
const banner = (port: number, timeoutMs = 500): Promise<string> => readBanner(port, timeoutMs);

const imapdPid = (): number => Number(fs.readFileSync(path.join(sb.msgRoot, 'config', 'pid', 'imapd.pid'), 'utf8').trim());
const mail = async () => groupOf(await coordinatorStatus(pm2), 'mail');

async function scrape(): Promise<string> {
  const r = await fetch(`http://${EXPORTER}/metrics`);
  expect(r.status).toBe(200);
  return r.text();
}

function promtool(args: string[], input: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(PROMTOOL_BIN, args, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
    child.stdin!.end(input);
  });
}

/** Every label value of every series of an exposition. */
function labelValues(body: string): string[] {
  const values: string[] = [];
  for (const line of body.split('\n')) {
    if (line.startsWith('#')) continue;
    for (const m of line.matchAll(/\w+="((?:[^"\\]|\\.)*)"/g)) values.push(m[1]!);
  }
  return values;
}

interface AxmEntry { value: unknown; unit?: string }
async function axm(app: string): Promise<Record<string, AxmEntry>> {
  const row = (await pm2.jlist()).find((a) => a.name === app);
  return ((row?.raw.pm2_env as Record<string, unknown> | undefined)?.axm_monitor ?? {}) as Record<string, AxmEntry>;
}

beforeAll(async () => {
  // First, so that a daemon left by an aborted run is killed before its files go.
  pm2 = await pm2Home(path.join(WORK, 'h'), { MSGHA_NODE: 'n1' });
  for (const e of fs.readdirSync(WORK)) if (e !== 'h') fs.rmSync(path.join(WORK, e), { recursive: true, force: true });
  sb = await buildSandbox({ dir: SBX, basePort: BASE });
  const file = await writeCluster(sb);
  const r = await pm2.cli(['start', file]);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  fs.mkdirSync(path.join(WORK, 'prom'));
  prom = await startPrometheus(path.join(WORK, 'prom'), PROM_PORT, EXPORTER, RULES);
});

afterAll(async () => {
  if (process.env.MSGHA_TEST_KEEP) return;
  await prom?.stop();
  await pm2?.destroy();
  await sb?.destroy();
  fs.rmSync(WORK, { recursive: true, force: true });
});

describe('a real Prometheus scraping a real one-node deployment', () => {
  it('the group comes online; /metrics, /healthz and promtool agree', async () => {
    await waitFor('group mail ONLINE', async () => (await mail())?.state === 'ONLINE', { timeoutMs: 60_000, intervalMs: 500 });
    expect((await fetch(`http://${EXPORTER}/healthz`)).status).toBe(200);
    // A few deep checks later every probed service has its series.
    await waitFor('probe series of imap, ldap and ldaps', async () => {
      const body = await scrape();
      return ['imap', 'ldap', 'ldaps'].every((s) => body.includes(`msgha_probe_success{node="n1",group="mail",resource="${s === 'imap' ? 'imap' : 'ldap'}",service="${s}"} 1`));
    }, { timeoutMs: 20_000, intervalMs: 500 });
    const body = await scrape();
    expect(body).toMatch(/msgha_resource_state\{node="n1",group="mail",resource="imap",type="SunJESMsg",state="ONLINE"\} 1/);
    expect(body).toMatch(/msgha_tls_cert_expiry_timestamp_seconds\{node="n1",group="mail",resource="ldap",service="ldaps"\} \d+/);
    expect(body).toMatch(/msgha_agent_function_duration_seconds_count\{node="n1",group="mail",type="SunJESMsg",function="online"\} [1-9]/);
    // The coordinator's process metrics under their standard names; the build info of this package.
    expect(body).toMatch(/^process_resident_memory_bytes\{node="n1"\}/m);
    expect(body).toMatch(/^msgha_build_info\{node="n1",version="[^"]+",nodejs="v\d+/m);
    const check = await promtool(['check', 'metrics'], body);
    expect(check.code, check.out).toBe(0);
  });

  it('pm2 jlist / pm2 show: agents show state, restarts and probe phases; the coordinator its groups', async () => {
    const imap = await waitFor('mail:imap axm_monitor', async () => {
      const m = await axm('mail:imap');
      return m.state?.value === 'ONLINE' && typeof m['probe total']?.value === 'number' ? m : undefined;
    }, { timeoutMs: 15_000, intervalMs: 500 });
    expect(imap['restarts in place']?.value).toBe(0);
    // The component, not the agent: its daemons, their CPU and memory, the state's reason.
    expect(String(imap.daemons?.value)).toMatch(/^\d+( \d+)*$/);
    expect(imap['daemons memory']?.unit).toBe('MB');
    expect(typeof imap.reason?.value).toBe('string');
    expect(imap['last probe']?.value).toBe('imap ok');
    expect(imap['probe login']?.unit).toBe('ms');
    const coord = await waitFor('msgha axm_monitor', async () => {
      const m = await axm('msgha');
      return m['mail state']?.value === 'ONLINE' ? m : undefined;
    }, { timeoutMs: 15_000, intervalMs: 500 });
    expect(coord['groups online']?.value).toBe(1);
    const show = await pm2.cli(['show', 'mail:imap']);
    expect(show.stdout).toMatch(/Code metrics value/);
    expect(show.stdout).toMatch(/state\s*│\s*ONLINE/);
    expect(show.stdout).toMatch(/probe total/);
    const rss = (await pm2.jlist()).filter((a) => a.name.startsWith('mail:')).map((a) => {
      const monit = (a.raw.monit ?? {}) as { memory?: number };
      return `${a.name} ${((monit.memory ?? 0) / 1048576).toFixed(1)} MB`;
    });
    process.stdout.write(`agent RSS: ${rss.join(', ')}\n`);
  });

  it('kill -9 of imapd: restarted in place, then beyond RestartLimit the group faults', async () => {
    await waitFor('IMAP answering', async () => /^\* OK/.test(await banner(sb.ports.imap)));
    process.kill(imapdPid(), 'SIGKILL');
    let seen = '';
    await waitFor('imap restarted in place', async () => {
      const s = await coordinatorStatus(pm2);
      const imap = resourceOf(s, 'mail.imap');
      seen = `group ${groupOf(s, 'mail')?.state} (${groupOf(s, 'mail')?.reason}), imap ${imap?.state} restarts ${imap?.restarts} (${imap?.reason})`;
      return groupOf(s, 'mail')?.state === 'ONLINE' && imap?.restarts === 1;
    }, { timeoutMs: 30_000, intervalMs: 300 }).catch((err: Error) => { throw new Error(`${err.message}; last seen: ${seen}`); });
    await waitFor('IMAP answering again', async () => /^\* OK/.test(await banner(sb.ports.imap)), { timeoutMs: 20_000 });
    // pm2 show: the restart in place, within a second of it (published at every state change).
    const m = await waitFor('pm2 show restarts in place 1', async () => { const x = await axm('mail:imap'); return x['restarts in place']?.value === 1 ? x : undefined; }, { timeoutMs: 5_000, intervalMs: 200 });
    expect(m.state?.value).toBe('ONLINE');
    // Scraped at least once while restarted (Prometheus scrapes every second).
    await prom!.waitForSeries('msgha_resource_restarts_total{resource="imap"} > 0', 10_000);
    process.kill(imapdPid(), 'SIGKILL');
    await waitFor('group FAULTED', async () => (await mail())?.state === 'FAULTED', { timeoutMs: 40_000, intervalMs: 300 });
    await prom!.waitForSeries('msgha_resource_state{resource="imap", state="FAULTED"} == 1', 15_000);
    await prom!.waitForSeries('increase(msgha_group_failovers_total{reason="resource-fault"}[5m]) > 0', 15_000);
    await prom!.waitForSeries('msgha_resource_faults_total{resource="imap", reason="process-exit"} >= 2', 15_000);
    // The group faulted: its apps are retired, so `pm2 ls` shows them stopped.
    await waitFor('mail apps stopped', async () => (await pm2.jlist()).filter((a) => a.name.startsWith('mail:')).every((a) => a.status === 'stopped'), { timeoutMs: 15_000, intervalMs: 300 });
  });

  it('scrapes the exporter and loads every alert rule healthy', async () => {
    const h = await targetAndRulesHealthy(prom!);
    expect(h.targets).toEqual([['up', '']]);
    expect(h.rules).toEqual(ALERT_RULES.map((r) => r.alert).sort());
    expect(h.unhealthy).toEqual([]);
  });

  for (const [file, d] of Object.entries(allDashboards())) {
    it(`every query of ${file} returns data`, async () => {
      const gaps = await dashboardQueryGaps(prom!, d, AWAITING_LEASE);
      expect(gaps.failed).toEqual([]);
      expect(gaps.empty).toEqual([]);
    });
  }

  it('every alert expression evaluates; "resource faulted" returns imap and fires', async () => {
    for (const r of ALERT_RULES) {
      const a = await prom!.query(r.expr);
      expect(a.status, `${r.alert}: ${a.error}`).toBe('success');
    }
    const faulted = await prom!.query(ALERT_RULES.find((r) => r.alert === 'MsghaResourceFaulted')!.expr);
    expect(resultOf(faulted).map((s) => s.metric.resource)).toEqual(['imap']);
    // Rules are evaluated one after another: wait for all three to be active.
    const want = ['MsghaResourceFaulted', 'MsghaGroupFaulted', 'MsghaFailover'];
    expectAlertStates(await activeAlerts(prom!, want, 20_000), want);
  });

  it('no user name, password or secret in /metrics; label values are configured names and enums', async () => {
    const body = await scrape();
    for (const needle of [sb.testUser.password, sb.testUser.email, secret, 'enc:v1:']) expect(body.includes(needle), needle).toBe(false);
    const values = labelValues(body);
    expect(values.length).toBeGreaterThan(100);
    expect(values.filter((v) => v === sb.testUser.name || v.includes(sb.testUser.email))).toEqual([]);
    // Closed vocabulary: nothing that reads like a sentence or a path.
    expect(values.filter((v) => /\s|\//.test(v))).toEqual([]);
  });
});
