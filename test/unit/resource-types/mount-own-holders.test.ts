// Self-fencing agents never kill each other (issue 8, item 3): the Mount agent's clean kills the
// processes holding the mount EXCEPT our own — here a Node script under the package root that
// keeps its pid file on the mount open, as an agent reading it does — on a loop-mounted ext4
// image. The unrelated holder (a shell with its cwd on the mount) is killed; the volume ends up
// unmounted (lazily, since our process still holds it). Needs root, like the Mount agent.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findHolders, mountType } from '../../../plugin/resource-types/mount';
import { parseMountinfo } from '../../../plugin/proc/mountinfo';
import { isAlive } from '../../../plugin/proc/table';
import { ownProcess } from '../../../plugin/proc/own';
import { agentContext, resolvedResource } from '../../contract/agent-context';
import { loopsOf, makeExt4Image } from '../../helpers/loop-disk';
import { waitFor } from '../../helpers/pm2';

const OWN_SCRIPT = path.resolve(__dirname, '../../fixtures/own/own-process.cjs');
const dir = fs.mkdtempSync('/tmp/mh-mown-');
const img = path.join(dir, 'disk.img');
const mp = path.join(dir, 'mnt');
const ctx = () => agentContext(resolvedResource('Mount', 'disk', { BlockDevice: img, MountPoint: mp, FSType: 'ext4', EpochMarker: false }, 'mail'));
const mounted = (): boolean => parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).some((e) => e.mountPoint === mp);
const started: ChildProcess[] = [];


beforeAll(() => {
  makeExt4Image(img, '16M');
  fs.mkdirSync(mp);
});

afterAll(() => {
  for (const c of started) { try { process.kill(c.pid!, 'SIGKILL'); } catch { /* gone */ } }
  for (let i = 0; i < 3 && mounted(); i++) { try { execFileSync('umount', ['-l', mp]); } catch { /* next */ } }
  for (const l of loopsOf(img)) { try { execFileSync('losetup', ['-d', l], { stdio: 'ignore' }); } catch { /* busy */ } }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('Mount clean with our own process holding the mount', () => {
  it('kills the other holders, never ours', async () => {
    expect(await mountType.online(ctx())).toMatchObject({ ok: true });
    expect(mounted()).toBe(true);
    const pidFile = path.join(mp, 'master.pid');
    fs.writeFileSync(pidFile, '4242\n');

    const agent = spawn(process.execPath, [OWN_SCRIPT, pidFile], { stdio: ['ignore', 'pipe', 'ignore'], cwd: '/' });
    started.push(agent);
    await new Promise<void>((resolve, reject) => {
      agent.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
      agent.once('exit', () => reject(new Error('own-process.cjs exited')));
    });
    const stranger = spawn('/bin/sh', ['-c', 'exec sleep 1000'], { stdio: 'ignore', cwd: mp });
    started.push(stranger);
    await waitFor('both holders seen', () => {
      const h = findHolders(mp);
      return h.includes(agent.pid!) && h.includes(stranger.pid!);
    }, { timeoutMs: 5000, intervalMs: 20 });
    expect(ownProcess(agent.pid!)).toBeDefined();

    const r = await mountType.clean(ctx());
    expect(r.ok, r.reason).toBe(true);
    expect(r.reason).toContain(`spared our own processes ${agent.pid}`);
    expect(r.reason).toContain(`killed holders ${stranger.pid}`);
    expect(await isAlive(agent.pid!)).toBe(true);
    await waitFor('stranger gone', async () => !(await isAlive(stranger.pid!)), { timeoutMs: 5000, intervalMs: 20 });
    expect(mounted()).toBe(false);
  });
});
