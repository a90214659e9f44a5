/**
 * The PM2 module path, fully offline: `msgha package` → `pm2 install <tarball>` in an isolated
 * PM2_HOME with the npm registry pointing at a dead address → the coordinator starts idle (no
 * cluster file) → `pm2 set pm2-messaging-ha:cluster_file FILE` restarts it and it brings a small
 * group online → `pm2 uninstall` removes the module (the agents it registered keep the service
 * up until deleted: uninstalling the coordinator never bounces the mail service).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox, type Sandbox } from '../fixtures/sandbox/index';
import { processesUnder } from '../fixtures/sandbox/proc-scan';
import { portBlock } from '../helpers/ports';
import { coordinatorStatus, groupOf, pm2Home, runNode, waitFor, PACKAGE_ROOT, type Pm2Home } from '../helpers/pm2';

const BASE = portBlock('pm2', 2);
const WORK = `/tmp/msgha-p${BASE}w`;
const SBX = `/tmp/msgha-p${BASE}s`;
const CLI = path.join(PACKAGE_ROOT, 'dist', 'plugin', 'cli', 'main.js');
const MODULE = 'pm2-messaging-ha';

let sb: Sandbox;
let pm2: Pm2Home;
let tarball: string;

beforeAll(async () => {
  // First, so that a daemon left by an aborted run is killed before its files go.
  pm2 = await pm2Home(path.join(WORK, 'h'), { npm_config_registry: 'http://127.0.0.1:9/', npm_config_offline: 'true' });
  for (const e of fs.readdirSync(WORK)) if (e !== 'h') fs.rmSync(path.join(WORK, e), { recursive: true, force: true });
  sb = await buildSandbox({ dir: SBX, basePort: BASE });
  // No network: a module install that tried npm would fail here.
});

afterAll(async () => {
  await pm2?.destroy();
  await sb?.destroy();
  fs.rmSync(WORK, { recursive: true, force: true });
});

describe('PM2 module', () => {
  it('msgha package builds a tarball with production dependencies only', async () => {
    const r = await runNode([CLI, 'package', WORK], process.env, { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    tarball = r.stdout.split('\n')[0]!;
    expect(tarball).toMatch(/pm2-messaging-ha-v\d+-\d+-\d+\.tar\.gz$/);
    expect(fs.statSync(tarball).size).toBeGreaterThan(100_000);
  });

  it('pm2 install <tarball> offline; pm2 set …:cluster_file brings the group online', async () => {
    const inst = await pm2.cli(['install', tarball], {}, { timeoutMs: 120_000 });
    expect(inst.code, inst.stdout + inst.stderr).toBe(0);
    // Idle without a cluster file: it answers status with the reason, never crash-loops.
    const idle = await waitFor('idle coordinator answering', async () => {
      const r = await pm2.trigger(MODULE, 'status', undefined, 4000);
      return r.reply;
    }, { timeoutMs: 30_000 });
    expect(String(idle.error)).toMatch(/cluster_file/);

    const node = os.hostname();
    const cluster = {
      cluster: { name: 'mod', nodes: [node], metrics: { listen: `127.0.0.1:${BASE + 90}` } },
      groups: {
        dir: {
          systemList: [node],
          resources: {
            ldap: { type: 'SunJESLDAP', InstanceRoot: sb.ldapRoot, LDAPHost: '127.0.0.1', LDAPPort: sb.ports.ldap,
              MonitorInterval: 2, MonitorTimeout: 2, OnlineTimeout: 30, OfflineTimeout: 20, CleanTimeout: 15 },
          },
        },
      },
    };
    const file = path.join(WORK, 'cluster.json');
    fs.writeFileSync(file, JSON.stringify(cluster, null, 2));
    const set = await pm2.cli(['set', `${MODULE}:cluster_file`, file]);
    expect(set.code, set.stderr).toBe(0);
    await waitFor('group dir ONLINE under the module', async () => groupOf(await coordinatorStatus(pm2, MODULE), 'dir')?.state === 'ONLINE', { timeoutMs: 60_000, intervalMs: 500 });
    const apps = await pm2.jlist();
    const agent = apps.find((a) => a.name === 'dir:ldap');
    expect(agent?.status).toBe('online');
    // The agent runs the module's own copy of the code.
    expect(String((agent?.raw.pm2_env as Record<string, unknown>).pm_exec_path)).toContain(path.join(pm2.home, 'modules', MODULE));
    const st = await runNode([CLI, 'status'], pm2.env());
    expect(st.stdout).toMatch(/dir\s+ONLINE/);
  });

  it('pm2 uninstall removes the module; deleting the group namespace stops its agents for real', async () => {
    const un = await pm2.cli(['uninstall', MODULE], {}, { timeoutMs: 60_000 });
    expect(un.code, un.stdout + un.stderr).toBe(0);
    expect(fs.existsSync(path.join(pm2.home, 'modules', MODULE))).toBe(false);
    expect((await pm2.jlist()).some((a) => a.name === MODULE)).toBe(false);
    const del = await pm2.cli(['delete', 'dir'], {}, { timeoutMs: 60_000 });
    expect(del.code).toBe(0);
    // The agent ran offline on its SIGINT: nothing of the directory instance is left.
    await waitFor('slapd gone', () => processesUnder(sb.ldapRoot).length === 0, { timeoutMs: 10_000 });
  });
});
