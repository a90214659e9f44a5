// /proc matching (matching.ts, pid-files.ts, tree.ts, table.ts): daemons of an instance root and
// not of its lookalike, pid files checked against the kernel, zombies counted as dead.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProcesses, isInstanceRoot, listInstanceProcesses, nameMatches } from '../../../plugin/proc/matching';
import { containsPath } from '../../../plugin/proc/paths';
import { checkPidFile } from '../../../plugin/proc/pid-files';
import { watchPids } from '../../../plugin/proc/pid-watch';
import { isAlive, readStat, snapshot } from '../../../plugin/proc/table';
import { treeOf } from '../../../plugin/proc/tree';
import { childrenOf, makeProcDir, removeProcDir, start, until } from './fixture';

let dir: string;

beforeAll(async () => { dir = await makeProcDir(); });
afterAll(removeProcDir);

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
    expect(await checkPidFile(pidFile)).toMatchObject({ ok: true, pid: a.pid });
    const found = await findProcesses([{ name: 'fakedaemon', root: path.join(dir, 'r1'), pidFile }]);
    expect(found.get('fakedaemon')).toContain(a.pid);
    await fs.writeFile(path.join(dir, 'stale.pid'), '999999999\n');
    expect((await checkPidFile(path.join(dir, 'stale.pid'))).ok).toBe(false);
    expect((await checkPidFile(path.join(dir, 'missing.pid'))).ok).toBe(false);
  });

  it('never trusts a thread id, a symlinked pid file, a kernel thread, a lookalike of another root, nor ourselves', async () => {
    const tid = (await fs.readdir(`/proc/${process.pid}/task`)).map(Number).find((t) => t !== process.pid)!;
    await fs.writeFile(path.join(dir, 'thread.pid'), `${tid}\n`);
    expect(await checkPidFile(path.join(dir, 'thread.pid'))).toMatchObject({ ok: false, stale: true, why: `names pid ${tid}, which is ${process.execPath} (uid 0), not this instance`, rule: `it is a thread of process ${process.pid}, not a process` });
    await fs.writeFile(path.join(dir, 'self.pid'), `${process.pid}\n`);
    expect((await checkPidFile(path.join(dir, 'self.pid'))).ok).toBe(false);
    await fs.writeFile(path.join(dir, 'kthreadd.pid'), '2\n');
    if ((await readStat(2))?.ppid === 0) expect((await checkPidFile(path.join(dir, 'kthreadd.pid'))).rule).toMatch(/kernel thread/);
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
    expect((await checkPidFile(path.join(dir, 'zombie.pid'))).ok).toBe(false);
    const exited: number[] = [];
    const w = watchPids([zombie], (pid) => exited.push(pid));
    await until(async () => exited.length === 1, 500);
    w.stop();
    expect(exited).toEqual([zombie]);
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
