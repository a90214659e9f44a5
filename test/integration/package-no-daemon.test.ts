/**
 * `msgha status` and the verbs never start a PM2 daemon (PM2's own connect spawns one in
 * ~/.pm2 when none runs): with no daemon, or only a dead daemon's socket file left, pm2-client's
 * connect() fails with "no PM2 daemon runs on this node (PM2_HOME=…)" and no daemon appears;
 * with a daemon it connects as before.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pm2Home, runNode, PACKAGE_ROOT, type Pm2Home } from '../helpers/pm2';

const WORK = `/tmp/msgha-nod-${process.pid}`;
const CLIENT = path.join(PACKAGE_ROOT, 'dist', 'plugin', 'pm2', 'pm2-client.js');
const CLI = path.join(PACKAGE_ROOT, 'dist', 'plugin', 'cli', 'main.js');
let live: Pm2Home;

/** connect() then list() from a fresh process, as every `msgha <verb>` is; prints the outcome as JSON. */
const ASK = `
const c = require(${JSON.stringify(CLIENT)});
c.connect().then(() => c.list()).then(
  (apps) => process.stdout.write(JSON.stringify({ apps: apps.map((a) => a.name) })),
  (e) => process.stdout.write(JSON.stringify({ error: e.message, code: e.code })),
).finally(() => { c.disconnect(); setTimeout(() => process.exit(0), 100); });
`;

/** Processes whose environment names this PM2_HOME (a spawned daemon carries it). */
function processesWithHome(home: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(`PM2_HOME=${home}`)) out.push(Number(d));
    } catch { /* gone or not ours */ }
  }
  return out;
}

function freshHome(name: string): string {
  const home = path.join(WORK, name);
  fs.mkdirSync(home, { recursive: true });
  return home;
}

/** No daemon started in `home`: no pid file, no socket, no process carrying it. */
async function expectNoDaemon(home: string): Promise<void> {
  // A spawned daemon writes its pid file within a second or two; give it the chance to show.
  await new Promise((r) => setTimeout(r, 1500));
  expect(fs.existsSync(path.join(home, 'pm2.pid'))).toBe(false);
  expect(processesWithHome(home)).toEqual([]);
}

beforeAll(async () => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  live = await pm2Home(path.join(WORK, 'live'));
  const r = await live.cli(['start', '/bin/sleep', '--name', 'nod-sleep', '--', '600']);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await live?.kill();
  for (const pid of processesWithHome(path.join(WORK, 'live'))) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  fs.rmSync(WORK, { recursive: true, force: true });
}, 60_000);

describe('pm2-client connect()', () => {
  it('with no daemon: says so, names PM2_HOME, starts none', async () => {
    const home = freshHome('none');
    const r = await runNode(['-e', ASK], { ...process.env, PM2_HOME: home });
    expect(JSON.parse(r.stdout)).toEqual({ error: `no PM2 daemon runs on this node (PM2_HOME=${home})`, code: 'MSGHA_NO_PM2_DAEMON' });
    await expectNoDaemon(home);
  });

  it('with a dead daemon\'s socket file left behind (kill -9): starts none', async () => {
    const home = freshHome('stale');
    const sock = path.join(home, 'rpc.sock');
    // A listener killed with SIGKILL leaves its socket file, as a killed PM2 daemon does.
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((res) => holder.stdout!.once('data', () => res()));
    holder.kill('SIGKILL');
    await new Promise((res) => holder.once('exit', res));
    expect(fs.existsSync(sock)).toBe(true);
    const r = await runNode(['-e', ASK], { ...process.env, PM2_HOME: home });
    expect(JSON.parse(r.stdout).code).toBe('MSGHA_NO_PM2_DAEMON');
    await expectNoDaemon(home);
  });

  it('with a daemon: connects and lists its apps', async () => {
    const r = await runNode(['-e', ASK], live.env());
    expect(JSON.parse(r.stdout)).toEqual({ apps: ['nod-sleep'] });
  });
});

describe('the CLI with no daemon', () => {
  it.each([['status'], ['freeze', 'mail'], ['online', 'mail']])('msgha %s says no PM2 daemon runs and starts none', async (...args) => {
    const home = freshHome(`cli-${args[0]}`);
    const r = await runNode([CLI, ...args], { ...process.env, PM2_HOME: home, MSGHA_CLUSTER_FILE: '' });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/no PM2 daemon runs on this node/);
    expect(r.stdout + r.stderr).toContain(home);
    await expectNoDaemon(home);
  });

  it('npm run msgha -- status runs the CLI from the checkout', async () => {
    const home = freshHome('npm-run');
    const r = await new Promise<{ code: number; text: string }>((res) => {
      const child = spawn('npm', ['run', '--silent', 'msgha', '--', 'status'], { cwd: PACKAGE_ROOT, env: { ...process.env, PM2_HOME: home, MSGHA_CLUSTER_FILE: '' } });
      let text = '';
      child.stdout.on('data', (d) => { text += String(d); });
      child.stderr.on('data', (d) => { text += String(d); });
      child.on('close', (code) => res({ code: code ?? 1, text }));
    });
    expect(r.code).not.toBe(0);
    expect(r.text).toMatch(/no PM2 daemon runs on this node/);
    await expectNoDaemon(home);
  });
});
