// Issue 10, item 3: pid files and process matches, attacked the way the audit found them — with
// real processes, some of them run as `nobody` (setpriv). A pid file naming pid 1, an unrelated
// process, our own ancestors, a thread; a stale pid reused by another process (for real, in a PID
// namespace); a nobody process whose command line looks like the daemon's while the daemon is
// stopped. None may make the resource ONLINE, none may be signalled by offline or clean (the
// decoys must survive), and every one is named in the reason. A real daemon of the expected user
// is still found and stopped.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getResourceType } from '../../../plugin/resource-types';
import { killPids } from '../../../plugin/proc/kill';
import { invalidateSnapshot, readStat, readStatusSync, startTimeOf } from '../../../plugin/proc/table';
import { agentContext, resolvedResource } from '../../contract/agent-context';
import { fakeDaemonRoot, writeScript } from '../../helpers/fake-daemon';
import { waitFor } from '../../helpers/pm2';

const NOBODY = 65534;
const AS_NOBODY = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--inh-caps=-all'];
const PACKAGE = path.resolve(__dirname, '../../..');
const app = getResourceType('Application')!;
let root: string;
const started: ChildProcess[] = [];

/** Starts argv (as nobody with `nobody`) in its own process group and waits until it runs argv[0]. */
async function run(argv: string[], opts: { nobody?: boolean } = {}): Promise<number> {
  const full = opts.nobody ? [...AS_NOBODY, ...argv] : argv;
  const c = spawn(full[0]!, full.slice(1), { stdio: 'ignore', cwd: '/', detached: true });
  started.push(c);
  await waitFor(`${argv.join(' ')} running`, () => {
    try { return readFileSync(`/proc/${c.pid}/cmdline`, 'utf8').split('\0')[0] === argv[0] && readStatusSync(c.pid!)?.uid === (opts.nobody ? NOBODY : 0); } catch { return false; }
  }, { timeoutMs: 10_000, intervalMs: 20 });
  // As the agent does after it starts something: the next check scans /proc afresh.
  invalidateSnapshot();
  return c.pid!;
}

/** The live children of `pid` (threads included), once there are `n`. */
function childrenOf(pid: number, n = 1): Promise<number[]> {
  return waitFor(`${n} child(ren) of ${pid}`, () => {
    const kids = readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number));
    return kids.length >= n ? kids : undefined;
  }, { timeoutMs: 10_000, intervalMs: 20 });
}

/** pid → start time now: a decoy survives when the same process is still there afterwards. */
const births = (pids: number[]): Map<number, number | undefined> => new Map(pids.map((p) => [p, startTimeOf(p)]));
function expectAlive(before: Map<number, number | undefined>): void {
  for (const [pid, t] of before) {
    expect(t, `pid ${pid} was running`).toBeDefined();
    expect(startTimeOf(pid), `pid ${pid} must survive`).toBe(t);
  }
}

function ctx(attrs: Record<string, unknown>, lines?: string[]) {
  return agentContext(resolvedResource('Application', 'pids', { OnlineTimeout: 10, OfflineTimeout: 10, CleanTimeout: 10, ...attrs }),
    { lines, level: lines ? 'TRACE' : undefined });
}

/** offline and clean, then the decoys must all still be the same processes. */
async function offlineAndCleanSpare(c: ReturnType<typeof ctx>, decoys: number[]): Promise<string[]> {
  const before = births(decoys);
  const cl = await app.clean(c);
  const off = await app.offline(c);
  expect(cl.ok, cl.reason).toBe(true);
  expect(off.ok, off.reason).toBe(true);
  expectAlive(before);
  return [cl.reason, off.reason];
}

beforeAll(async () => {
  root = await fakeDaemonRoot(`mh-pids-${process.pid}-`);
  // A daemon that forks: `daemon.sh start PIDFILE` leaves `daemon.sh run` (with a sleep child) and writes its pid.
  await writeScript(root, 'daemon.sh', [
    'case "$1" in',
    `start) "$0" run "$2" </dev/null >/dev/null 2>&1 & echo $! > "$2" ;;`,
    `run) ${root}/bin/fakedaemon 300 ;;`,
    'esac',
  ].join('\n'));
  // `start PIDFILE [SECONDS]`: the daemon is `fakedaemon SECONDS` (300 by default).
  await writeScript(root, 'start', `${root}/bin/fakedaemon \${2:-300} </dev/null >/dev/null 2>&1 &\necho $! > "$1"`);
  // Started as root, the daemon runs as nobody (like `slapd -u openldap`).
  await writeScript(root, 'start-drop', `${AS_NOBODY.join(' ')} ${root}/bin/fakedaemon 302 </dev/null >/dev/null 2>&1 &\necho $! > "$1"`);
  await fs.mkdir(path.join(root, 'nobody'), { mode: 0o755 });
  chownSync(path.join(root, 'nobody'), NOBODY, NOBODY);
});

afterAll(async () => {
  for (const c of started) { try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ } }
  // Whatever the tests started through the types: every process naming the root.
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try { if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(root)) process.kill(Number(e), 'SIGKILL'); } catch { /* gone */ }
  }
  await fs.rm(root, { recursive: true, force: true });
});

describe('a pid file names something that is not the daemon (PidFiles only: checked against StartProgram)', () => {
  const pf = (): string => path.join(root, 'run', 'daemon.pid');
  const only = () => ctx({ StartProgram: [`${root}/bin/daemon.sh`, 'start', pf()], PidFiles: [pf()] });

  it('the real daemon is found, and stopped with its child', async () => {
    const c = only();
    const on = await app.online(c);
    expect(on.ok, on.reason).toBe(true);
    const daemon = Number(await fs.readFile(pf(), 'utf8'));
    const [child] = await childrenOf(daemon);
    const m = await app.monitor(c, { deep: false });
    expect(m.state, m.reason).toBe('ONLINE');
    expect(m.pids).toEqual([daemon]);
    expect(await app.offline(c)).toMatchObject({ ok: true });
    expect(startTimeOf(daemon)).toBeUndefined();
    expect(startTimeOf(child!)).toBeUndefined();
  });

  it.each([
    ['pid 1', async () => ({ pid: 1, decoys: [await run(['/bin/sleep', '1001'])], rule: 'pid 1 is init' })],
    ['an unrelated root process with a child', async () => {
      const parent = await run(['/bin/sh', '-c', '/bin/sleep 1002; :']);
      return { pid: parent, decoys: [parent, ...(await childrenOf(parent))], rule: "it does not run StartProgram's program" };
    }],
    ['a process of another user (nobody)', async () => {
      const p = await run(['/bin/sh', `${root}/bin/daemon.sh`, 'run', 'x'], { nobody: true });
      return { pid: p, decoys: [p], rule: 'it runs as uid 65534; this instance\'s processes run as root' };
    }],
    ['the test runner (an ancestor of ours)', async () => ({ pid: process.ppid, decoys: [process.ppid, process.pid], rule: 'it is an ancestor of this agent' })],
    ['this process itself', async () => ({ pid: process.pid, decoys: [process.pid], rule: 'it is this agent process itself' })],
    ['a thread of an unrelated process', async () => {
      const p = await run([process.execPath, '-e', 'setInterval(() => {}, 1 << 30)']);
      const tid = await waitFor('a second thread', () => readdirSync(`/proc/${p}/task`).map(Number).find((t) => t !== p), { timeoutMs: 5000, intervalMs: 20 });
      return { pid: tid, decoys: [p], rule: `it is a thread of process ${p}, not a process` };
    }],
  ])('%s: not ONLINE, named in the reason, never signalled, removed before the start', async (_what, make) => {
    const { pid, decoys, rule } = await make();
    await fs.writeFile(pf(), `${pid}\n`);
    const c = only();
    const m = await app.monitor(c, { deep: false });
    expect(m.state, m.reason).toBe('OFFLINE');
    expect(m.pids ?? []).not.toContain(pid);
    expect(m.reason).toMatch(new RegExp(`^pid file ${pf()} names pid ${pid}, which is /\\S+ \\(uid \\d+\\), not this instance: ignored \\(`));
    expect(m.reason).toContain(rule);
    await offlineAndCleanSpare(c, decoys);
    const lines: string[] = [];
    const on = await app.online(ctx({ StartProgram: [`${root}/bin/daemon.sh`, 'start', pf()], PidFiles: [pf()] }, lines));
    expect(on.ok, on.reason).toBe(true);
    expect(lines.join('\n')).toContain(`stale pid file ${pf()} removed: it names pid ${pid}, which is `);
    await offlineAndCleanSpare(only(), decoys);
  });

  it('written by the service User (nobody), naming a root process or our ancestor: never signalled', async () => {
    // The pid file lives where the service user writes; the attacker is that user.
    const file = path.join(root, 'nobody', 'daemon.pid');
    const sshd = await run(['/bin/sleep', '1003']);
    for (const target of [sshd, process.ppid]) {
      const w = spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), '/bin/sh', '-c', `echo ${target} > ${file}`]);
      expect(w.status, String(w.stderr)).toBe(0);
      const c = ctx({ User: 'nobody', StartProgram: [`${root}/bin/daemon.sh`, 'start', file], PidFiles: [file] });
      const m = await app.monitor(c, { deep: false });
      expect(m.state, m.reason).toBe('OFFLINE');
      expect(m.reason).toContain(`names pid ${target}, which is `);
      await offlineAndCleanSpare(c, [target]);
    }
  });
});

describe('a stale pid reused by an unrelated process (for real: a PID namespace where the pid is handed out again)', () => {
  it('is not ONLINE and the new process is not killed', async () => {
    const pf = path.join(root, 'run', 'reuse.pid');
    const script = path.join(root, 'reuse.cjs');
    await fs.writeFile(script, REUSE_SCRIPT);
    // pid 1 of the namespace is a shell: it reaps the killed daemon, so its pid is free again.
    const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', '/bin/sh', '-c', `${process.execPath} ${script} "$@"; exit $?`, 'sh', PACKAGE, root, pf],
      { encoding: 'utf8', timeout: 90_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.online.ok, out.online.reason).toBe(true);
    expect(out.before.state, out.before.reason).toBe('ONLINE');
    expect(out.reusedBy).toBe('/usr/bin/sleep');
    expect(out.monitor.state, out.monitor.reason).toBe('OFFLINE');
    expect(out.monitor.reason).toContain(`names pid ${out.pid}, which is /usr/bin/sleep (uid 0), not this instance: ignored`);
    expect(out.clean.ok && out.offline.ok, `${out.clean.reason} / ${out.offline.reason}`).toBe(true);
    expect(out.victimSurvived, JSON.stringify(out)).toBe(true);
  });
});

describe('a nobody process whose command line looks like the daemon\'s, while the daemon is stopped', () => {
  it('Application (MonitorProcesses): OFFLINE, named, spared; the real root daemon beside it is ONLINE alone and stopped alone', async () => {
    const pf = path.join(root, 'run', 'mp.pid');
    const attrs = { StartProgram: [`${root}/bin/start`, pf], PidFiles: [pf], MonitorProcesses: [`${root}/bin/fakedaemon 300`] };
    const decoy = await run([`${root}/bin/fakedaemon`, '300'], { nobody: true });
    await fs.writeFile(pf, `${decoy}\n`);
    const m = await app.monitor(ctx(attrs), { deep: false });
    expect(m.state, m.reason).toBe('OFFLINE');
    expect(m.reason).toContain(`pid ${decoy}, /usr/bin/sleep (uid 65534), looks like a command line containing "${root}/bin/fakedaemon 300" but is not this instance: ignored`);
    expect(m.reason).toContain(`pid file ${pf} names pid ${decoy}, which is /usr/bin/sleep (uid 65534), not this instance: ignored`);
    await offlineAndCleanSpare(ctx(attrs), [decoy]);
    const on = await app.online(ctx(attrs));
    expect(on.ok, on.reason).toBe(true);
    const daemon = Number(await fs.readFile(pf, 'utf8'));
    const now = await app.monitor(ctx(attrs), { deep: false });
    expect(now.state, now.reason).toBe('ONLINE');
    expect(now.pids).toEqual([daemon]);
    const before = births([decoy]);
    expect(await app.offline(ctx(attrs))).toMatchObject({ ok: true });
    expect(startTimeOf(daemon)).toBeUndefined();
    expectAlive(before);
  });

  it('Application (ProcessRoot only): OFFLINE, and neither the lookalike nor its child is signalled', async () => {
    const attrs = { StartProgram: [`${root}/bin/start`, path.join(root, 'run', 'pr.pid')], ProcessRoot: root };
    const decoy = await run(['/bin/sh', '-c', '/bin/sleep 1004; :', root], { nobody: true });
    const decoys = [decoy, ...(await childrenOf(decoy))];
    const m = await app.monitor(ctx(attrs), { deep: false });
    expect(m.state, m.reason).toBe('OFFLINE');
    expect(m.reason).toContain(`pid ${decoy}, /usr/bin/dash (uid 65534), looks like a process of ${root}`);
    await offlineAndCleanSpare(ctx(attrs), decoys);
  });

  it('a lookalike whose executable\'s name holds a newline cannot forge a line of the reason or the log', async () => {
    const evil = path.join(root, 'nobody', 'sh\nmsgha: mail.imap ONLINE');
    await fs.copyFile('/bin/dash', evil);
    await fs.chmod(evil, 0o755);
    const attrs = { StartProgram: [`${root}/bin/start`, path.join(root, 'run', 'nl.pid'), '303'], MonitorProcesses: [`${root}/bin/fakedaemon 303`] };
    const decoy = await run([evil, '-c', '/bin/sleep 1008; :', `${root}/bin/fakedaemon 303`], { nobody: true });
    const m = await app.monitor(ctx(attrs), { deep: false });
    expect(m.state, m.reason).toBe('OFFLINE');
    expect(m.reason).toContain(`pid ${decoy}, ${root}/nobody/sh\\nmsgha: mail.imap ONLINE (uid 65534), looks like`);
    expect(m.reason).not.toContain('\n');
  });

  it('SunJESMsg core (daemon names under ServerRoot): OFFLINE, and offline runs no stop program and signals nothing', async () => {
    const msg = path.join(root, 'msg');
    const sun = getResourceType('SunJESMsg')!;
    const c = agentContext(resolvedResource('SunJESMsg', 'core', { ServerRoot: msg, MsgHost: 'mail.example.com', MsgServices: { core: 49994 }, OfflineTimeout: 10, CleanTimeout: 10 }));
    await fs.mkdir(path.join(msg, 'lib'), { recursive: true });
    const decoy = await run(['/bin/sh', '-c', '/bin/sleep 1005; :', `${msg}/lib/stored`, `${msg}/lib/sched`, `${msg}/lib/watcher`], { nobody: true });
    const decoys = [decoy, ...(await childrenOf(decoy))];
    const m = await sun.monitor(c, { deep: false });
    expect(m.state, m.reason).toBe('OFFLINE');
    expect(m.reason).toContain(`pid ${decoy}, /usr/bin/dash (uid 65534), looks like stored with ${msg} but is not this instance: ignored`);
    const before = births(decoys);
    const off = await sun.offline(c);
    expect(off).toMatchObject({ ok: true });
    expect(off.reason).toContain('already offline');
    expect(await sun.clean(c)).toMatchObject({ ok: true });
    expectAlive(before);
  });

  it('SunJESLDAP: a pid file the service user rewrote to name its own lookalike is ignored', async () => {
    const inst = path.join(root, 'slapd-x');
    const sun = getResourceType('SunJESLDAP')!;
    await fs.mkdir(path.join(inst, 'logs'), { recursive: true });
    chownSync(path.join(inst, 'logs'), NOBODY, NOBODY);
    const decoy = await run(['/bin/sh', '-c', '/bin/sleep 1006; :', `${inst}/bin/ns-slapd`], { nobody: true });
    const w = spawnSync(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), '/bin/sh', '-c', `echo ${decoy} > ${inst}/logs/pid`]);
    expect(w.status, String(w.stderr)).toBe(0);
    const c = agentContext(resolvedResource('SunJESLDAP', 'ldap', { InstanceRoot: inst, LDAPHost: 'ldap.example.com', OfflineTimeout: 10, CleanTimeout: 10 }));
    const m = await sun.monitor(c, { deep: false });
    expect(m.state, m.reason).toBe('OFFLINE');
    expect(m.reason).toContain(`pid file ${inst}/logs/pid names pid ${decoy}, which is /usr/bin/dash (uid 65534), not this instance: ignored`);
    const before = births([decoy, ...(await childrenOf(decoy))]);
    expect(await sun.offline(c)).toMatchObject({ ok: true });
    expect(await sun.clean(c)).toMatchObject({ ok: true });
    expectAlive(before);
  });
});

describe('the daemon of the expected user', () => {
  it('User nobody: the nobody daemon counts and is stopped; a root process with the same command line does not and is spared', async () => {
    const pf = path.join(root, 'nobody', 'user.pid');
    const attrs = { User: 'nobody', StartProgram: [`${root}/bin/start`, pf, '301'], PidFiles: [pf], MonitorProcesses: [`${root}/bin/fakedaemon 301`] };
    const rootTwin = await run([`${root}/bin/fakedaemon`, '301']);
    const on = await app.online(ctx(attrs));
    expect(on.ok, on.reason).toBe(true);
    const daemon = Number(await fs.readFile(pf, 'utf8'));
    expect(readStatusSync(daemon)?.uid).toBe(NOBODY);
    // A scan (not the re-check of known pids) is what meets, and names, the twin.
    invalidateSnapshot();
    const m = await app.monitor(ctx(attrs), { deep: false });
    expect(m.state, m.reason).toBe('ONLINE');
    expect(m.pids).toEqual([daemon]);
    expect(m.reason).toContain(`pid ${rootTwin}, /usr/bin/sleep (uid 0), looks like`);
    const before = births([rootTwin]);
    expect(await app.offline(ctx(attrs))).toMatchObject({ ok: true });
    expect(startTimeOf(daemon)).toBeUndefined();
    expectAlive(before);
  });

  it('DaemonUser: a daemon started as root that runs as nobody counts only when DaemonUser says so', async () => {
    const pf = path.join(root, 'run', 'drop.pid');
    const attrs = { StartProgram: [`${root}/bin/start-drop`, pf], PidFiles: [pf], MonitorProcesses: [`${root}/bin/fakedaemon 302`] };
    const on = await app.online(ctx({ ...attrs, DaemonUser: 'nobody' }));
    expect(on.ok, on.reason).toBe(true);
    const daemon = Number(await fs.readFile(pf, 'utf8'));
    // setpriv runs as root until it has switched user and exec'd the daemon.
    await waitFor('the daemon running as nobody', () => readStatusSync(daemon)?.uid === NOBODY && readFileSync(`/proc/${daemon}/cmdline`, 'utf8').startsWith(`${root}/bin/fakedaemon`), { timeoutMs: 10_000, intervalMs: 20 });
    invalidateSnapshot();
    const without = await app.monitor(ctx(attrs), { deep: false });
    expect(without.state, without.reason).toBe('OFFLINE');
    expect(without.reason).toContain("it runs as uid 65534; this instance's processes run as root");
    const m = await app.monitor(ctx({ ...attrs, DaemonUser: 'nobody' }), { deep: false });
    expect(m.state, m.reason).toBe('ONLINE');
    expect(await app.offline(ctx({ ...attrs, DaemonUser: 'nobody' }))).toMatchObject({ ok: true });
    expect(startTimeOf(daemon)).toBeUndefined();
  });
});

describe('the kill path itself', () => {
  it('never signals pid 1, an ancestor, a kernel thread, a thread id, a namespace init or itself', async () => {
    const kthread = Number(readFileSync('/proc/2/task/2/children', 'utf8').trim().split(' ')[0]);
    expect((await readStat(kthread))?.kernelThread).toBe(true);
    const node = await run([process.execPath, '-e', 'setInterval(() => {}, 1 << 30)']);
    const tid = await waitFor('a second thread', () => readdirSync(`/proc/${node}/task`).map(Number).find((t) => t !== node), { timeoutMs: 5000, intervalMs: 20 });
    const nsParent = await run(['unshare', '--pid', '--fork', '/bin/sleep', '1007']);
    const [nsInit] = await childrenOf(nsParent);
    await waitFor('the namespace init', () => readStatusSync(nsInit!)?.namespaceInit, { timeoutMs: 5000, intervalMs: 20 });
    const targets = [1, process.pid, process.ppid, 2, kthread, tid, nsInit!];
    const before = births([1, process.pid, process.ppid, 2, kthread, node, nsInit!]);
    const lines: string[] = [];
    const report = await killPids(targets, { graceMs: 200, log: ctx({}, lines).log });
    expect(report.signalled).toEqual([]);
    expect(report.spared.map((s) => s.pid).sort((a, b) => a - b)).toEqual([...targets].sort((a, b) => a - b));
    expect(report.spared.find((s) => s.pid === kthread)?.why).toContain('kernel thread');
    expect(report.spared.find((s) => s.pid === nsInit)?.why).toContain('init of a nested PID namespace');
    expect(report.spared.find((s) => s.pid === tid)?.why).toContain(`a thread of process ${node}`);
    expect(lines.join('\n')).toContain('not signalled:');
    expectAlive(before);
  });
});

/*
 * Runs as pid 2 of a fresh PID namespace (pid 1 is the shell that reaps), with the compiled
 * plugin: online, a crash of the daemon, the kernel handing its pid to an unrelated sleep
 * (ns_last_pid), then monitor, clean and offline. Prints one JSON line.
 */
const REUSE_SCRIPT = String.raw`
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const [pkg, root, pf] = process.argv.slice(2);
const { getResourceType } = require(pkg + '/dist/plugin/resource-types');
const { createLogger } = require(pkg + '/dist/plugin/core/log');
const { startTimeOf } = require(pkg + '/dist/plugin/proc/table');
const app = getResourceType('Application');
const attrs = {};
for (const a of app.attributes) if (a.default !== undefined) attrs[a.name] = structuredClone(a.default);
Object.assign(attrs, { StartProgram: [root + '/bin/daemon.sh', 'start', pf], PidFiles: [pf], OnlineTimeout: 10, OfflineTimeout: 10, CleanTimeout: 10 });
const resource = { id: 'test.reuse', group: 'test', name: 'reuse', type: 'Application', requires: [], attrs };
const ctx = { resource, attrs, log: createLogger(resource.id, 'agent', 'WARN', () => {}), signal: new AbortController().signal, secret: async () => undefined };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const out = {};
  out.online = await app.online(ctx);
  out.before = await app.monitor(ctx, { deep: false });
  const pid = Number(fs.readFileSync(pf, 'utf8'));
  out.pid = pid;
  const kids = fs.readFileSync('/proc/' + pid + '/task/' + pid + '/children', 'utf8').trim().split(' ').filter(Boolean).map(Number);
  for (const p of [pid, ...kids]) process.kill(p, 'SIGKILL');
  while (fs.existsSync('/proc/' + pid)) await sleep(10);
  let victim;
  for (let i = 0; i < 20 && !victim; i++) {
    fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    const c = spawn('/bin/sleep', ['1000'], { stdio: 'ignore', detached: true });
    if (c.pid === pid) victim = c; else { c.kill('SIGKILL'); await sleep(20); }
  }
  if (!victim) throw new Error('pid ' + pid + ' was not handed out again');
  while (startTimeOf(pid) === undefined || fs.readlinkSync('/proc/' + pid + '/exe') !== '/usr/bin/sleep') await sleep(10);
  out.reusedBy = fs.readlinkSync('/proc/' + pid + '/exe');
  const born = startTimeOf(pid);
  const alive = () => startTimeOf(pid) === born;
  out.monitor = await app.monitor(ctx, { deep: false });
  out.aliveAfter = { monitor: alive() };
  out.clean = await app.clean(ctx);
  out.aliveAfter.clean = alive();
  out.offline = await app.offline(ctx);
  out.aliveAfter.offline = alive();
  out.victimSurvived = alive();
  victim.kill('SIGKILL');
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e && e.message); process.exit(1); });
`;
