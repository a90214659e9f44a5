/**
 * A real Prometheus (Debian's /usr/bin/prometheus) scrapes our exporter every second and loads
 * dashboards/alerts.yml; a synthetic two-group node with a lease goes OFFLINE → STARTING → ONLINE → a fault
 * restarted in place → a fault beyond RestartLimit (group FAULTED, failover). Then every panel
 * query, annotation and variable query of every dashboard, and every alert expression, is
 * evaluated through Prometheus' HTTP API: each must return data (alerts: evaluate without error;
 * "resource faulted" must return a series and become active; the exporter alerts stay silent).
 *
 * prometheus-live.test.ts does the same against the real coordinator under PM2; this scripted
 * target stays because it also exercises what the one-node coordinator does not produce yet
 * (lease renewals, two groups, a concurrency violation, a certificate about to expire), cheaply.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../plugin/metrics/metrics';
import { startExporter } from '../../plugin/metrics/exporter';
import { allDashboards } from '../../plugin/metrics/dashboards/generate';
import { ALERT_RULES } from '../../plugin/metrics/dashboards/alerts';
import type { GroupState, NodeSnapshot, ResourceMetricState } from '../../plugin/metrics/snapshot';
import { portBlock } from '../helpers/ports';
import { PROMETHEUS_BIN, activeAlerts, dashboardQueryGaps, expectAlertStates, resultOf, startPrometheus, targetAndRulesHealthy, type Prometheus } from '../helpers/prometheus';

// Ports 25500 (Prometheus) and 25501 (exporter) of the 'demo' block's upper half.
const PROM_PORT = portBlock('demo', 5);
const TARGET_PORT = PROM_PORT + 1;
const RULES = path.resolve(__dirname, '..', '..', 'dashboards', 'alerts.yml');

interface ScrapeTarget {
  /** HOST:PORT serving /metrics. */
  address: string;
  /** Drives the cluster through its states; resolves when a resource is faulted beyond RestartLimit. */
  playScenario(): Promise<void>;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An exporter fed by a scripted one-node cluster (groups `dir` and `mail`). */
async function startSyntheticTarget(port: number): Promise<ScrapeTarget> {
  const metrics = createMetrics({ node: 'mx1' });
  const res: Record<string, { type: string; state: ResourceMetricState; restarts: number }> = {
    vip: { type: 'IP', state: 'OFFLINE', restarts: 0 },
    disk: { type: 'Mount', state: 'OFFLINE', restarts: 0 },
    imap: { type: 'SunJESMsg', state: 'OFFLINE', restarts: 0 },
  };
  const ldap = { type: 'SunJESLDAP', state: 'ONLINE' as ResourceMetricState, restarts: 0 };
  let mail: GroupState = 'OFFLINE';
  let mailLease = { holder: undefined as string | undefined, holderIsMe: false, epoch: 0, remainingServeSeconds: 0 };
  metrics.setSnapshotProvider((): NodeSnapshot => ({
    node: 'mx1',
    groups: [
      { group: 'dir', state: 'ONLINE', frozen: false, lease: { holder: 'mx1', holderIsMe: true, epoch: 3, remainingServeSeconds: 28 },
        resources: [{ resource: 'ldap', ...ldap }], unreachableFromNetwork: false },
      { group: 'mail', state: mail, frozen: false, lease: { ...mailLease },
        resources: Object.entries(res).map(([resource, r]) => ({ resource, ...r })),
        // Multi-node fields: the link, two standbys' remote probes through the VIP, the holder's verdict.
        links: [{ resource: 'nic', device: 'eth0', up: mail !== 'FAULTED' }],
        remoteProbes: [
          { service: 'imap', from: 'mx2', ok: true, phases: { connect: 0.001, greeting: 0.002, login: 0.01, logout: 0.001, total: 0.015 } },
          { service: 'imap', from: 'mx3', ok: mail === 'ONLINE', phases: { connect: 0.001, total: 0.001 } },
        ],
        ...(mailLease.holderIsMe ? { unreachableFromNetwork: false } : {}) },
    ],
  }));
  const exporter = await startExporter(metrics, { listen: `127.0.0.1:${port}`, healthy: () => true });

  // One "monitor cycle": probes, monitor durations, lease renewals.
  const tick = (): void => {
    metrics.leaseRenew('dir', 0.002 + Math.random() * 0.01, true);
    metrics.functionDuration('dir', 'ldap', 'SunJESLDAP', 'monitor', 0.01 + Math.random() * 0.02);
    metrics.probe('dir', 'ldap', 'ldap', { outcome: 'ok', phases: { connect: 0.001, login: 0.003, command: 0.002, total: 0.007 } });
    if (mailLease.holderIsMe) metrics.leaseRenew('mail', 0.003 + Math.random() * 0.01, true);
    if (res.imap.state === 'ONLINE') {
      metrics.functionDuration('mail', 'imap', 'SunJESMsg', 'monitor', 0.02 + Math.random() * 0.03);
      metrics.probe('mail', 'imap', 'imap', { outcome: 'ok', phases: { connect: 0.001, greeting: 0.002, login: 0.02, command: 0.005, logout: 0.001, total: 0.03 } });
      metrics.probe('mail', 'imap', 'imaps', { outcome: 'ok', phases: { connect: 0.001, tls: 0.006, greeting: 0.002, login: 0.02, logout: 0.001, total: 0.035 }, details: { certExpirySeconds: 10 * 86400 } });
    }
  };
  const hold = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 250) { tick(); await sleep(250); }
  };

  return {
    address: `127.0.0.1:${exporter.port}`,
    async playScenario() {
      await hold(2500);                                        // OFFLINE, scraped a few times
      mail = 'STARTING';
      mailLease = { holder: 'mx1', holderIsMe: true, epoch: 1, remainingServeSeconds: 30 };
      for (const name of ['vip', 'disk', 'imap']) {
        res[name].state = 'STARTING';
        await hold(500);
        metrics.functionDuration('mail', name, res[name].type, 'online', 0.2 + Math.random());
        res[name].state = 'ONLINE';
      }
      mail = 'ONLINE';
      await hold(2500);
      // imap dies; restarted in place.
      res.imap.state = 'FAULTED'; mail = 'PARTIAL';
      metrics.fault('mail', 'imap', 'process-exit');
      metrics.probe('mail', 'imap', 'imap', { outcome: 'fail', phases: { connect: 0.001, total: 0.001 }, failedPhase: 'connect' });
      metrics.functionDuration('mail', 'imap', 'SunJESMsg', 'clean', 0.4);
      await hold(1000);
      metrics.restart('mail', 'imap'); res.imap.restarts += 1;
      res.imap.state = 'ONLINE'; mail = 'ONLINE';
      metrics.leaseRenew('mail', 0.8, false);                  // one slow, failed renewal
      metrics.concurrencyViolation('dir', 'ldap');             // a standby found ldap running
      await hold(2500);
      // imap dies again beyond RestartLimit: the group goes offline here and moves.
      res.imap.state = 'FAULTED'; mail = 'FAULTED';
      metrics.fault('mail', 'imap', 'monitor-offline');
      metrics.failover('mail', 'resource-fault');
      for (const name of ['disk', 'vip']) {
        metrics.functionDuration('mail', name, res[name].type, 'offline', 0.1);
        res[name].state = 'OFFLINE';
      }
      mailLease = { holder: 'mx2', holderIsMe: false, epoch: 2, remainingServeSeconds: 0 };
      await hold(3000);
    },
    close: () => exporter.close(),
  };
}

describe('a real Prometheus scraping the exporter', () => {
  let dir: string;
  let prom: Prometheus | undefined;
  let target: ScrapeTarget | undefined;

  beforeAll(async () => {
    expect(fs.existsSync(PROMETHEUS_BIN), 'install the Debian package "prometheus"').toBe(true);
    dir = fs.mkdtempSync('/tmp/msgha-prom-');
    target = await startSyntheticTarget(TARGET_PORT);
    prom = await startPrometheus(dir, PROM_PORT, target.address, RULES);
    await target.playScenario();
    // The final state (a resource FAULTED, the failover counted) has been scraped.
    await prom.waitForSeries('msgha_resource_state{state="FAULTED"} == 1', 15_000);
    await prom.waitForSeries('increase(msgha_group_failovers_total[5m]) > 0', 15_000);
  });

  afterAll(async () => {
    await prom?.stop();
    await target?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes the target and loads every alert rule healthy', async () => {
    const h = await targetAndRulesHealthy(prom!);
    expect(h.targets).toEqual([['up', '']]);
    expect(h.rules).toEqual(ALERT_RULES.map((r) => r.alert).sort());
    expect(h.unhealthy).toEqual([]);
  });

  for (const [file, d] of Object.entries(allDashboards())) {
    it(`every query of ${file} returns data`, async () => {
      const gaps = await dashboardQueryGaps(prom!, d);
      expect(gaps.failed).toEqual([]);
      expect(gaps.empty).toEqual([]);
    });
  }

  it('every alert expression evaluates; "resource faulted" returns the faulted resource and fires', async () => {
    for (const r of ALERT_RULES) {
      const a = await prom!.query(r.expr);
      expect(a.status, `${r.alert}: ${a.error}`).toBe('success');
    }
    const faulted = await prom!.query(ALERT_RULES.find((r) => r.alert === 'MsghaResourceFaulted')!.expr);
    expect(resultOf(faulted).map((s) => s.metric.resource)).toEqual(['imap']);
    // Rules are evaluated every second: within 10 s each alert is active.
    const want = ['MsghaResourceFaulted', 'MsghaGroupFaulted', 'MsghaFailover', 'MsghaCertificateExpiring'];
    expectAlertStates(await activeAlerts(prom!, want, 10_000), want);
  });
});
