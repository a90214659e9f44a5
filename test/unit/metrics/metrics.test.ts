import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../plugin/metrics/metrics';
import { BUILD_LABELS, ENUM_LABELS, IDENTITY_LABELS } from '../../../plugin/metrics/definitions';
import {
  GROUP_STATES, PROBE_PHASES, RESOURCE_STATES, type GroupSnapshot, type GroupState, type NodeSnapshot, type ResourceMetricState,
} from '../../../plugin/metrics/snapshot';
import { parseExposition, value } from './exposition';

function snapshot(groupState: GroupState, imapState: ResourceMetricState, holder = true): NodeSnapshot {
  return {
    node: 'mx1',
    groups: [{
      group: 'mail', state: groupState, frozen: false,
      lease: { holder: holder ? 'mx1' : 'mx2', holderIsMe: holder, epoch: 7, remainingServeSeconds: 31.5 },
      resources: [
        { resource: 'vip', type: 'IP', state: 'ONLINE', restarts: 0 },
        { resource: 'imap', type: 'SunJESMsg', state: imapState, restarts: 2, certExpirySeconds: { imaps: 86400 } },
      ],
    }],
  };
}

/** The same node with the network fields of multi-node mode: a link, two standbys' remote probes, the holder's verdict. */
function withNetwork(snap: NodeSnapshot, net: Partial<Pick<GroupSnapshot, 'links' | 'remoteProbes' | 'unreachableFromNetwork'>> = {}): NodeSnapshot {
  return {
    ...snap,
    groups: snap.groups.map((g) => ({
      ...g,
      links: [{ resource: 'nic', device: 'eth0', up: true }],
      remoteProbes: [
        { service: 'imap', from: 'mx2', ok: true, phases: { connect: 0.001, greeting: 0.002, login: 0.008, total: 0.012 } },
        { service: 'imap', from: 'mx3', ok: false, phases: { connect: 5 } },
      ],
      unreachableFromNetwork: false,
      ...net,
    })),
  };
}

describe('metric definitions', () => {
  it('construct on private registries (two instances do not collide) with msgha_ names and allowed labels only', async () => {
    const a = createMetrics({ node: 'mx1' });
    const b = createMetrics({ node: 'mx2' });
    a.setSnapshotProvider(() => withNetwork(snapshot('ONLINE', 'ONLINE')));
    a.probe('mail', 'imap', 'imap', { outcome: 'ok', phases: { connect: 0.001, total: 0.01 } });
    a.functionDuration('mail', 'imap', 'SunJESMsg', 'monitor', 0.02);
    a.leaseRenew('mail', 0.003, true);
    const series = parseExposition(await a.render());
    expect(parseExposition(await b.render()).every((s) => s.labels.node === 'mx2')).toBe(true);
    const allowed = new Set<string>([...IDENTITY_LABELS, ...ENUM_LABELS, 'le']);
    // prom-client's process metrics carry these fixed labels
    const processLabels = new Set<string>(['version', 'major', 'minor', 'patch', 'space', 'kind', 'type', 'quantile']);
    for (const s of series) {
      expect(s.labels.node).toBe('mx1');
      const own = s.name.startsWith('msgha_');
      // Ours are prefixed; the process metrics keep their standard names (stock dashboards find them).
      expect(own || /^(process|nodejs)_/.test(s.name), s.name).toBe(true);
      const ok = own ? (s.name === 'msgha_build_info' ? new Set<string>(BUILD_LABELS) : allowed) : processLabels;
      for (const l of Object.keys(s.labels)) if (l !== 'node') expect(ok.has(l), `${s.name} label ${l}`).toBe(true);
    }
    const catalog = a.catalog();
    expect(catalog.length).toBe(30);
    for (const f of catalog) {
      expect(f.help.length, f.name).toBeGreaterThan(10);
      expect(f.name.endsWith('_total')).toBe(f.type === 'counter');
      const ok = f.name === 'msgha_build_info' ? new Set<string>(['node', ...BUILD_LABELS]) : allowed;
      for (const l of f.labelNames) expect(ok.has(l), `${f.name} label ${l}`).toBe(true);
    }
    // Every family of the catalogue appears in the output.
    for (const f of catalog) expect(series.some((s) => s.name === f.name || s.name.startsWith(`${f.name}_`)), f.name).toBe(true);
  });

  it('msgha_build_info: 1, with the package version and the Node.js version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
    const s = parseExposition(await createMetrics({ node: 'mx1', processMetrics: false }).render());
    const info = s.filter((x) => x.name === 'msgha_build_info');
    expect(info.map((x) => x.labels)).toEqual([{ node: 'mx1', version: pkg.version, nodejs: process.version }]);
    expect(info[0]!.value).toBe(1);
    expect(value(parseExposition(await createMetrics({ node: 'mx1', processMetrics: false, version: '9.9.9' }).render()), 'msgha_build_info', {})!).toBe(1);
  });

  it('process metrics under their standard names, with node, and none of the old msgha_process_* names', async () => {
    const body = await createMetrics({ node: 'mx1' }).render();
    expect(body).toMatch(/^process_cpu_seconds_total\{node="mx1"\} /m);
    expect(body).toMatch(/^process_resident_memory_bytes\{node="mx1"\} /m);
    expect(body).toMatch(/^nodejs_heap_size_used_bytes\{node="mx1"\} /m);
    expect(body).not.toMatch(/msgha_(process|nodejs)_/);
    // Gauges named *_total, which promtool check metrics rejects, stay out.
    expect(body).not.toMatch(/^nodejs_active_handles_total/m);
  });

  it('rejects an empty node name at construction', () => {
    expect(() => createMetrics({ node: '' })).toThrow(/node/);
  });
});

describe('snapshot → series', () => {
  it('renders state sets, codes, lease and certificate gauges from the snapshot', async () => {
    const m = createMetrics({ node: 'mx1', processMetrics: false });
    m.setSnapshotProvider(() => snapshot('PARTIAL', 'FAULTED'));
    const s = parseExposition(await m.render());
    for (const st of GROUP_STATES) expect(value(s, 'msgha_group_state', { group: 'mail', state: st })).toBe(st === 'PARTIAL' ? 1 : 0);
    for (const st of RESOURCE_STATES) {
      expect(value(s, 'msgha_resource_state', { resource: 'imap', type: 'SunJESMsg', state: st })).toBe(st === 'FAULTED' ? 1 : 0);
    }
    expect(value(s, 'msgha_group_state_code', { group: 'mail' })).toBe(GROUP_STATES.indexOf('PARTIAL'));
    expect(value(s, 'msgha_resource_state_code', { resource: 'imap' })).toBe(RESOURCE_STATES.indexOf('FAULTED'));
    expect(value(s, 'msgha_lease_held', { group: 'mail' })).toBe(1);
    expect(value(s, 'msgha_lease_epoch', { group: 'mail' })).toBe(7);
    expect(value(s, 'msgha_lease_remaining_serve_seconds', { group: 'mail' })).toBe(31.5);
    expect(value(s, 'msgha_lease_holders_seen', { group: 'mail' })).toBe(1);
    const expiry = value(s, 'msgha_tls_cert_expiry_timestamp_seconds', { resource: 'imap', service: 'imaps' })!;
    expect(Math.abs(expiry - (Date.now() / 1000 + 86400))).toBeLessThan(5);
    // Event counters exist at 0 for every reason from the first scrape on.
    expect(value(s, 'msgha_resource_faults_total', { resource: 'imap', reason: 'probe-timeout' })).toBe(0);
    expect(value(s, 'msgha_group_failovers_total', { group: 'mail', reason: 'switch' })).toBe(0);
    expect(value(s, 'msgha_resource_restarts_total', { resource: 'vip' })).toBe(0);
  });

  it('a standby reports no serve time; a snapshot with a foreign holder counts one holder', async () => {
    const m = createMetrics({ node: 'mx1', processMetrics: false });
    m.setSnapshotProvider(() => snapshot('OFFLINE', 'OFFLINE', false));
    const s = parseExposition(await m.render());
    expect(value(s, 'msgha_lease_held', { group: 'mail' })).toBe(0);
    expect(value(s, 'msgha_lease_remaining_serve_seconds', { group: 'mail' })).toBe(0);
    expect(value(s, 'msgha_lease_holders_seen', { group: 'mail' })).toBe(1);
  });

  it('records events: faults, failovers, restarts, violations, renewals, probes, function durations', async () => {
    const m = createMetrics({ node: 'mx1', processMetrics: false });
    m.setSnapshotProvider(() => snapshot('ONLINE', 'ONLINE'));
    await m.render();
    m.fault('mail', 'imap', 'probe-timeout');
    m.fault('mail', 'imap', 'made-up' as never);
    m.failover('mail', 'lease-lost');
    m.restart('mail', 'imap');
    m.concurrencyViolation('mail', 'vip');
    m.leaseRenew('mail', 0.5, false);
    m.probe('mail', 'imap', 'imaps', { outcome: 'timeout', phases: { connect: 0.002, tls: 0.01, total: 5 }, details: { certExpirySeconds: 3600 } });
    m.functionDuration('mail', 'imap', 'SunJESMsg', 'online', 1.5);
    m.functionDuration('mail', 'imap', 'SunJESMsg', 'bogus' as never, 1.5);
    const s = parseExposition(await m.render());
    expect(value(s, 'msgha_resource_faults_total', { resource: 'imap', reason: 'probe-timeout' })).toBe(1);
    expect(value(s, 'msgha_resource_faults_total', { resource: 'imap', reason: 'unknown' })).toBe(1);
    expect(value(s, 'msgha_group_failovers_total', { reason: 'lease-lost' })).toBe(1);
    expect(value(s, 'msgha_resource_restarts_total', { resource: 'imap' })).toBe(1);
    expect(value(s, 'msgha_concurrency_violations_total', { resource: 'vip' })).toBe(1);
    expect(value(s, 'msgha_lease_renew_failures_total', { group: 'mail' })).toBe(1);
    expect(value(s, 'msgha_lease_renew_duration_seconds_count', { group: 'mail' })).toBe(1);
    expect(value(s, 'msgha_probe_success', { service: 'imaps' })).toBe(0);
    expect(value(s, 'msgha_probes_total', { service: 'imaps', outcome: 'timeout' })).toBe(1);
    expect(value(s, 'msgha_probes_total', { service: 'imaps', outcome: 'ok' })).toBe(0);
    expect(value(s, 'msgha_probe_phase_seconds', { service: 'imaps', phase: 'tls' })).toBe(0.01);
    expect(value(s, 'msgha_probe_phase_seconds', { service: 'imaps', phase: 'login' })).toBe(0);
    expect(value(s, 'msgha_probe_duration_seconds_count', { service: 'imaps' })).toBe(1);
    expect(value(s, 'msgha_agent_function_duration_seconds_count', { function: 'online' })).toBe(1);
    expect(value(s, 'msgha_agent_function_last_duration_seconds', { resource: 'imap', function: 'online' })).toBe(1.5);
    expect(s.some((x) => x.labels.function === 'bogus')).toBe(false);
    // The probe's certificate expiry is exported; for a service the snapshot also lists, the snapshot wins.
    m.probe('mail', 'imap', 'pops', { outcome: 'ok', phases: { total: 0.1 }, details: { certExpirySeconds: 3600 } });
    const s2 = parseExposition(await m.render());
    const pops = value(s2, 'msgha_tls_cert_expiry_timestamp_seconds', { service: 'pops' })!;
    expect(Math.abs(pops - (Date.now() / 1000 + 3600))).toBeLessThan(5);
    const imaps = value(s2, 'msgha_tls_cert_expiry_timestamp_seconds', { service: 'imaps' })!;
    expect(Math.abs(imaps - (Date.now() / 1000 + 86400))).toBeLessThan(5);
  });

  it('calls the provider once per scrape, and a failing provider only counts an error', async () => {
    const m = createMetrics({ node: 'mx1', processMetrics: false });
    let calls = 0;
    m.setSnapshotProvider(() => { calls += 1; return snapshot('ONLINE', 'ONLINE'); });
    await m.render();
    await m.render();
    expect(calls).toBe(2);
    m.setSnapshotProvider(() => { throw new Error('boom'); });
    const s = parseExposition(await m.render());
    expect(value(s, 'msgha_snapshot_errors_total', {})).toBe(1);
    expect(s.some((x) => x.name === 'msgha_group_state')).toBe(false);
  });
});

describe('network: links, remote probes, unreachable from the network', () => {
  it('renders link up, remote probe success and phases per standby, and the holder\'s verdict, with HELP and TYPE', async () => {
    const m = createMetrics({ node: 'mx1', processMetrics: false });
    m.setSnapshotProvider(() => withNetwork(snapshot('ONLINE', 'ONLINE'), { unreachableFromNetwork: true }));
    const text = await m.render();
    expect(text).toContain('# HELP msgha_link_up 1 when the link resource (NIC) of the group is up on this node');
    expect(text).toContain('# TYPE msgha_link_up gauge\n');
    expect(text).toContain('# TYPE msgha_remote_probe_success gauge\n');
    expect(text).toContain('# TYPE msgha_remote_probe_phase_seconds gauge\n');
    expect(text).toMatch(/# HELP msgha_group_unreachable_from_network .*serving locally, unreachable from the network/);
    const s = parseExposition(text);
    expect(value(s, 'msgha_link_up', { node: 'mx1', group: 'mail', resource: 'nic', device: 'eth0' })).toBe(1);
    expect(value(s, 'msgha_remote_probe_success', { group: 'mail', service: 'imap', from: 'mx2' })).toBe(1);
    expect(value(s, 'msgha_remote_probe_success', { group: 'mail', service: 'imap', from: 'mx3' })).toBe(0);
    expect(value(s, 'msgha_remote_probe_phase_seconds', { from: 'mx2', phase: 'login' })).toBe(0.008);
    expect(value(s, 'msgha_remote_probe_phase_seconds', { from: 'mx3', phase: 'connect' })).toBe(5);
    // A phase not reached reads 0, so each probing node has all seven phases.
    expect(value(s, 'msgha_remote_probe_phase_seconds', { from: 'mx3', phase: 'total' })).toBe(0);
    for (const from of ['mx2', 'mx3']) {
      expect(s.filter((x) => x.name === 'msgha_remote_probe_phase_seconds' && x.labels.from === from).map((x) => x.labels.phase)).toEqual([...PROBE_PHASES]);
    }
    expect(value(s, 'msgha_group_unreachable_from_network', { group: 'mail' })).toBe(1);
  });

  it('no sample for a link not checked yet, nor for the verdict on a standby; a link down reads 0', async () => {
    const m = createMetrics({ node: 'mx2', processMetrics: false });
    let snap = withNetwork(snapshot('OFFLINE', 'OFFLINE', false), { links: [{ resource: 'nic', device: 'eth0', up: undefined }], remoteProbes: [], unreachableFromNetwork: undefined });
    m.setSnapshotProvider(() => snap);
    let s = parseExposition(await m.render());
    expect(s.some((x) => x.name === 'msgha_link_up')).toBe(false);
    expect(s.some((x) => x.name === 'msgha_group_unreachable_from_network')).toBe(false);
    expect(s.some((x) => x.name.startsWith('msgha_remote_probe'))).toBe(false);
    snap = withNetwork(snapshot('OFFLINE', 'OFFLINE', false), { links: [{ resource: 'nic', device: 'eth0', up: false }], unreachableFromNetwork: undefined });
    s = parseExposition(await m.render());
    expect(value(s, 'msgha_link_up', { device: 'eth0' })).toBe(0);
    expect(s.some((x) => x.name === 'msgha_group_unreachable_from_network')).toBe(false);
    // The group goes elsewhere without links (configuration reloaded): its series go away.
    snap = snapshot('OFFLINE', 'OFFLINE', false);
    s = parseExposition(await m.render());
    expect(s.some((x) => x.name === 'msgha_link_up' || x.name.startsWith('msgha_remote_probe'))).toBe(false);
  });

  it('labels stay bounded: a check name is narrowed to its service, two checks of one service fold into one series where a failure wins', async () => {
    const m = createMetrics({ node: 'mx1', processMetrics: false });
    m.setSnapshotProvider(() => withNetwork(snapshot('ONLINE', 'ONLINE'), {
      remoteProbes: [
        { service: 'imap:143', from: 'mx2', ok: false, phases: { connect: 0.003 } },
        { service: 'imap', from: 'mx2', ok: true, phases: { connect: 0.001, total: 0.01 } },
        { service: '10.0.0.5 refused probeuser', from: 'mx2', ok: true },
      ],
    }));
    const s = parseExposition(await m.render());
    const success = s.filter((x) => x.name === 'msgha_remote_probe_success');
    expect(success.map((x) => [x.labels.service, x.value])).toEqual([['imap', 0], ['other', 1]]);
    expect(s.some((x) => Object.values(x.labels).some((v) => v.includes('probeuser')))).toBe(false);
    expect(value(s, 'msgha_remote_probe_phase_seconds', { service: 'imap', phase: 'connect' })).toBe(0.003);
    expect(s.filter((x) => x.name === 'msgha_remote_probe_phase_seconds').length).toBe(2 * PROBE_PHASES.length);
  });

  it('the series set stays the same while links go up and down and remote probes fail and recover', async () => {
    const m = createMetrics({ node: 'mx1', processMetrics: false });
    let i = 0;
    m.setSnapshotProvider(() => withNetwork(snapshot('ONLINE', 'ONLINE'), {
      links: [{ resource: 'nic', device: 'eth0', up: i % 2 === 0 }],
      remoteProbes: [{ service: 'imap', from: 'mx2', ok: i % 3 !== 0, phases: i % 3 === 0 ? { connect: 5 } : { connect: 0.001, login: 0.01, total: 0.02 } }],
      unreachableFromNetwork: i % 4 === 1,
    }));
    const first = new Set(parseExposition(await m.render()).map((s) => s.key));
    for (i = 1; i < 12; i++) {
      const keys = parseExposition(await m.render()).map((s) => s.key);
      expect(keys.filter((k) => !first.has(k))).toEqual([]);
      expect(keys.length).toBe(first.size);
    }
  });
});

describe('cardinality and secrets', () => {
  it('the series set stays the same while a resource and its group cycle through every state', async () => {
    const m = createMetrics({ node: 'mx1', processMetrics: false });
    let g: GroupState = 'OFFLINE';
    let r: ResourceMetricState = 'OFFLINE';
    let holder = false;
    m.setSnapshotProvider(() => snapshot(g, r, holder));
    // Warm up: one probe, one function call, one renewal of each kind.
    m.probe('mail', 'imap', 'imap', { outcome: 'ok', phases: { connect: 0.001, greeting: 0.001, login: 0.01, logout: 0.001, total: 0.02 } });
    m.functionDuration('mail', 'imap', 'SunJESMsg', 'monitor', 0.01);
    m.leaseRenew('mail', 0.01, true);
    const first = new Set(parseExposition(await m.render()).map((s) => s.key));
    for (let cycle = 0; cycle < 3; cycle++) {
      for (let i = 0; i < 6; i++) {
        g = GROUP_STATES[i]; r = RESOURCE_STATES[(i + cycle) % 6]; holder = i % 2 === 0;
        m.probe('mail', 'imap', 'imap', { outcome: i % 3 === 0 ? 'fail' : 'ok', phases: { connect: 0.001, total: 0.5 } });
        m.fault('mail', 'imap', 'monitor-offline');
        m.failover('mail', 'resource-fault');
        m.restart('mail', 'imap');
        m.functionDuration('mail', 'imap', 'SunJESMsg', 'monitor', 0.01);
        m.leaseRenew('mail', 0.01, i % 2 === 0);
        const keys = new Set(parseExposition(await m.render()).map((s) => s.key));
        expect([...keys].filter((k) => !first.has(k))).toEqual([]);
        expect(keys.size).toBe(first.size);
      }
    }
  });

  it('no secret, user name or probe reason/detail text ever reaches /metrics', async () => {
    const m = createMetrics({ node: 'mx1' });
    m.setSnapshotProvider(() => snapshot('ONLINE', 'ONLINE'));
    m.probe('mail', 'imap', 'imap', {
      outcome: 'fail', phases: { connect: 0.001, login: 0.2, total: 0.3 }, failedPhase: 'login',
      reason: 'login as probeuser@example.com with password hunter2 refused', configurationError: true,
      details: { certSubject: 'CN=secret-subject', version: 'dovecot-secret-version', messages: 42 },
    });
    const text = await m.render();
    for (const bad of ['probeuser', 'hunter2', 'password', 'secret-subject', 'dovecot-secret-version', 'refused']) {
      expect(text.includes(bad), bad).toBe(false);
    }
  });
});

describe('families', () => {
  it('refuse bad names, labels, buckets and duplicate definitions at construction', async () => {
    const { CounterFamily, GaugeFamily, HistogramFamily } = await import('../../../plugin/metrics/family');
    expect(() => new GaugeFamily('bad-name', 'h', [])).toThrow(/not a valid/);
    expect(() => new GaugeFamily('msgha_x_total', 'h', [])).toThrow(/_total/);
    expect(() => new CounterFamily('msgha_x', 'h', [])).toThrow(/_total/);
    expect(() => new GaugeFamily('msgha_x', 'h', ['le'])).toThrow(/not allowed/);
    expect(() => new GaugeFamily('msgha_x', 'h', ['a', 'a'])).toThrow(/duplicate/);
    expect(() => new HistogramFamily('msgha_h', 'h', [], [1, 1])).toThrow(/increasing/);
    expect(() => new GaugeFamily('msgha_x', '', [])).toThrow(/help/);
  });

  it('escape label values and render cumulative histogram buckets', async () => {
    const { GaugeFamily, HistogramFamily } = await import('../../../plugin/metrics/family');
    const g = new GaugeFamily('msgha_g', 'help', ['group']);
    g.setConstantLabel('node', 'n"1');
    g.set({ group: 'a\\b\n"c' }, 1.5);
    expect(g.render()).toBe('# HELP msgha_g help\n# TYPE msgha_g gauge\nmsgha_g{node="n\\"1",group="a\\\\b\\n\\"c"} 1.5\n');
    const h = new HistogramFamily('msgha_h', 'help', ['group'], [0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe({ group: 'g' }, v);
    expect(h.render()).toContain('msgha_h_bucket{group="g",le="0.1"} 2\nmsgha_h_bucket{group="g",le="1"} 3\nmsgha_h_bucket{group="g",le="+Inf"} 4\nmsgha_h_sum{group="g"} 3.65\nmsgha_h_count{group="g"} 4\n');
  });

  it('drop series of a resource that leaves the configuration, and bring them back when it returns', async () => {
    const m = createMetrics({ node: 'mx1', processMetrics: false });
    let snap = snapshot('ONLINE', 'ONLINE');
    m.setSnapshotProvider(() => snap);
    await m.render();
    snap = { ...snap, groups: [{ ...snap.groups[0], resources: snap.groups[0].resources.filter((r) => r.resource !== 'imap') }] };
    expect(value(parseExposition(await m.render()), 'msgha_resource_state_code', { resource: 'imap' })).toBeUndefined();
    snap = snapshot('ONLINE', 'FAULTED');
    expect(value(parseExposition(await m.render()), 'msgha_resource_state_code', { resource: 'imap' })).toBe(RESOURCE_STATES.indexOf('FAULTED'));
  });
});
