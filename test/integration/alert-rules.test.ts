/**
 * The alert rules under the real promtool (Debian's /usr/bin/promtool): `promtool test rules` runs
 * the scenarios of test/fixtures/alerts/*.test.yml against dashboards/alerts.yml — every alert
 * fires where it should, with its exact labels and annotations, and stays silent through the
 * blips its `for:` is there to ignore, including the case where every exporter is down. Then: every
 * runbook_url points at a section that exists in docs/alerts.md; every `msgha` command in a
 * summary is a verb the CLI has, with the arguments it takes; the provisioning example passes
 * `promtool check config` with the rules loaded.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ALERT_RULES, JOB, RUNBOOK, runbookUrl } from '../../plugin/metrics/dashboards/alerts';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'alerts');
const PROMTOOL = '/usr/bin/promtool';
const CLI = path.join(ROOT, 'dist', 'plugin', 'cli', 'main.js');
const TMP = `/tmp/msgha-alert-rules-${process.pid}`;

const fixtures = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.test.yml')).sort();

function run(file: string, args: string[], cwd = ROOT): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr });
    });
  });
}

/** Per alert name: how many evaluations expect it firing, and how many expect it silent. */
function coverage(): Map<string, { firing: number; silent: number }> {
  const seen = new Map<string, { firing: number; silent: number }>();
  for (const f of fixtures) {
    const lines = fs.readFileSync(path.join(FIXTURES, f), 'utf8').split('\n');
    let alert = '';
    lines.forEach((line, i) => {
      const a = /^\s*alertname: (\w+)$/.exec(line);
      if (a) alert = a[1]!;
      if (!/^\s*exp_alerts:/.test(line) || !alert) return;
      const c = seen.get(alert) ?? { firing: 0, silent: 0 };
      if (/exp_alerts: \[\]$/.test(line)) c.silent += 1;
      else if (/^\s*- exp_labels:/.test(lines[i + 1] ?? '')) c.firing += 1;
      seen.set(alert, c);
    });
  }
  return seen;
}

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

/** Label values as an alert for mail.imap on mx1 would carry them. */
const SAMPLE: Record<string, string> = { group: 'mail', resource: 'imap', node: 'mx1', service: 'imap', reason: 'switch', kind: 'lease', type: 'SunJESMsg', instance: 'mx1:9464' };

/** Every `msgha …` command in backquotes, with the labels filled in, as argv. */
function msghaCommands(text: string): string[][] {
  const filled = text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => SAMPLE[l] ?? `<${l}>`);
  return [...filled.matchAll(/`(msgha [^`]*)`/g)].map((m) => m[1]!.trim().split(/\s+/).slice(1));
}

afterAll(() => {
  fs.rmSync(TMP, { recursive: true, force: true });
});

describe('alert rules under promtool', () => {
  it('promtool test rules passes every scenario', async () => {
    expect(fs.existsSync(PROMTOOL), 'install the Debian package "prometheus" (test/install-debian-deps.sh test)').toBe(true);
    expect(fixtures.length).toBeGreaterThan(0);
    const r = await run(PROMTOOL, ['test', 'rules', ...fixtures], FIXTURES);
    expect(r.code, r.out).toBe(0);
    for (const f of fixtures) expect(r.out).toContain(`Unit Testing:  ${f}`);
  });

  it('every alert is tested firing, and every alert with a hold is also tested silent through a blip', () => {
    const seen = coverage();
    const missing = ALERT_RULES.filter((r) => !(seen.get(r.alert)?.firing)).map((r) => r.alert);
    expect(missing, 'alerts never expected firing in test/fixtures/alerts').toEqual([]);
    const unheld = ALERT_RULES.filter((r) => r.for && !(seen.get(r.alert)?.silent)).map((r) => r.alert);
    expect(unheld, 'alerts with for: never expected silent').toEqual([]);
    const unknown = [...seen.keys()].filter((a) => !ALERT_RULES.some((r) => r.alert === a));
    expect(unknown).toEqual([]);
    // The all-exporters-down scenario: the exporter alert fires while the group alert has no series.
    const down = fs.readFileSync(path.join(FIXTURES, 'exporters.test.yml'), 'utf8');
    expect(down).toMatch(/every coordinator down/);
  });

  it('every rule waits with for: or says why not; the exporter rules select the documented job', () => {
    for (const r of ALERT_RULES) expect(Boolean(r.for) !== Boolean(r.noFor), r.alert).toBe(true);
    const jobRules = ALERT_RULES.filter((r) => r.expr.includes(`up{job="${JOB}"}`)).map((r) => r.alert);
    expect(jobRules.sort()).toEqual(['MsghaExporterDown', 'MsghaExportersAbsent']);
    expect(ALERT_RULES.find((r) => r.alert === 'MsghaExportersAbsent')!.expr).toMatch(/^absent\(/);
  });

  it('every runbook_url points at a section of docs/alerts.md', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'alerts.md'), 'utf8');
    const anchors = new Set([...doc.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
    const yml = fs.readFileSync(path.join(ROOT, 'dashboards', 'alerts.yml'), 'utf8');
    for (const r of ALERT_RULES) {
      const url = runbookUrl(r.alert);
      expect(url.startsWith(`${RUNBOOK}#`), url).toBe(true);
      expect(anchors.has(url.split('#')[1]!), `${r.alert}: no heading for ${url} in docs/alerts.md`).toBe(true);
      expect(yml).toContain(`runbook_url: ${JSON.stringify(url)}`);
    }
    // Every link inside the page resolves too.
    for (const m of doc.matchAll(/\]\(#([^)]+)\)/g)) expect(anchors.has(m[1]!), `docs/alerts.md links #${m[1]}`).toBe(true);
    // The runbook lives in this repository, if package.json names one.
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { repository?: string | { url?: string } };
    const repo = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    if (repo) expect(RUNBOOK.startsWith(repo.replace(/^git\+/, '').replace(/\.git$/, '')), `${RUNBOOK} vs ${repo}`).toBe(true);
  });

  it('every msgha command of a summary is a verb of the CLI, with the arguments it takes', async () => {
    const help = await run(process.execPath, [CLI, '--help']);
    const verbs = new Set([...help.out.matchAll(/^\s+([a-z][a-z-]+)\b/gm)].map((m) => m[1]!));
    expect(verbs.has('run'), help.out).toBe(true);
    for (const r of ALERT_RULES) {
      const cmds = msghaCommands(r.summary);
      for (const argv of cmds) {
        expect(verbs.has(argv[0]!), `${r.alert}: msgha ${argv.join(' ')}`).toBe(true);
        const positional = argv.slice(1).filter((a) => !a.startsWith('--'));
        if (argv[0] === 'run') {
          // run FILE <group>.<resource> <online|offline|monitor|clean>
          expect(positional.length, `${r.alert}: msgha ${argv.join(' ')}`).toBe(3);
          expect(positional[0]).toMatch(/^\//);
          expect(positional[1]).toBe('mail.imap');
          expect(['online', 'offline', 'monitor', 'clean']).toContain(positional[2]);
        }
        // No placeholder a reader must fill in: labels are filled by Prometheus.
        for (const a of positional) expect(a, `${r.alert}: msgha ${argv.join(' ')}`).not.toMatch(/^[A-Z]+$|</);
      }
      expect(r.summary, r.alert).toMatch(/`[^`]+`/);
    }
  });

  it('the provisioning example: prometheus.yml passes promtool check config with the rules; Grafana files name what the dashboards use', async () => {
    fs.mkdirSync(TMP, { recursive: true });
    const prov = path.join(ROOT, 'dashboards', 'provisioning');
    const token = path.join(TMP, 'msgha.token');
    fs.writeFileSync(token, 'token\n', { mode: 0o600 });
    const config = fs.readFileSync(path.join(prov, 'prometheus.yml'), 'utf8');
    expect(config).toMatch(new RegExp(`job_name: ${JOB}\\n`));
    fs.writeFileSync(path.join(TMP, 'prometheus.yml'), config.replace('/etc/prometheus/msgha.token', token));
    fs.copyFileSync(path.join(ROOT, 'dashboards', 'alerts.yml'), path.join(TMP, 'msgha-alerts.yml'));
    const r = await run(PROMTOOL, ['check', 'config', path.join(TMP, 'prometheus.yml')]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`SUCCESS: ${ALERT_RULES.length} rules found`);

    const ds = fs.readFileSync(path.join(prov, 'grafana', 'datasources', 'msgha-prometheus.yml'), 'utf8');
    expect(ds).toMatch(/^apiVersion: 1$/m);
    expect(ds).toMatch(/^\s+type: prometheus$/m);
    expect(ds).toMatch(/^\s+isDefault: true$/m);
    const provider = fs.readFileSync(path.join(prov, 'grafana', 'dashboards', 'msgha.yml'), 'utf8');
    expect(provider).toMatch(/^apiVersion: 1$/m);
    expect(provider).toMatch(/^\s+type: file$/m);
    const dir = /^\s+path: (\S+)$/m.exec(provider)?.[1];
    // docs/alerts.md copies the dashboards to the provider's path.
    expect(fs.readFileSync(path.join(ROOT, 'docs', 'alerts.md'), 'utf8')).toContain(`cp dashboards/*.json ${dir}/`);
  });
});
