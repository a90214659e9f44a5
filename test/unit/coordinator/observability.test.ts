/**
 * The coordinator's observability layer without PM2: the snapshot built from the group runners'
 * memory, observations turned into function and probe metrics (service label from the check
 * name, certificate expiry as a date), group events, /healthz following the coordinator, and a
 * port in use logged as an ERROR naming the address and the key — never thrown.
 */
import * as net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResolvedCluster, ResolvedGroup, ResolvedResource } from '../../../plugin/model/cluster-types';
import { createLogger, type LogLevel } from '../../../plugin/core/log';
import type { AgentPort } from '../../../plugin/coordinator/apps/app-registry';
import { faultReasonOf } from '../../../plugin/coordinator/fault-reason';
import { GroupRunner } from '../../../plugin/coordinator/group-runner';
import { Observability } from '../../../plugin/coordinator/observability';
import { serviceOfCheck } from '../../../plugin/metrics/snapshot';
import type { AgentReport } from '../../../plugin/pm2/protocol';
import { portBlock } from '../../helpers/ports';

// The pm2 block's last hundred (24900–24999): unit tests of the coordinator.
const PORT = portBlock('pm2', 9) + 50;

function res(name: string, type: string, requires: string[] = []): ResolvedResource {
  return { id: `mail.${name}`, group: 'mail', name, type, requires, attrs: { RestartLimit: 1, ConfInterval: 600, OnlineTimeout: 5, OfflineTimeout: 5, CleanTimeout: 5 } };
}
const group: ResolvedGroup = { name: 'mail', systemList: ['n1'], autoStart: true, dependsOn: [], frozen: false, resources: [res('ldap', 'SunJESLDAP'), res('imap', 'SunJESMsg', ['ldap'])] };
const cluster = (listen: string): ResolvedCluster => ({ file: '/etc/msgha/mail.config.js', settings: { name: 'c', nodes: ['n1'], metrics: { listen } }, groups: [group] });

function logger() {
  const lines: Array<[LogLevel, string]> = [];
  return { lines, log: createLogger('msgha', 'coordinator', 'INFO', (line, level) => { lines.push([level, line]); }) };
}

const okPort: AgentPort = { async request(id, command) { return { resource: id, fn: command.cmd, ok: true, state: 'ONLINE', reason: 'fine', pid: 1 }; } };
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => { for (const c of cleanups) await c(); });

function setup(listen = `127.0.0.1:${PORT}`, retryMs = 0) {
  const { log, lines } = logger();
  const o = new Observability({ cluster: cluster(listen), node: 'n1', log, retryMs });
  const runner = new GroupRunner(group, { agents: okPort, log: createLogger('t', 't', 'ERROR'), restartApp: async () => true, events: o.groupEvents('mail') });
  let healthy = true;
  o.attach({ groupSnapshots: () => [runner.snapshot()], healthy: () => healthy });
  return { o, runner, lines, setHealthy: (v: boolean) => { healthy = v; } };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('Observability', () => {
  it('renders states from memory, observations as function and probe metrics, events as counters', async () => {
    const { o, runner } = setup();
    await runner.online('test');
    o.observed({ resource: 'mail.imap', fn: 'monitor', durationMs: 25, ok: true, state: 'ONLINE', pid: 1, checks: [
      { check: 'imap:143', outcome: 'ok', phases: { connect: 0.001, login: 0.01, total: 0.02 } },
      { check: 'imaps:993', outcome: 'timeout', phases: { connect: 0.001 }, details: { certExpirySeconds: 10 * 86400, certSubject: 'CN=mail' } },
    ] }, group.resources[1]!);
    const fault: AgentReport = { resource: 'mail.imap', fn: 'monitor', state: 'FAULTED', reason: 'imapd gone for user probe', level: 'first', pid: 1 };
    runner.onReport(fault);
    await settle();
    runner.onReport({ ...fault, state: 'ONLINE', violation: true });
    const body = await o.metrics.render();
    expect(body).toContain('msgha_group_state{node="n1",group="mail",state="ONLINE"} 1');
    expect(body).toContain('msgha_resource_state{node="n1",group="mail",resource="imap",type="SunJESMsg",state="ONLINE"} 1');
    expect(body).toContain('msgha_agent_function_last_duration_seconds{node="n1",group="mail",resource="imap",function="monitor"} 0.025');
    expect(body).toContain('msgha_probe_success{node="n1",group="mail",resource="imap",service="imap"} 1');
    expect(body).toContain('msgha_probes_total{node="n1",group="mail",resource="imap",service="imaps",outcome="timeout"} 1');
    const expiry = /msgha_tls_cert_expiry_timestamp_seconds\{node="n1",group="mail",resource="imap",service="imaps"\} (\d+)/.exec(body);
    expect(Math.abs(Number(expiry![1]) - (Date.now() / 1000 + 10 * 86400))).toBeLessThan(5);
    expect(body).toContain('msgha_resource_faults_total{node="n1",group="mail",resource="imap",reason="process-exit"} 1');
    expect(body).toContain('msgha_resource_restarts_total{node="n1",group="mail",resource="imap"} 1');
    expect(body).toContain('msgha_concurrency_violations_total{node="n1",group="mail",resource="imap"} 1');
    // No reason sentence, detail string or user name reaches a label.
    expect(body).not.toMatch(/probe"|CN=mail|imapd gone/);
  });

  it('counts a failover when a critical resource faults beyond RestartLimit; the group and resource show FAULTED', async () => {
    const { o, runner } = setup();
    await runner.online('test');
    const fault: AgentReport = { resource: 'mail.imap', fn: 'monitor', state: 'FAULTED', reason: 'gone', level: 'second', checks: [{ check: 'imap:143', outcome: 'timeout' }], pid: 1 };
    runner.onReport(fault);
    await settle();
    runner.onReport(fault);
    await settle();
    expect(runner.state).toBe('FAULTED');
    const body = await o.metrics.render();
    expect(body).toContain('msgha_group_failovers_total{node="n1",group="mail",reason="resource-fault"} 1');
    expect(body).toContain('msgha_resource_faults_total{node="n1",group="mail",resource="imap",reason="probe-timeout"} 2');
    expect(body).toContain('msgha_resource_state{node="n1",group="mail",resource="imap",type="SunJESMsg",state="FAULTED"} 1');
    expect(body).toContain('msgha_group_state{node="n1",group="mail",state="FAULTED"} 1');
  });

  it('serves /metrics and /healthz (following the coordinator) on cluster.metrics.listen', async () => {
    const { o, setHealthy } = setup();
    const e = await o.startExporter();
    cleanups.push(() => o.close());
    expect(e?.port).toBe(PORT);
    expect((await fetch(`http://127.0.0.1:${PORT}/healthz`)).status).toBe(200);
    setHealthy(false);
    expect((await fetch(`http://127.0.0.1:${PORT}/healthz`)).status).toBe(503);
    expect(await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text()).toContain('msgha_groups{node="n1"} 1');
    await o.close();
  });

  it('a port in use is an ERROR naming the address and the key, not a crash', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(PORT + 1, '127.0.0.1', () => r()));
    const { o, lines } = setup(`127.0.0.1:${PORT + 1}`, 50);
    cleanups.push(() => o.close());
    expect(await o.startExporter()).toBeUndefined();
    const errors = lines.filter(([level]) => level === 'ERROR').map(([, l]) => l);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/127\.0\.0\.1:24951/);
    expect(errors[0]).toMatch(/EADDRINUSE/);
    expect(errors[0]).toMatch(/cluster\.metrics\.listen/);
    // Still usable without the exporter.
    expect(await o.metrics.render()).toContain('msgha_groups');
    // Quietly tried again: once the port is free, /metrics comes up without another ERROR.
    await new Promise<void>((r) => busy.close(() => r()));
    await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(`http://127.0.0.1:${PORT + 1}/healthz`)).status).toBe(200);
    expect(lines.filter(([level]) => level === 'ERROR')).toHaveLength(1);
    await o.close();
  });
});

describe('labels and reasons from reports', () => {
  it.each([
    ['imap:143', 'imap'], ['ldaps:636', 'ldaps'], ['stored -tv', 'stored'], ['MonitorProgram', 'MonitorProgram'], ['/bin/sh -c x', 'other'], ['', 'other'],
  ])('check %j → service %j', (check, service) => { expect(serviceOfCheck(check)).toBe(service); });

  it('fault reason from the deciding level and checks', () => {
    expect(faultReasonOf({ level: 'first' })).toBe('process-exit');
    expect(faultReasonOf({ level: 'second', checks: [{ check: 'imap:1', outcome: 'fail' }] })).toBe('probe-failed');
    expect(faultReasonOf({ level: 'second', checks: [{ check: 'imap:1', outcome: 'timeout' }] })).toBe('probe-timeout');
    expect(faultReasonOf({ level: 'program' })).toBe('monitor-offline');
    expect(faultReasonOf({ timedOut: true })).toBe('probe-timeout');
    expect(faultReasonOf({})).toBe('monitor-offline');
  });
});
