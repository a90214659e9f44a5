/**
 * Secrets under PM2: an Administration Server resource whose SSLDbPasswd is `enc:v1:` (made with
 * `msgha keygen` / `msgha encrypt`) starts — start-admin gets the clear password on stdin — and
 * the clear password appears nowhere: not in `ps`, not in any PM2 log, not in `pm2 jlist` /
 * `pm2 env`, not in any process environment. Also checks `msgha status` and `msgha run`.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox, type Sandbox } from '../fixtures/sandbox/index';
import { portBlock } from '../helpers/ports';
import { coordinatorStatus, groupOf, pm2Home, runNode, waitFor, PACKAGE_ROOT, type Pm2Home } from '../helpers/pm2';
import { clusterFileSource } from '../fixtures/cluster-file';

const BASE = portBlock('pm2', 1);
const WORK = `/tmp/msgha-p${BASE}w`;
const SBX = `/tmp/msgha-p${BASE}s`;
const CLI = path.join(PACKAGE_ROOT, 'dist', 'plugin', 'cli', 'main.js');
const PASSWORD = `ssl-${crypto.randomBytes(9).toString('hex')}`;

let sb: Sandbox;
let pm2: Pm2Home;
let file: string;

function grepTree(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) { try { if (fs.readFileSync(p).includes(needle)) hits.push(p); } catch { /* unreadable */ } }
    }
  };
  walk(dir);
  return hits;
}

beforeAll(async () => {
  // First, so that a daemon left by an aborted run is killed before its files go.
  pm2 = await pm2Home(path.join(WORK, 'h'), { MSGHA_NODE: 'n1' });
  for (const e of fs.readdirSync(WORK)) if (e !== 'h') fs.rmSync(path.join(WORK, e), { recursive: true, force: true });
  sb = await buildSandbox({ dir: SBX, basePort: BASE, sslDbPassword: PASSWORD });
  const keyFile = path.join(WORK, 'cluster.key');
  const env = { ...process.env, MSGHA_KEY_FILE: keyFile };
  expect((await runNode([CLI, 'keygen', '--key-file', keyFile], env)).code).toBe(0);
  // Bound to its place (cluster sec, group adm, resource admin, attribute SSLDbPasswd).
  const enc = await runNode([CLI, 'encrypt', '--key-file', keyFile, '--cluster-name', 'sec', '--for', 'adm.admin.SSLDbPasswd'], env, { input: `${PASSWORD}\n` });
  expect(enc.code, enc.stderr).toBe(0);
  const secret = enc.stdout.trim().split('\n').pop()!;
  expect(secret).toMatch(/^enc:v2:/);
  const def = {
    cluster: { name: 'sec', nodes: ['n1'], keyFile, metrics: { listen: `127.0.0.1:${BASE + 90}` } },
    groups: {
      adm: {
        systemList: ['n1'],
        resources: {
          admin: { type: 'SunJESAdm', ServerRoot: sb.adminRoot, AdminHost: '127.0.0.1', AdminPort: sb.ports.admin,
            SSLDbPasswd: secret, MonitorInterval: 2, MonitorTimeout: 2, OnlineTimeout: 30, OfflineTimeout: 20, CleanTimeout: 15 },
        },
      },
    },
  };
  file = path.join(WORK, 'cluster.config.js');
  const dist = path.join(PACKAGE_ROOT, 'dist', 'plugin', 'index.js');
  fs.writeFileSync(file, clusterFileSource(dist, def));
  const r = await pm2.cli(['start', file]);
  expect(r.code, r.stderr + r.stdout).toBe(0);
});

afterAll(async () => {
  await pm2?.destroy();
  await sb?.destroy();
  fs.rmSync(WORK, { recursive: true, force: true });
});

describe('secrets under PM2', () => {
  it('start-admin gets the decrypted SSLDbPasswd and the group comes online', async () => {
    await waitFor('group adm ONLINE', async () => groupOf(await coordinatorStatus(pm2), 'adm')?.state === 'ONLINE', { timeoutMs: 60_000, intervalMs: 500 });
  });

  it('the clear password is in no command line, log, PM2 env dump or process environment', async () => {
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps.includes(PASSWORD)).toBe(false);
    expect(grepTree(pm2.home, PASSWORD)).toEqual([]);
    const jlist = await pm2.cli(['jlist']);
    expect(jlist.stdout.includes(PASSWORD)).toBe(false);
    const apps = await pm2.jlist();
    for (const a of apps) {
      const env = await pm2.cli(['env', String(a.pm_id)]);
      expect(env.stdout.includes(PASSWORD), `pm2 env ${a.name}`).toBe(false);
    }
    const leaks: string[] = [];
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      for (const f of ['environ', 'cmdline']) {
        try { if (fs.readFileSync(`/proc/${d}/${f}`).includes(PASSWORD)) leaks.push(`${d}/${f}`); } catch { /* gone or not ours */ }
      }
    }
    expect(leaks).toEqual([]);
  });

  it('msgha status prints the table; msgha run monitor runs the agent function by hand', async () => {
    const st = await runNode([CLI, 'status'], pm2.env());
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/adm\s+ONLINE/);
    expect(st.stdout).toMatch(/admin\s+ONLINE/);
    const json = await runNode([CLI, 'status', '--json'], pm2.env());
    expect(JSON.parse(json.stdout).groups[0].state).toBe('ONLINE');
    const run = await runNode([CLI, 'run', file, 'adm.admin', 'monitor', '--deep', '--json'], pm2.env({ MSGHA_NODE: 'n1' }));
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).state).toBe('ONLINE');
    const usage = await runNode([CLI, 'run', file, 'adm.admin', 'restart'], pm2.env());
    expect(usage.code).toBe(2);
  });
});
