import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/pm2';
import {
  checkPidFile, containsPath, isInstanceRoot, findProcesses, isAlive, listInstanceProcesses, nameMatches, readPidFile, readStat, snapshot,
  treeOf, watchPids,
} from '../../../plugin/proc/processes';

let dir: string;
const children: ChildProcess[] = [];

function start(argv0: string, args: string[], cwd = '/'): ChildProcess {
  const c = spawn(argv0, args, { stdio: 'ignore', cwd, detached: true });
  children.push(c);
  return c;
}

async function childrenOf(ppid: number): Promise<number[]> {
  const out: number[] = [];
  for (const e of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = await readStat(Number(e));
    if (st?.ppid === ppid) out.push(st.pid);
  }
  return out;
}

const until = async (check: () => Promise<boolean>, ms = 3000): Promise<void> => {
  await waitFor('condition', check, { timeoutMs: ms, intervalMs: 20 });
};

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mh-proc-'));
  await fs.mkdir(path.join(dir, 'r1', 'bin'), { recursive: true });
  await fs.mkdir(path.join(dir, 'r12', 'bin'), { recursive: true });
  await fs.symlink('/bin/sleep', path.join(dir, 'r1', 'bin', 'fakedaemon'));
  await fs.symlink('/bin/sleep', path.join(dir, 'r12', 'bin', 'fakedaemon'));
  await fs.writeFile(path.join(dir, 'r1', 'bin', 'parent.sh'), '#!/bin/sh\ncd /\n/bin/sleep 302 &\nwait\n', { mode: 0o755 });
});

afterAll(async () => {
  for (const c of children) { try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ } }
  await fs.rm(dir, { recursive: true, force: true });
});

describe('name and path matching', () => {
  it.each([
    [['/srv/msg/lib/stored', '-d'], 'stored', true],
    [['node', '/srv/msg/lib/stored', '-d'], 'stored', true],
    [['/usr/sbin/dovecot', '-F', '-c', '/srv/msg/config/imapd/dovecot.conf'], 'imapd', true],
    [['stored -d /srv/msg'], 'stored', true],
    [['node', '/srv/msg/lib/msstart', '-k', 'sched', 'store', 'watcher'], 'sched', false],
    [['/srv/msg/lib/storedx'], 'stored', false],
    [['/srv/msg/bin/ns-slapd', '-f', '/srv/slapd.conf'], 'ns-slapd', true],
  ])('%j has daemon %s: %s', (argv, name, expected) => {
    expect(nameMatches(argv, name)).toBe(expected);
  });

  it('tells instance roots from system directories', () => {
    expect(isInstanceRoot('/sunone/msg')).toBe(true);
    expect(isInstanceRoot('/tmp/mh-ct-22000/msg')).toBe(true);
    expect(isInstanceRoot('/usr/')).toBe(false);
    expect(isInstanceRoot('msg')).toBe(false);
  });

  it('matches a root only as a whole path', () => {
    expect(containsPath('/usr/bin/x -c /srv/msg/config', '/srv/msg')).toBe(true);
    expect(containsPath('/usr/bin/x -c /srv/msg', '/srv/msg')).toBe(true);
    expect(containsPath('/usr/bin/x -c /srv/msg2/config', '/srv/msg')).toBe(false);
    expect(containsPath('/usr/bin/x -c /srv/msg2/a /srv/msg/b', '/srv/msg/')).toBe(true);
  });
});

describe('findProcesses', () => {
  it('finds a daemon of its root and not the lookalike of another root', async () => {
    const a = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['300']);
    const b = start(path.join(dir, 'r12', 'bin', 'fakedaemon'), ['300']);
    await until(async () => (await snapshot(0)).some((p) => p.pid === b.pid && p.cmdline.includes('fakedaemon')));
    const found = await findProcesses([{ name: 'fakedaemon', root: path.join(dir, 'r1') }, { name: 'nothere', root: path.join(dir, 'r1') }], { fresh: true });
    expect(found.get('fakedaemon')).toEqual([a.pid]);
    expect(found.get('nothere')).toEqual([]);
    const self = await snapshot(0);
    expect(self.some((p) => p.pid === process.pid)).toBe(false);
  });

  it('uses a valid pid file and ignores a stale one', async () => {
    const a = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['303']);
    const pidFile = path.join(dir, 'good.pid');
    await fs.writeFile(pidFile, `${a.pid}\n`);
    expect(await readPidFile(pidFile)).toBe(a.pid);
    const found = await findProcesses([{ name: 'fakedaemon', root: path.join(dir, 'r1'), pidFile }]);
    expect(found.get('fakedaemon')).toContain(a.pid);
    await fs.writeFile(path.join(dir, 'stale.pid'), '999999999\n');
    expect(await readPidFile(path.join(dir, 'stale.pid'))).toBeUndefined();
    expect(await readPidFile(path.join(dir, 'missing.pid'))).toBeUndefined();
  });

  it('never trusts a thread id, a symlinked pid file, a kernel thread, a lookalike of another root, nor ourselves', async () => {
    const tid = (await fs.readdir(`/proc/${process.pid}/task`)).map(Number).find((t) => t !== process.pid)!;
    await fs.writeFile(path.join(dir, 'thread.pid'), `${tid}\n`);
    expect(await checkPidFile(path.join(dir, 'thread.pid'))).toMatchObject({ ok: false, stale: true, why: `names pid ${tid}, a thread of process ${process.pid}, not a process` });
    await fs.writeFile(path.join(dir, 'self.pid'), `${process.pid}\n`);
    expect(await readPidFile(path.join(dir, 'self.pid'))).toBeUndefined();
    await fs.writeFile(path.join(dir, 'kthreadd.pid'), '2\n');
    if ((await readStat(2))?.ppid === 0) expect((await checkPidFile(path.join(dir, 'kthreadd.pid'))).why).toMatch(/kernel thread/);
    const a = start(path.join(dir, 'r12', 'bin', 'fakedaemon'), ['306']);
    await until(async () => (await snapshot(0)).some((p) => p.pid === a.pid && p.cmdline.includes('306')));
    await fs.writeFile(path.join(dir, 'a.pid'), `${a.pid}\n`);
    await fs.symlink(path.join(dir, 'a.pid'), path.join(dir, 'link.pid'));
    expect(await checkPidFile(path.join(dir, 'link.pid'))).toMatchObject({ ok: false, stale: false, why: 'is a symbolic link (not followed)' });
    const found = await findProcesses([{ name: 'fakedaemon', root: path.join(dir, 'r1'), pidFile: path.join(dir, 'a.pid') }], { fresh: true });
    expect(found.get('fakedaemon')).not.toContain(a.pid);
  });

  it('walks a process tree through the children files, with start times', async () => {
    const p = start(path.join(dir, 'r1', 'bin', 'parent.sh'), []);
    await until(async () => (await childrenOf(p.pid!)).length === 1);
    const tree = treeOf([p.pid!]);
    expect([...tree.keys()].sort()).toEqual([p.pid!, ...(await childrenOf(p.pid!))].sort());
    expect(tree.get(p.pid!)).toBe((await readStat(p.pid!))!.starttime);
  });

  it('matches substrings of the whole command line', async () => {
    const a = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['304', '305']);
    await until(async () => (await snapshot(0)).some((p) => p.pid === a.pid && p.cmdline.includes('304')));
    const found = await findProcesses([{ name: 'fakedaemon 304 305', match: 'substring' }], { fresh: true });
    expect(found.get('fakedaemon 304 305')).toEqual([a.pid]);
  });
});

describe('zombies', () => {
  it('count as dead for isAlive, pid files and watchPids', async () => {
    // The shell execs a sleep that never waits for its background child: that child becomes a zombie.
    const p = start('/bin/sh', ['-c', '/bin/sleep 0.1 & exec /bin/sleep 300']);
    let zombie = 0;
    await until(async () => {
      for (const pid of await childrenOf(p.pid!)) if ((await readStat(pid))?.state === 'Z') zombie = pid;
      return zombie > 0;
    });
    expect(await isAlive(zombie)).toBe(false);
    await fs.writeFile(path.join(dir, 'zombie.pid'), String(zombie));
    expect(await readPidFile(path.join(dir, 'zombie.pid'))).toBeUndefined();
    const exited: number[] = [];
    const w = watchPids([zombie], (pid) => exited.push(pid));
    await until(async () => exited.length === 1, 500);
    w.stop();
    expect(exited).toEqual([zombie]);
  });
});

describe('watchPids', () => {
  it('notices the exit of a known pid within 300 ms', async () => {
    const a = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['306']);
    const b = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['307']);
    await until(async () => isAlive(b.pid!));
    const exits: { pid: number; at: number }[] = [];
    const w = watchPids([a.pid!, b.pid!], (pid) => exits.push({ pid, at: Date.now() }));
    await new Promise((r) => setTimeout(r, 400));
    expect(exits).toEqual([]);
    const killedAt = Date.now();
    process.kill(a.pid!, 'SIGKILL');
    await until(async () => exits.length === 1, 1000);
    expect(exits[0]!.pid).toBe(a.pid);
    expect(exits[0]!.at - killedAt).toBeLessThan(300);
    w.stop();
  });
});

describe('watchPids (shared timer)', () => {
  it('serves several watches with their own intervals; stop() inside a callback ends that watch only', async () => {
    const a = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['310']);
    const b = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['311']);
    const c = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['312']);
    await until(async () => (await isAlive(a.pid!)) && (await isAlive(b.pid!)) && (await isAlive(c.pid!)));
    const seen: string[] = [];
    const w1 = watchPids([a.pid!, b.pid!], (pid) => { seen.push(`w1:${pid}`); w1.stop(); }, 50);
    const w2 = watchPids([c.pid!], (pid) => seen.push(`w2:${pid}`), 200);
    process.kill(a.pid!, 'SIGKILL');
    process.kill(b.pid!, 'SIGKILL');
    await until(async () => seen.length >= 1, 1000);
    await new Promise((r) => setTimeout(r, 150));
    // Both exited in the same sweep, but w1 was stopped by its first callback.
    expect(seen).toHaveLength(1);
    expect([`w1:${a.pid}`, `w1:${b.pid}`]).toContain(seen[0]);
    const killedAt = Date.now();
    process.kill(c.pid!, 'SIGKILL');
    await until(async () => seen.length === 2, 1000);
    expect(seen[1]).toBe(`w2:${c.pid}`);
    expect(Date.now() - killedAt).toBeLessThan(450);
    w2.stop();
  });

  it('reports a pid that is already gone at once, and nothing after stop()', async () => {
    const exits: number[] = [];
    const w = watchPids([2 ** 22 + 12345], (pid) => exits.push(pid));
    await until(async () => exits.length === 1, 500);
    w.stop();
    const d = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['313']);
    await until(async () => isAlive(d.pid!));
    const late: number[] = [];
    const w2 = watchPids([d.pid!], (pid) => late.push(pid), 20);
    w2.stop();
    process.kill(d.pid!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 150));
    expect(late).toEqual([]);
  });
});

describe('findProcesses re-check of known processes', () => {
  it('finds the same process again without a rescan, and a replacement after it is gone', async () => {
    await fs.mkdir(path.join(dir, 'r3', 'bin'), { recursive: true });
    await fs.symlink('/bin/sleep', path.join(dir, 'r3', 'bin', 'fakedaemon'));
    const m = { name: 'fakedaemon', root: path.join(dir, 'r3') };
    const first = start(path.join(dir, 'r3', 'bin', 'fakedaemon'), ['320']);
    await until(async () => isAlive(first.pid!));
    expect((await findProcesses([m], { fresh: true })).get('fakedaemon')).toEqual([first.pid]);
    expect((await findProcesses([m])).get('fakedaemon')).toEqual([first.pid]);
    process.kill(first.pid!, 'SIGKILL');
    await until(async () => !(await isAlive(first.pid!)));
    const second = start(path.join(dir, 'r3', 'bin', 'fakedaemon'), ['321']);
    await until(async () => isAlive(second.pid!));
    // The known pid is gone: the next look rescans and finds the replacement.
    expect((await findProcesses([m])).get('fakedaemon')).toEqual([second.pid]);
    process.kill(second.pid!, 'SIGKILL');
    await until(async () => !(await isAlive(second.pid!)));
    expect((await findProcesses([m])).get('fakedaemon')).toEqual([]);
  });
});

describe('listInstanceProcesses', () => {
  it('refuses system-wide and relative roots', async () => {
    for (const root of ['/', '/usr', '/usr/', '/opt', '/tmp', 'relative/dir']) {
      expect(await listInstanceProcesses(root)).toEqual([]);
    }
  });

  it('finds processes by root in the command line, by cwd under root, and their descendants', async () => {
    const r1 = path.join(dir, 'r1');
    const byCmd = start(path.join(r1, 'bin', 'fakedaemon'), ['308']);
    const byCwd = start('/bin/sleep', ['309'], path.join(r1, 'bin'));
    const parent = start(path.join(r1, 'bin', 'parent.sh'), []);
    const other = start(path.join(dir, 'r12', 'bin', 'fakedaemon'), ['310']);
    let child = 0;
    await until(async () => { child = (await childrenOf(parent.pid!))[0] ?? 0; return child > 0; });
    const pids = await listInstanceProcesses(r1);
    expect(pids).toEqual(expect.arrayContaining([byCmd.pid, byCwd.pid, parent.pid, child]));
    expect(pids).not.toContain(other.pid);
    expect(pids).not.toContain(process.pid);
  });
});
