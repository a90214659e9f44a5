import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { allDashboards, generateAll } from '../../../plugin/metrics/dashboards/generate';
import { dashboardQueries, DS_VAR } from '../../../plugin/metrics/dashboards/builder';
import { ALERT_RULES } from '../../../plugin/metrics/dashboards/alerts';
import { createMetrics } from '../../../plugin/metrics/metrics';

const DIR = path.resolve(__dirname, '..', '..', '..', 'dashboards');

describe('dashboards and alert rules', () => {
  it('the committed files equal the generator output (regenerate: npm run build && node dist/plugin/metrics/dashboards/generate.js)', () => {
    for (const [name, text] of Object.entries(generateAll())) {
      expect(fs.readFileSync(path.join(DIR, name), 'utf8'), name).toBe(text);
    }
  });

  it('every dashboard has the Prometheus data source variable and node/group variables; every panel uses it', () => {
    for (const d of Object.values(allDashboards())) {
      const names = d.templating.list.map((v) => v.name);
      expect(names.slice(0, 3)).toEqual([DS_VAR, 'node', 'group']);
      for (const p of d.panels) {
        expect(p.datasource.uid).toBe('${DS_PROMETHEUS}');
        expect(p.targets.length).toBeGreaterThan(0);
        expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      }
      expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    }
    expect(allDashboards()['cluster-overview.json'].annotations.list.some((a) => a.name === 'Failovers')).toBe(true);
  });

  it('the cluster overview has the network panels: links, remote probe success and phases, unreachable from the network', () => {
    const d = allDashboards()['cluster-overview.json'];
    const exprs = dashboardQueries(d).filter((q) => q.where.includes(' / Network: ')).map((q) => q.expr).join('\n');
    for (const name of ['msgha_link_up', 'msgha_remote_probe_success', 'msgha_remote_probe_phase_seconds', 'msgha_group_unreachable_from_network']) {
      expect(exprs).toContain(name);
    }
  });

  it('the network alerts: names, severities and holds as documented', () => {
    const rule = (n: string) => ALERT_RULES.find((r) => r.alert === n)!;
    expect(rule('MsghaUnreachableFromNetwork')).toMatchObject({ severity: 'critical', for: '15s', expr: 'msgha_group_unreachable_from_network == 1' });
    expect(rule('MsghaUnreachableFromNetwork').summary).toContain('serving locally, unreachable from the network');
    expect(rule('MsghaLinkDown')).toMatchObject({ severity: 'warning', for: '30s', expr: 'msgha_link_up == 0' });
    expect(rule('MsghaRemoteProbeFailing')).toMatchObject({ severity: 'warning', for: '2m' });
    expect(rule('MsghaRemoteProbeFailing').expr).toMatch(/msgha_remote_probe_success[\s\S]*msgha_group_state\{state="ONLINE"\}/);
  });

  it('annotations have Grafana\'s current shape: a Prometheus query in target, never the legacy top-level expr/step', () => {
    for (const [name, text] of Object.entries(generateAll())) {
      if (!name.endsWith('.json')) continue;
      const d = JSON.parse(text) as { annotations: { list: Array<Record<string, unknown>> } };
      for (const a of d.annotations.list) {
        expect(Object.keys(a), `${name} / ${String(a.name)}`).not.toContain('expr');
        expect(Object.keys(a), `${name} / ${String(a.name)}`).not.toContain('step');
        if (a.builtIn) continue;
        const t = a.target as { refId?: string; expr?: string; interval?: string; datasource?: { uid?: string } };
        expect(t.refId).toBe('Anno');
        expect(t.expr).toMatch(/msgha_/);
        expect(t.datasource?.uid).toBe('${DS_PROMETHEUS}');
      }
    }
  });

  it('every query and alert names only metrics that exist', async () => {
    const m = createMetrics({ node: 'x' });
    const known = new Set(m.catalog().map((x) => x.name));
    const exprs = [
      ...Object.values(allDashboards()).flatMap((d) => dashboardQueries(d).map((q) => q.expr)),
      ...ALERT_RULES.map((r) => r.expr),
    ];
    for (const expr of exprs) {
      for (const name of expr.match(/msgha_[a-z0-9_]+/g) ?? []) {
        expect(known.has(name.replace(/_(bucket|count|sum)$/, '')) || known.has(name), `${name} in ${expr}`).toBe(true);
      }
    }
  });

  it('alert rules: the required ones are there, each summary says what to do, promtool check rules passes', () => {
    const names = ALERT_RULES.map((r) => r.alert);
    for (const n of ['MsghaExporterDown', 'MsghaExportersAbsent', 'MsghaGroupOfflineEverywhere', 'MsghaGroupFaulted', 'MsghaFailover', 'MsghaResourceFaulted', 'MsghaLeaseRenewSlow',
      'MsghaLeaseRenewFailing', 'MsghaLeaseServeTimeLow', 'MsghaTwoHolders', 'MsghaConcurrencyViolation', 'MsghaProbeFailing',
      'MsghaProbeSlow', 'MsghaCertificateExpiring', 'MsghaUnreachableFromNetwork', 'MsghaLinkDown', 'MsghaRemoteProbeFailing']) expect(names).toContain(n);
    for (const r of ALERT_RULES) {
      expect(r.summary, r.alert).toMatch(/: .*(check|run|fix|renew|stop|find|try|read)/i);
      // No stand-in for a value the reader must supply: labels are filled by Prometheus.
      expect(r.summary, r.alert).not.toMatch(/\b(FILE|NODE|GROUP)\b/);
    }
    const out = execFileSync('/usr/bin/promtool', ['check', 'rules', path.join(DIR, 'alerts.yml')], { encoding: 'utf8' });
    expect(out).toContain(`SUCCESS: ${ALERT_RULES.length} rules found`);
  });
});
