import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCluster, loadClusterOrThrow } from '../../../plugin/config/load';
import { ClusterConfigError, formatProblem } from '../../../plugin/model/problems';
import { onlineOrder } from '../../../plugin/config/resolve';
import { baseDefinition } from './base-definition';
import { testKeyFile } from '../../helpers/test-key';

const ROOT = path.resolve(__dirname, '../../..');
const DIST_INDEX = path.join(ROOT, 'dist/plugin/index.js');
const CLI = path.join(ROOT, 'dist/plugin/cli/main.js');
let dir: string;

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** An ecosystem file as users write it, but requiring the built package by absolute path. */
function ecosystem(name: string, def: unknown): string {
  return write(name, `const { defineCluster } = require(${JSON.stringify(DIST_INDEX)});\nmodule.exports = defineCluster(${JSON.stringify(def, null, 1)});\n`);
}

beforeAll(() => {
  // The .js cluster files require the compiled package, as PM2 would.
  if (!fs.existsSync(DIST_INDEX) || !fs.existsSync(CLI)) {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgha-load-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('loadCluster', () => {
  it('loads a .json file and resolves defaults, systemList and online order', async () => {
    const file = write('c.json', JSON.stringify(baseDefinition()));
    const { cluster, problems } = await loadCluster(file);
    expect(problems).toEqual([]);
    expect(cluster!.file).toBe(file);
    expect(cluster!.groups.map((g) => g.name)).toEqual(['directory', 'mail', 'ns']);
    const mail = cluster!.groups[1]!;
    expect(mail.resources.map((r) => r.name)).toEqual(['vip', 'disk', 'core', 'imap', 'http', 'mmp', 'dovecot', 'link']);
    expect(mail.resources[3]).toMatchObject({ id: 'mail.imap', group: 'mail', type: 'SunJESMsg', requires: ['core'] });
    expect(mail.resources[3]!.attrs).toMatchObject({ MonitorInterval: 10, ServerType: 'MSG', Critical: true, SecondLevelMonitor: 2 });
    const ns = cluster!.groups[2]!;
    expect(ns).toMatchObject({ systemList: ['mx1', 'mx2'], autoStart: true, frozen: false, dependsOn: [] });
    expect(ns.resources[0]!.attrs.Ports).toEqual({ smtp: 25, pop: 110, imap: 143, http: 80 });
    expect(cluster!.settings.lease).toEqual({ profile: 'nfs' });
  });

  it('orders resources after those they require, else in declaration order', () => {
    expect(onlineOrder({ http: { requires: ['imap'] }, imap: { requires: ['core'] }, core: {}, vip: {} })).toEqual(['core', 'imap', 'http', 'vip']);
    expect(onlineOrder({ a: {}, b: { requires: ['a'] }, c: {} })).toEqual(['a', 'b', 'c']);
  });

  it('loads a .js ecosystem file that calls defineCluster, without throwing even when invalid', async () => {
    const good = ecosystem('good.config.js', baseDefinition());
    const r = await loadCluster(good);
    expect(r.problems.map(formatProblem)).toEqual([]);
    expect(r.cluster!.groups).toHaveLength(3);

    const def = baseDefinition();
    def.groups.mail!.resources.core!.MsgServices = { core: 1, imap: 2 };
    delete def.groups.directory!.resources.admin!.AdminPasswd;
    const bad = ecosystem('bad.config.js', def);
    const b = await loadCluster(bad);
    expect(b.cluster).toBeUndefined();
    expect(b.problems.filter((p) => p.severity === 'error').length).toBeGreaterThanOrEqual(2);
    expect(b.problems.every((p) => p.file === bad)).toBe(true);
  });

  it('loads a .cjs file exporting a plain { cluster, groups }', async () => {
    const file = write('plain.cjs', `module.exports = ${JSON.stringify(baseDefinition())};`);
    expect((await loadCluster(file)).cluster).toBeDefined();
  });

  it('resolves require("pm2-messaging-ha") as PM2 will: outside any node_modules tree it fails, naming the line that works', async () => {
    const file = write('outside.config.js', `const { defineCluster } = require('pm2-messaging-ha');\nmodule.exports = defineCluster(${JSON.stringify(baseDefinition())});\n`);
    const { cluster, problems } = await loadCluster(file);
    expect(cluster).toBeUndefined();
    expect(problems.map(formatProblem).join('\n')).toContain("Cannot find module 'pm2-messaging-ha'");
    expect(problems.map((p) => `${p.message} ${p.hint ?? ''}`).join('\n')).toContain('require(');
  });

  it('loads the file afresh every time', async () => {
    const def = baseDefinition();
    const file = ecosystem('fresh.config.js', def);
    expect((await loadCluster(file)).cluster!.settings.name).toBe('mail');
    def.cluster.name = 'renamed';
    ecosystem('fresh.config.js', def);
    expect((await loadCluster(file)).cluster!.settings.name).toBe('renamed');
  });

  it.each([
    ['a missing file', () => path.join(dir, 'nope.json'), /no such file/],
    ['a JSON syntax error', () => write('s.json', '{ "cluster": '), /cannot parse JSON/],
    ['a JS syntax error', () => write('s.config.js', 'module.exports = {'), /cannot load/],
    ['a file that throws', () => write('t.config.js', 'throw new Error("boom")'), /cannot load: boom/],
    ['a non-object export', () => write('n.config.js', 'module.exports = 42;'), /does not export a cluster definition/],
    ['an ecosystem without defineCluster', () => write('e.config.js', 'module.exports = { apps: [] };'), /without a cluster definition/],
    ['an unsupported extension', () => write('c.yaml', 'cluster: {}'), /unsupported file type/],
    ['a directory', () => dir, /not a regular file/],
    ['a JSON array', () => write('a.json', '[]'), /must define an object/],
  ])('turns %s into one problem naming the file', async (_name, make, message) => {
    const file = make();
    const { cluster, problems } = await loadCluster(file);
    expect(cluster).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ severity: 'error', file, where: 'file' });
    expect(problems[0]!.message).toMatch(message);
  });

  it('loadClusterOrThrow throws ClusterConfigError with every problem', async () => {
    const def = baseDefinition();
    delete (def.cluster as Partial<typeof def.cluster>).name;
    def.groups.mail!.resources.vip!.Address = 'x';
    const file = write('bad.json', JSON.stringify(def));
    const err = await loadClusterOrThrow(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterConfigError);
    expect((err as ClusterConfigError).problems.filter((p) => p.severity === 'error')).toHaveLength(2);
    expect((err as Error).message).toMatch(/cluster: name/);
    expect((err as Error).message).toMatch(/mail\/vip: Address/);
  });
});

describe('defineCluster', () => {
  it('throws ClusterConfigError with every error when PM2 (not loadCluster) loads the file', () => {
    const def = baseDefinition();
    def.groups.mail!.resources.vip!.Address = 'x';
    def.groups.mail!.resources.dovecot!.type = 'Nope';
    const file = ecosystem('pm2.config.js', def);
    const req = createRequire(file);
    let err: unknown;
    try { req(file); } catch (e) { err = e; }
    expect((err as Error).name).toBe('ClusterConfigError');
    const problems = (err as ClusterConfigError).problems.filter((p) => p.severity === 'error');
    expect(problems.map((p) => `${p.where}:${p.attribute}`)).toEqual(['mail/vip:Address', 'mail/dovecot:type']);
    expect(problems[0]!.file).toBe(file);
    // …and as PM2 sees it: a process that fails with every message.
    const child = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], { encoding: 'utf8' });
    expect(child.status).not.toBe(0);
    expect(child.stderr).toMatch(/mail\/vip: Address/);
    expect(child.stderr).toMatch(/mail\/dovecot: type/);
  });

  it('returns the coordinator app for PM2', () => {
    const def = baseDefinition();
    def.groups.mail!.resources.imap!.OfflineTimeout = 200;
    def.groups.mail!.resources.imap!.CleanTimeout = 30;
    const file = ecosystem('app.config.js', def);
    const out = execFileSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify(require(${JSON.stringify(file)})))`],
      { encoding: 'utf8', env: { ...process.env, MSGHA_NODE: 'mx2' } });
    const { apps } = JSON.parse(out) as { apps: Array<Record<string, unknown>> };
    expect(apps).toHaveLength(1);
    expect(apps[0]).toEqual({
      name: 'msgha', script: path.join(ROOT, 'dist/plugin/main.js'), pmx: false, treekill: false,
      kill_timeout: (200 + 30) * 1000 + 10_000, autorestart: true, env: { MSGHA_CLUSTER_FILE: file, MSGHA_NODE: 'mx2' },
    });
    expect(Object.keys(JSON.parse(out) as object)).toEqual(['apps']);
  });
});

describe('the examples in ecosystem/', () => {
  // They name the default key file, /etc/msgha/cluster.key: a test key stands in for it.
  const env = { ...process.env, MSGHA_KEY_FILE: testKeyFile() };
  beforeAll(() => { process.env.MSGHA_KEY_FILE = env.MSGHA_KEY_FILE; });
  afterAll(() => { delete process.env.MSGHA_KEY_FILE; });
  const files = fs.readdirSync(path.join(ROOT, 'ecosystem')).filter((f) => f.endsWith('.config.js') && f !== 'demo.config.js');

  it('include the seed topologies, the Netscape profile and the open-source suite', () => {
    for (const f of ['simple', 'simple-two-groups', 'moderate', 'complex', 'netscape', 'opensource']) expect(files).toContain(`${f}.config.js`);
  });

  it.each(files)('%s validates with 0 errors and no warning', async (f) => {
    const { cluster, problems } = await loadCluster(path.join(ROOT, 'ecosystem', f));
    expect(problems.map(formatProblem)).toEqual([]);
    expect(cluster).toBeDefined();
  });

  it('passes the compiled `msgha validate`', () => {
    for (const f of files) {
      const out = execFileSync(process.execPath, [CLI, 'validate', `ecosystem/${f}`], { cwd: ROOT, encoding: 'utf8', env });
      expect(out).toMatch(new RegExp(`^ecosystem/${f}: valid — \\d+ groups?, \\d+ resources`, 'm'));
    }
  });
});

describe('msgha validate (compiled CLI)', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'validate', ...args], { encoding: 'utf8', cwd: dir });

  it('prints every problem and a summary, exit 1 on errors', () => {
    const def = baseDefinition();
    def.groups.mail!.resources.vip!.Address = 'x';
    def.groups.mail!.resources.imap!.LDAPTestPasswd = 'hunter2';
    def.groups.ns!.resources.msg!.MsgHost = 'bad host';
    write('cli.json', JSON.stringify(def));
    const r = run('cli.json');
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('cli.json: mail/vip: Address: must be an IPv4 address with its prefix length, got "x" (e.g. 192.0.2.25/24)');
    expect(lines.some((l) => l.startsWith('cli.json: mail/imap: LDAPTestPasswd: warning: password given in clear text'))).toBe(true);
    expect(r.stdout).not.toMatch(/hunter2/);
    expect(lines.at(-1)).toBe('cli.json: 2 errors, 1 warning');
  });

  it('says valid, exit 0, and --json gives the same facts', () => {
    write('ok.json', JSON.stringify(baseDefinition()));
    const r = run('ok.json');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('ok.json: valid — 3 groups, 14 resources\n');
    const j = run('--json', 'ok.json');
    expect(j.status).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ file: 'ok.json', valid: true, errors: 0, warnings: 0, groups: 3, resources: 14, problems: [] });
  });

  it('exit 2 on usage errors, 1 on unreadable input, never a crash', () => {
    expect(run().status).toBe(2);
    expect(run('a', 'b').status).toBe(2);
    const missing = run('missing.js');
    expect(missing.status).toBe(1);
    expect(missing.stdout).toMatch(/^missing.js: file: no such file\nmissing.js: 1 error\n$/);
    expect(missing.stderr).toBe('');
  });
});
