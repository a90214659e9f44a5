/**
 * Test helper: a real Prometheus (Debian's /usr/bin/prometheus) on loopback that scrapes one
 * target every second and evaluates the alert rules every second, plus its HTTP API and the
 * substitution of Grafana's variables, so a test can evaluate every panel query and alert.
 * Each instance lives in its own temp dir; `stop()` ends it (SIGTERM, then SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { ALERT_RULES } from '../../plugin/metrics/dashboards/alerts';
import { dashboardQueries, type Dashboard } from '../../plugin/metrics/dashboards/builder';
import { waitFor } from './pm2';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const PROMTOOL_BIN = '/usr/bin/promtool';

export interface ApiAnswer { status: string; error?: string; data: { resultType?: string; result?: unknown[] } | string[] }

export interface Prometheus {
  url: string;
  api(pathAndQuery: string): Promise<ApiAnswer>;
  /** An instant query. */
  query(expr: string): Promise<ApiAnswer>;
  /** Polls until `expr` returns at least one series (else throws, naming it). */
  waitForSeries(expr: string, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function resultOf(a: ApiAnswer): Array<{ metric: Record<string, string>; value: [number, string] }> {
  return ((a.data as { result?: unknown[] }).result ?? []) as Array<{ metric: Record<string, string>; value: [number, string] }>;
}

/** `rules` is a Prometheus rule file; `target` HOST:PORT of a /metrics endpoint. */
export async function startPrometheus(dir: string, port: number, target: string, rules: string): Promise<Prometheus> {
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(config, [
    'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
    'rule_files:', `  - ${JSON.stringify(rules)}`,
    'scrape_configs:', '  - job_name: msgha', '    static_configs:', `      - targets: [${JSON.stringify(target)}]`, '',
  ].join('\n'));
  const child: ChildProcess = spawn(PROMETHEUS_BIN, [
    `--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn', '--storage.tsdb.retention.time=1h',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const url = `http://127.0.0.1:${port}`;
  const api = async (pathAndQuery: string): Promise<ApiAnswer> => (await (await fetch(`${url}${pathAndQuery}`)).json()) as ApiAnswer;
  const query = (expr: string): Promise<ApiAnswer> => api(`/api/v1/query?query=${encodeURIComponent(expr)}`);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${stderr}`);
    if (await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)) break;
    if (i >= 100) { await stop(); throw new Error(`prometheus not ready after 20 s: ${stderr}`); }
    await sleep(200);
  }
  return {
    url, api, query, stop,
    async waitForSeries(expr, timeoutMs) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const a = await query(expr);
        if (a.status === 'success' && resultOf(a).length > 0) return;
        if (Date.now() > end) throw new Error(`no data for ${expr} within ${timeoutMs} ms`);
        await sleep(500);
      }
    },
  };
}

/** Grafana's variables and macros, as a dashboard with "All" selected would send them. */
export function substituteGrafana(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__range|\$__interval/g, '5m')
    .replace(/\$(node|group|resource)\b/g, '.*');
}

/** Runs one dashboard query: a `label_values(...)` variable or a PromQL expression; true when it has data. */
export async function queryHasData(prom: Prometheus, kind: string, rawExpr: string): Promise<{ ok: boolean; data: boolean; error?: string }> {
  const expr = substituteGrafana(rawExpr);
  if (kind === 'variable') {
    const m = /^label_values\((.+),\s*(\w+)\)$/.exec(expr);
    if (!m) return { ok: false, data: false, error: `not label_values(): ${expr}` };
    const a = await prom.api(`/api/v1/label/${m[2]}/values?match[]=${encodeURIComponent(m[1]!)}`);
    return { ok: a.status === 'success', data: a.status === 'success' && (a.data as string[]).length > 0, error: a.error };
  }
  const a = await prom.query(expr);
  return { ok: a.status === 'success', data: a.status === 'success' && resultOf(a).length > 0, error: a.error };
}

/** The scrape targets' health, the loaded alert rules' names, and those not loaded healthy. */
export async function targetAndRulesHealthy(prom: Prometheus): Promise<{ targets: string[][]; rules: string[]; unhealthy: string[][] }> {
  const targets = await prom.api('/api/v1/targets');
  const active = (targets.data as unknown as { activeTargets: Array<{ health: string; lastError: string }> }).activeTargets;
  const rules = await prom.api('/api/v1/rules');
  const loaded = (rules.data as unknown as { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> })
    .groups.flatMap((g) => g.rules);
  return {
    targets: active.map((t) => [t.health, t.lastError]),
    rules: loaded.map((r) => r.name).sort(),
    unhealthy: loaded.filter((r) => r.health !== 'ok' || r.lastError).map((r) => [r.name, r.health, r.lastError ?? '']),
  };
}

/**
 * Evaluates every query of a dashboard: `failed` lists those Prometheus rejected, `empty` those
 * that returned no data (except expressions matching `mayBeEmpty`).
 */
export async function dashboardQueryGaps(prom: Prometheus, d: Dashboard, mayBeEmpty?: RegExp): Promise<{ failed: string[]; empty: string[] }> {
  const failed: string[] = [];
  const empty: string[] = [];
  for (const q of dashboardQueries(d)) {
    const r = await queryHasData(prom, q.kind, q.expr);
    if (!r.ok) failed.push(`${q.where}: ${q.expr}: ${r.error}`);
    else if (!r.data && !mayBeEmpty?.test(q.expr)) empty.push(`${q.where}: ${q.expr}`);
  }
  return { failed, empty };
}

/** Each alert's state (pending, firing) once every alert of `want` is active; throws, naming what was active, after `timeoutMs`. */
export async function activeAlerts(prom: Prometheus, want: string[], timeoutMs: number): Promise<Record<string, string>> {
  let active: Record<string, string> = {};
  await waitFor(`${want.join(', ')} active`, async () => {
    const alerts = await prom.api('/api/v1/alerts');
    active = Object.fromEntries((alerts.data as unknown as { alerts: Array<{ labels: { alertname: string }; state: string }> }).alerts
      .map((x) => [x.labels.alertname, x.state]));
    return want.every((w) => active[w]) ? true : undefined;
  }, { timeoutMs, intervalMs: 500 }).catch((err: Error) => { throw new Error(`${err.message}; active: ${JSON.stringify(active)}`); });
  return active;
}

/**
 * Each wanted alert firing — or pending through its `for:` (the hold itself is tested by
 * promtool, alert-rules.test.ts); the exporter scraped under job "msgha", so neither exporter
 * alert is even pending; never two holders.
 */
export function expectAlertStates(active: Record<string, string>, want: string[]): void {
  for (const w of want) {
    const rule = ALERT_RULES.find((r) => r.alert === w)!;
    expect(rule.for ? ['pending', 'firing'] : ['firing'], `${w}: ${active[w]}`).toContain(active[w]);
  }
  const firing = Object.keys(active).filter((a) => active[a] === 'firing');
  expect(active.MsghaExporterDown).toBeUndefined();
  expect(active.MsghaExportersAbsent).toBeUndefined();
  expect(firing).not.toContain('MsghaTwoHolders');
}
