// A pid file is evidence, not truth (issue 8, item 2), and the agent remembers what it saw
// (item 6). Real processes throughout: pid files naming a thread of this (agent) process, this
// process itself, another of our own processes, PM2's daemon, an unrelated live process, a
// thread of an unrelated process, and a pid written in another PID namespace must never make
// the resource ONLINE, never be signalled by clean or offline (whose stop program would signal
// them), and be removed before online — whose start program, like Dovecot's, refuses to start
// while its pid file names a live pid. Then: children orphaned by a stop or a crash, carrying no
// path, are killed by offline / clean from the agent's memory, and a reused pid never is.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getResourceType } from '../../../plugin/resource-types';
import { killPids } from '../../../plugin/proc/kill';
import { checkAttribute } from '../../../plugin/config/validate-attribute';
import { isAlive, startTimeOf, threadGroupOf } from '../../../plugin/proc/table';
import { ownProcess } from '../../../plugin/proc/own';
import { listInstanceProcesses } from '../../../plugin/proc/matching';
import { agentContext, resolvedResource } from '../../contract/agent-context';
import { fakeDaemonRoot, writeScript } from '../../helpers/fake-daemon';
import { waitFor } from '../../helpers/pm2';

const OWN_SCRIPT = path.resolve(__dirname, '../../fixtures/own/own-process.cjs');
const app = getResourceType('Application')!;
let root: string;
const children: ChildProcess[] = [];
const pidFile = (): string => path.join(root, 'run', 'daemon.pid');

function ctx(lines?: string[], attrs: Record<string, unknown> = {}, name = 'trust') {
  return agentContext(resolvedResource('Application', name, {
    StartProgram: `${root}/bin/start`,
    // What `dovecot stop` amounts to: signal the pid in the pid file. Run on a stale file, it
    // would signal whatever that pid is now.
    StopProgram: `${root}/bin/stop`,
    PidFiles: [pidFile()],
    MonitorProcesses: [`${root}/bin/fakedaemon 300`],
    ProcessRoot: root, OnlineTimeout: 10, OfflineTimeout: 10, CleanTimeout: 10, ...attrs,
  }), { lines, level: lines ? 'INFO' : undefined });
}

const script = (name: string, body: string): Promise<string> => writeScript(root, name, body);

/** Starts a process and waits until it has printed "ready" (own-process.cjs) or exists. */
async function start(argv0: string, args: string[], opts: { ready?: boolean } = {}): Promise<ChildProcess> {
  const c = spawn(argv0, args, { stdio: ['ignore', 'pipe', 'ignore'], cwd: '/', detached: true });
  children.push(c);
  if (opts.ready) {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      c.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('ready')) resolve(); });
      c.once('exit', () => reject(new Error(`${argv0} exited before it was ready`)));
    });
  }
  await waitFor(`${argv0} running`, () => startTimeOf(c.pid!) !== undefined, { timeoutMs: 5000, intervalMs: 20 });
  return c;
}

/** A thread id of `pid` other than the main thread (Node has several). */
async function threadOf(pid: number): Promise<number> {
  return waitFor(`a second thread of ${pid}`, () => readdirSync(`/proc/${pid}/task`).map(Number).find((t) => t !== pid), { timeoutMs: 5000, intervalMs: 20 });
}

beforeAll(async () => {
  root = await fakeDaemonRoot('mh-trust-');
  const pf = pidFile();
  await script('start', [
    // Like Dovecot: a pid file naming a live pid means "already running".
    `if [ -f ${pf} ] && kill -0 "$(cat ${pf})" 2>/dev/null; then echo "already running with pid $(cat ${pf})" >&2; exit 1; fi`,
    `${root}/bin/fakedaemon 300 > /dev/null 2>&1 &`,
    `echo $! > ${pf}`,
  ].join('\n'));
  await script('stop', `[ -f ${pf} ] && kill "$(cat ${pf})"\nexit 0`);
});

afterAll(async () => {
  for (const c of children) { try { process.kill(c.pid!, 'SIGKILL'); } catch { /* gone */ } }
  await killPids(await listInstanceProcesses(root), { graceMs: 200 });
  await fs.rm(root, { recursive: true, force: true });
});

describe('our own processes are recognised from the kernel view', () => {
  it('this process, a Node script under the package root and PM2\'s daemon are ours; sleep and node -e are not', async () => {
    const own = await start(process.execPath, [OWN_SCRIPT], { ready: true });
    const pm2 = await start(process.execPath, ['-e', "process.title = 'PM2 v6.0.8: God Daemon (/tmp/mh-trust-pm2)'; setInterval(() => {}, 1 << 30)"]);
    await waitFor('PM2 title', () => readFileSync(`/proc/${pm2.pid}/cmdline`, 'utf8').startsWith('PM2 v6.0.8: God Daemon'), { timeoutMs: 5000, intervalMs: 20 });
    const sleeper = await start('/bin/sleep', ['1000']);
    const stranger = await start(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)']);
    expect(ownProcess(process.pid)).toBeDefined();
    expect(ownProcess(own.pid!)).toMatch(/our own Node process/);
    expect(ownProcess(pm2.pid!)).toBe("PM2's daemon");
    expect(ownProcess(sleeper.pid!)).toBeUndefined();
    expect(ownProcess(stranger.pid!)).toBeUndefined();
  });
});

describe('a pid file naming something that is not this instance', () => {
  // Each case: the number to write, and the live process (thread group) it must leave alone.
  const cases: Array<[string, () => Promise<{ pid: number; victim: number }>]> = [
    ['a thread of this agent process', async () => ({ pid: await threadOf(process.pid), victim: process.pid })],
    ['this agent process itself', async () => ({ pid: process.pid, victim: process.pid })],
    ['another of our own processes (an agent, the fence)', async () => {
      const c = await start(process.execPath, [OWN_SCRIPT], { ready: true });
      return { pid: c.pid!, victim: c.pid! };
    }],
    ['a thread of another of our own processes', async () => {
      const c = await start(process.execPath, [OWN_SCRIPT], { ready: true });
      return { pid: await threadOf(c.pid!), victim: c.pid! };
    }],
    ["PM2's daemon", async () => {
      const c = await start(process.execPath, ['-e', "process.title = 'PM2 v6.0.8: God Daemon (/tmp/mh-trust-pm2)'; setInterval(() => {}, 1 << 30)"]);
      await waitFor('PM2 title', () => readFileSync(`/proc/${c.pid}/cmdline`, 'utf8').startsWith('PM2 v'), { timeoutMs: 5000, intervalMs: 20 });
      return { pid: c.pid!, victim: c.pid! };
    }],
    ['an unrelated live process', async () => {
      const c = await start('/bin/sleep', ['1000']);
      return { pid: c.pid!, victim: c.pid! };
    }],
    ['a thread of an unrelated process', async () => {
      const c = await start(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)']);
      return { pid: await threadOf(c.pid!), victim: c.pid! };
    }],
  ];

  it.each(cases)('%s: not ONLINE, never signalled by clean or offline, removed before online', async (_what, make) => {
    const { pid, victim } = await make();
    const born = startTimeOf(victim)!;
    await fs.writeFile(pidFile(), `${pid}\n`);
    const m = await app.monitor(ctx(), { deep: false });
    expect(m.state, m.reason).not.toBe('ONLINE');
    expect(m.pids ?? []).not.toContain(pid);
    expect(m.reason).toContain(`pid file ${pidFile()} names pid ${pid}`);
    expect(await app.clean(ctx())).toMatchObject({ ok: true });
    expect(await app.offline(ctx())).toMatchObject({ ok: true });
    expect(startTimeOf(victim)).toBe(born);

    const lines: string[] = [];
    const on = await app.online(ctx(lines));
    expect(on.ok, on.reason).toBe(true);
    expect(lines.join('\n')).toContain(`stale pid file ${pidFile()} removed: it names pid ${pid}`);
    expect(Number(await fs.readFile(pidFile(), 'utf8'))).not.toBe(pid);
    expect((await app.monitor(ctx(), { deep: false })).state).toBe('ONLINE');
    expect(await app.offline(ctx())).toMatchObject({ ok: true });
    expect(startTimeOf(victim)).toBe(born);
    expect(threadGroupOf(victim)).toBe(victim);
  });

  it('a pid written in another PID namespace (a small number here) is not trusted either', async () => {
    // The pid file of a "node" whose PID namespace is not ours: its numbers mean other processes here.
    const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', '/bin/sh', '-c', `/bin/sleep 0 & echo $! > ${pidFile()}; wait`]);
    expect(r.status, String(r.stderr)).toBe(0);
    const pid = Number(await fs.readFile(pidFile(), 'utf8'));
    expect(pid).toBeLessThan(10);
    const born = startTimeOf(pid);
    const m = await app.monitor(ctx(), { deep: false });
    expect(m.state, m.reason).not.toBe('ONLINE');
    expect(await app.clean(ctx())).toMatchObject({ ok: true });
    expect(startTimeOf(pid)).toBe(born);
    const lines: string[] = [];
    expect(await app.online(ctx(lines))).toMatchObject({ ok: true });
    expect(lines.join('\n')).toContain(`stale pid file ${pidFile()} removed: it names pid ${pid}`);
    expect(await app.offline(ctx())).toMatchObject({ ok: true });
  });

  it('a file that does not hold a pid is not deleted (a misconfigured path), only reported', async () => {
    await fs.writeFile(pidFile(), 'not a pid\n');
    const m = await app.monitor(ctx(), { deep: false });
    expect(m.reason).toContain('does not hold a pid');
    await app.clean(ctx());
    expect(await fs.readFile(pidFile(), 'utf8')).toBe('not a pid\n');
    await fs.rm(pidFile());
  });
});

describe('the agent remembers the processes it saw', () => {
  // A daemon whose two children carry no path in their command lines (like Dovecot's login and
  // auth processes) and live in $1; the stop program signals the parent only, orphaning them.
  beforeAll(async () => {
    await script('parent.sh', 'cd "$1"\n/bin/sleep 301 &\n/bin/sleep 302 &\nwait');
    await script('start-parent', `${root}/bin/parent.sh "$1" > /dev/null 2>&1 &\necho $! > ${root}/run/parent.pid`);
    await script('stop-parent', `kill "$(cat ${root}/run/parent.pid)"`);
  });

  const parentCtx = (cwd: string, attrs: Record<string, unknown> = {}) => ctx(undefined, {
    StartProgram: [`${root}/bin/start-parent`, cwd], StopProgram: `${root}/bin/stop-parent`,
    PidFiles: [path.join(root, 'run', 'parent.pid')], MonitorProcesses: [`${root}/bin/parent.sh`], ...attrs,
  }, 'parent');

  async function onlineWithChildren(c: ReturnType<typeof ctx>): Promise<{ parent: number; kids: number[] }> {
    const on = await app.online(c);
    expect(on.ok, on.reason).toBe(true);
    const parent = Number(await fs.readFile(path.join(root, 'run', 'parent.pid'), 'utf8'));
    const kids = await waitFor('two children', () => {
      const list = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
      // Forked AND exec'd: until then a child still carries the parent's command line.
      const sleeping = list.filter((p) => { try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('/bin/sleep'); } catch { return false; } });
      return sleeping.length === 2 ? sleeping : undefined;
    }, { timeoutMs: 5000, intervalMs: 20 });
    const m = await app.monitor(c, { deep: false });
    expect(m.state, m.reason).toBe('ONLINE');
    return { parent, kids };
  }

  it('offline kills the children the stop orphaned (no path, cwd /) and does not wait for them', async () => {
    const c = parentCtx('/');
    const { parent, kids } = await onlineWithChildren(c);
    const off = await app.offline(c);
    expect(off.ok, off.reason).toBe(true);
    expect(off.reason).toMatch(/left 2 process\(es\) running/);
    for (const p of [parent, ...kids]) expect(await isAlive(p)).toBe(false);
  });

  it('offline waits for the daemon, not for its orphans, even when they sit under ProcessRoot', async () => {
    // With cwd under ProcessRoot the orphans are leftovers too; the wait ends with the parent.
    const c = parentCtx(path.join(root, 'run'), { OfflineTimeout: 60 });
    const { kids } = await onlineWithChildren(c);
    const t0 = Date.now();
    const off = await app.offline(c);
    expect(off.ok, off.reason).toBe(true);
    // Waiting for the orphans would have taken OfflineTimeout minus the kill reserve (50 s).
    expect(Date.now() - t0).toBeLessThan(20_000);
    for (const p of kids) expect(await isAlive(p)).toBe(false);
  });

  it('clean after a crash of the parent kills the remembered orphans', async () => {
    const c = parentCtx('/');
    const { parent, kids } = await onlineWithChildren(c);
    process.kill(parent, 'SIGKILL');
    await waitFor('parent gone', async () => !(await isAlive(parent)), { timeoutMs: 5000, intervalMs: 20 });
    // Nothing but the memory finds them now: no pid file process, no path, no parent.
    expect(await listInstanceProcesses(root)).toEqual([]);
    const r = await app.clean(c);
    expect(r.ok, r.reason).toBe(true);
    for (const p of kids) expect(await isAlive(p)).toBe(false);
  });

  it('a pid whose start time changed (reused) is never signalled', async () => {
    const s = await start('/bin/sleep', ['1000']);
    const rep = await killPids([s.pid!], { graceMs: 100, expected: new Map([[s.pid!, startTimeOf(s.pid!)! - 1]]) });
    expect(rep.signalled).toEqual([]);
    expect(rep.spared).toEqual([{ pid: s.pid!, why: 'pid reused by another process' }]);
    expect(await isAlive(s.pid!)).toBe(true);
  });

  it('kill never signals a thread id, nor one of our own processes', async () => {
    const stranger = await start(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)']);
    const own = await start(process.execPath, [OWN_SCRIPT], { ready: true });
    const tid = await threadOf(stranger.pid!);
    const rep = await killPids([tid, own.pid!, process.pid], { graceMs: 100 });
    expect(rep.signalled).toEqual([]);
    expect(rep.spared.map((s) => s.pid).sort()).toEqual([tid, own.pid!, process.pid].sort());
    expect(await isAlive(stranger.pid!)).toBe(true);
    expect(await isAlive(own.pid!)).toBe(true);
  });
});

describe('ProcessRoot lists several directories', () => {
  it('is declared as one path or a list, and every listed root is an instance root', async () => {
    const decl = app.attributes.find((a) => a.name === 'ProcessRoot')!;
    expect(checkAttribute(decl, '/srv/mail/dovecot')).toEqual([]);
    expect(checkAttribute(decl, ['/srv/mail/dovecot', '/run/dovecot-mail'])).toEqual([]);
    expect(checkAttribute(decl, ['/srv/mail/dovecot', 'relative'])[0]?.message).toMatch(/\[1\]: must be an absolute path/);
    expect(checkAttribute(decl, [])[0]?.severity).toBe('error');
    const other = await fs.mkdtemp(path.join(os.tmpdir(), 'mh-trust2-'));
    try {
      await fs.symlink('/bin/sleep', path.join(other, 'fakedaemon'));
      const s = await start(path.join(other, 'fakedaemon'), ['1000']);
      expect(await listInstanceProcesses([root, other])).toContain(s.pid);
      expect(await listInstanceProcesses([root])).not.toContain(s.pid);
      const r = await app.clean(ctx(undefined, { ProcessRoot: [root, other] }, 'roots'));
      expect(r.ok, r.reason).toBe(true);
      expect(await isAlive(s.pid!)).toBe(false);
    } finally {
      await fs.rm(other, { recursive: true, force: true });
    }
  });
});
