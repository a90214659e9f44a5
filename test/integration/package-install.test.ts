/**
 * The administrator's path, from the npm tarball: `npm pack`, then `npm i -g` of it and PM2 7
 * into a temporary prefix, `msgha init` writes a cluster file outside the checkout, `pm2 start`
 * of that file under the prefix's own PM2 (own PM2_HOME) brings a one-resource group ONLINE.
 * Also: a cluster file doing `require('pm2-messaging-ha')` outside any node_modules fails under
 * `msgha validate` exactly where it fails under `pm2 start`. Slow (a global install): own file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode, waitFor, PACKAGE_ROOT, type CliResult } from '../helpers/pm2';
import { execFile } from 'node:child_process';

const WORK = `/tmp/msgha-pkgi-${process.pid}`;
const PREFIX = path.join(WORK, 'prefix');
const HOME = path.join(WORK, 'pm2home');
const ETC = path.join(WORK, 'etc', 'msgha');
const RUN = path.join(WORK, 'run');
const PKG = path.join(PREFIX, 'lib', 'node_modules', 'pm2-messaging-ha');
const MSGHA = path.join(PKG, 'dist', 'plugin', 'cli', 'main.js');
const PM2 = path.join(PREFIX, 'lib', 'node_modules', 'pm2', 'bin', 'pm2');
const NODE = os.hostname();
/** A tiny daemon only this file starts: its command line is unique to this run. */
const DAEMON_ARG = `864000.${process.pid}`;

function run(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** What an administrator's shell has after the install: the prefix's bin first on PATH. */
function env(): NodeJS.ProcessEnv {
  const { NODE_PATH: _drop, ...rest } = process.env;
  return { ...rest, PATH: `${path.join(PREFIX, 'bin')}:${process.env.PATH}`, PM2_HOME: HOME, MSGHA_RUN_DIR: RUN, MSGHA_NODE: NODE };
}

/** The test's group: one Application whose daemon is a sleep that forks into the background. */
const GROUPS = `groups: {
    t: {
      systemList: [${JSON.stringify(NODE)}],
      resources: {
        d: { type: 'Application', StartProgram: '/usr/bin/setsid -f /bin/sleep ${DAEMON_ARG}',
             MonitorProcesses: ['/bin/sleep ${DAEMON_ARG}'], MonitorInterval: 1, OnlineTimeout: 20, OfflineTimeout: 10, CleanTimeout: 10 },
      },
    },
  },
});
`;

let tarball = '';
const measured: string[] = [];

function daemonPids(): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(DAEMON_ARG)) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

async function killPm2(): Promise<void> {
  if (fs.existsSync(PM2) && fs.existsSync(HOME)) await run(process.execPath, [PM2, 'kill'], { env: env(), timeoutMs: 60_000 });
  for (const pid of daemonPids()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
}

beforeAll(async () => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true, mode: 0o755 });
  // The tarball of the built tree (the runner builds first); prepare is checked by npm-ci.test.ts.
  const before = Date.now();
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', WORK], { cwd: PACKAGE_ROOT, timeoutMs: 120_000 });
  expect(pack.code, pack.stderr).toBe(0);
  const info = (JSON.parse(pack.stdout) as Array<{ filename: string; size: number; entryCount: number; files: Array<{ path: string }> }>)[0]!;
  tarball = path.join(WORK, info.filename);
  measured.push(`tarball ${(info.size / 1024).toFixed(1)} KiB, ${info.entryCount} files, packed in ${Date.now() - before} ms`);
  const t0 = Date.now();
  const inst = await run('npm', ['i', '-g', '--prefix', PREFIX, '--prefer-offline', '--no-audit', '--no-fund', tarball, 'pm2@7.0.4'], { cwd: WORK, timeoutMs: 240_000 });
  expect(inst.code, inst.stderr).toBe(0);
  measured.push(`global install (tarball + pm2@7.0.4) ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}, 300_000);

afterAll(async () => {
  await killPm2();
  fs.rmSync(WORK, { recursive: true, force: true });
  process.stdout.write(`package-install: ${measured.join('; ')}\n`);
}, 120_000);

describe('the npm tarball', () => {
  it('holds the CLI, the library, the LICENSE and no test or benchmark code', async () => {
    const list = await run('tar', ['-tzf', tarball]);
    const files = list.stdout.split('\n').filter(Boolean);
    expect(files).toContain('package/dist/plugin/cli/main.js');
    expect(files).toContain('package/dist/plugin/index.js');
    expect(files).toContain('package/LICENSE');
    expect(files.filter((f) => /^package\/(dist\/)?(test|bench)\//.test(f))).toEqual([]);
    expect(fs.existsSync(path.join(PREFIX, 'bin', 'msgha'))).toBe(true);
    expect(fs.existsSync(path.join(PREFIX, 'bin', 'pm2'))).toBe(true);
  });

  it('msgha demo from the package says it needs the repository and starts nothing', async () => {
    const r = await runNode([MSGHA, 'demo'], env(), { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/needs the repository/);
    expect(fs.existsSync(path.join(HOME, 'rpc.sock'))).toBe(false);
  });
});

describe('a cluster file outside the checkout', () => {
  it('require("pm2-messaging-ha") in /etc-like folder: validate fails where pm2 start fails, and names the fix', async () => {
    const dir = path.join(WORK, 'bare');
    fs.mkdirSync(dir, { mode: 0o755 });
    const file = path.join(dir, 'bare.config.js');
    fs.writeFileSync(file, `const { defineCluster } = require('pm2-messaging-ha');\nmodule.exports = defineCluster({ cluster: { name: 'b', nodes: [${JSON.stringify(NODE)}] }, ${GROUPS}`, { mode: 0o600 });
    const v = await runNode([MSGHA, 'validate', file], env());
    expect(v.code).not.toBe(0);
    expect(v.stdout + v.stderr).toMatch(/Cannot find module 'pm2-messaging-ha'/);
    expect(v.stdout + v.stderr).toContain(`require(${JSON.stringify(fs.realpathSync(PKG))})`);
    const p = await runNode([PM2, 'start', file], env(), { timeoutMs: 60_000 });
    expect(p.stdout + p.stderr).toMatch(/Cannot find module 'pm2-messaging-ha'/);
    await killPm2();
  }, 120_000);

  it('written by msgha init, it validates and pm2 start brings the group ONLINE', async () => {
    // The installed `msgha` on the prefix's PATH, as the README says.
    const r = await runNode([path.join(PREFIX, 'bin', 'msgha'), 'init', 'pkgi', '--dir', ETC, '--node', NODE], env());
    expect(r.code, r.stderr).toBe(0);
    const file = path.join(ETC, 'pkgi.config.js');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain(`require(${JSON.stringify(fs.realpathSync(PKG))})`);
    // The administrator's edit: the example group replaced by a real one.
    fs.writeFileSync(file, text.replace(/groups: \{[\s\S]*$/, GROUPS));

    const v = await runNode([MSGHA, 'validate', file], env());
    expect(v.code, v.stdout + v.stderr).toBe(0);
    fs.mkdirSync(RUN, { recursive: true, mode: 0o700 });
    const p = await runNode([PM2, 'start', file], env(), { timeoutMs: 60_000 });
    expect(p.code, p.stdout + p.stderr).toBe(0);
    const t0 = Date.now();
    await waitFor('group t ONLINE in msgha status --json', async () => {
      const s = await runNode([MSGHA, 'status', '--json'], env(), { timeoutMs: 30_000 });
      const reply = JSON.parse(s.stdout.slice(s.stdout.indexOf('{'))) as { groups?: Array<{ name: string; state: string }> };
      return reply.groups?.some((g) => g.name === 't' && g.state === 'ONLINE');
    }, { timeoutMs: 90_000, intervalMs: 500 });
    measured.push(`pm2 start → group ONLINE ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(daemonPids().length).toBeGreaterThan(0);
  }, 180_000);
});
