// The Mount agent with a loop-mounted ext4 image: mount, epoch marker written, idempotent online,
// refusal when the device is mounted elsewhere or the mount point is busy, refusal (and
// unmount) when the volume carries a newer epoch, status-file monitor, offline, and clean
// killing the processes that hold the mount. Cleans mounts and loop devices even on failure.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountType, readMarker } from '../../plugin/resource-types/mount';
import { parseMountinfo } from '../../plugin/proc/mountinfo';
import { setLeaseHooks } from '../../plugin/lease/hooks';
import { agentContext, resolvedResource } from '../contract/agent-context';
import { loopsOf, makeExt4Image } from '../helpers/loop-disk';
import { waitFor } from '../helpers/pm2';

const dir = fs.mkdtempSync('/tmp/mh-mnt-');
const img = path.join(dir, 'disk.img');
const mp = path.join(dir, 'mnt');
const mp2 = path.join(dir, 'mnt2');
let epoch = 3;
const ctx = (extra: Record<string, unknown> = {}, mountPoint = mp) =>
  agentContext(resolvedResource('Mount', 'disk', { BlockDevice: img, MountPoint: mountPoint, FSType: 'ext4', ...extra }, 'mail'));
const mounted = (p: string): boolean => parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).some((e) => e.mountPoint === p);


beforeAll(() => {
  makeExt4Image(img, '64M');
  fs.mkdirSync(mp);
  fs.mkdirSync(mp2);
  setLeaseHooks({ serveUntilMono: () => 'forever', epoch: () => epoch });
});

afterAll(() => {
  setLeaseHooks(undefined);
  for (const p of [mp, mp2]) for (let i = 0; i < 3 && mounted(p); i++) { try { execFileSync('umount', ['-l', p]); } catch { /* next */ } }
  for (const l of loopsOf(img)) { try { execFileSync('losetup', ['-d', l]); } catch { /* busy */ } }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('Mount agent on a loop-mounted ext4 image', () => {
  it('online mounts (with fsck) and writes the epoch marker; online again is idempotent', async () => {
    expect(await mountType.online(ctx({ FsckOpt: '-p' }))).toMatchObject({ ok: true });
    expect(mounted(mp)).toBe(true);
    expect(readMarker(mp)).toBe(3);
    expect(await mountType.online(ctx())).toMatchObject({ ok: true });
    expect((await mountType.monitor(ctx({ StatusFile: true }), { deep: false })).state).toBe('ONLINE');
  });

  it('refuses a second mount of the same device, and a busy mount point', async () => {
    const r = await mountType.online(ctx({}, mp2));
    expect(r).toMatchObject({ ok: false, recovery: 'configuration' });
    expect(r.reason).toMatch(/already mounted on .*mnt in this node's view/);
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', mp2]);
    try {
      const other = agentContext(resolvedResource('Mount', 'd2', { BlockDevice: path.join(dir, 'other.img'), MountPoint: mp2, FSType: 'ext4' }, 'mail'));
      fs.writeFileSync(path.join(dir, 'other.img'), '');
      const b = await mountType.online(other);
      expect(b).toMatchObject({ ok: false, recovery: 'configuration' });
      expect(b.reason).toMatch(/mount point .*mnt2 is busy: tmpfs/);
    } finally {
      execFileSync('umount', [mp2]);
    }
  });

  it('offline unmounts (and again is fine); the loop device goes away', async () => {
    expect(await mountType.offline(ctx())).toMatchObject({ ok: true });
    expect(mounted(mp)).toBe(false);
    expect(await mountType.offline(ctx())).toMatchObject({ ok: true });
    expect((await mountType.monitor(ctx(), { deep: false })).state).toBe('OFFLINE');
    // The kernel detaches an autoclear loop device on its last close, which may come a moment
    // after the umount returns (seen once when this file ran beside another).
    await waitFor('the loop device of the image to go away', () => loopsOf(img).length === 0, { timeoutMs: 5000, intervalMs: 50 }).catch(() => undefined);
    expect(loopsOf(img)).toEqual([]);
  });

  it('a newer epoch on the volume refuses (fenced) and leaves it unmounted', async () => {
    epoch = 2;
    const r = await mountType.online(ctx());
    expect(r).toMatchObject({ ok: false, recovery: 'configuration' });
    expect(r.reason).toMatch(/fenced: .* carries epoch 3, newer than this node's lease epoch 2/);
    expect(mounted(mp)).toBe(false);
    epoch = 4;
    expect(await mountType.online(ctx())).toMatchObject({ ok: true });
    expect(readMarker(mp)).toBe(4);
  });

  it('monitor reports a fenced volume when another node wrote a newer epoch', async () => {
    fs.writeFileSync(path.join(mp, '.cluster-epoch'), '9\n');
    const m = await mountType.monitor(ctx(), { deep: false });
    expect(m).toMatchObject({ state: 'OFFLINE', recovery: 'configuration' });
    fs.writeFileSync(path.join(mp, '.cluster-epoch'), '4\n');
  });

  it('offline fails while a process holds the mount; clean kills the holders and unmounts', async () => {
    const holder = spawn('/bin/sleep', ['100'], { cwd: mp, stdio: 'ignore' });
    const writer = spawn('/bin/sh', ['-c', `exec 3>${mp}/held; sleep 100`], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 200));
    const off = await mountType.offline(ctx());
    expect(off.ok).toBe(false);
    expect(off.reason).toMatch(new RegExp(`held by pids .*${holder.pid}`));
    const c = await mountType.clean(ctx());
    expect(c).toMatchObject({ ok: true });
    expect(c.reason).toMatch(/killed holders/);
    expect(mounted(mp)).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(holder.exitCode !== null || holder.signalCode !== null).toBe(true);
    expect(writer.exitCode !== null || writer.signalCode !== null).toBe(true);
  });
});
