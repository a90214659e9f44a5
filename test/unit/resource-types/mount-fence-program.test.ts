// Mount's FenceProgram (the storage fence): run before every mount with what it needs in its
// environment; its failure leaves the device unmounted, with the program's own words in the
// reason. On a loop-mounted ext4 image; needs root, like the Mount agent.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mountType } from '../../../plugin/resource-types/mount';
import { parseMountinfo } from '../../../plugin/proc/mountinfo';
import { agentContext, resolvedResource } from '../../contract/agent-context';
import { loopsOf, makeExt4Image } from '../../helpers/loop-disk';

const dir = fs.mkdtempSync('/tmp/mh-mfence-');
const img = path.join(dir, 'disk.img');
const mp = path.join(dir, 'mnt');
const said = path.join(dir, 'said.env');
const script = path.join(dir, 'fence.sh');
const mounted = (): boolean => parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).some((e) => e.mountPoint === mp);
const ctx = (fence: string[]) => agentContext(resolvedResource('Mount', 'disk',
  { BlockDevice: img, MountPoint: mp, FSType: 'ext4', EpochMarker: false, FenceProgram: fence }, 'mail'), { node: 'mx2' });

beforeAll(() => {
  makeExt4Image(img, '16M');
  fs.mkdirSync(mp);
  // Records its environment and whether the disk was already mounted when it ran.
  fs.writeFileSync(script, [
    '#!/bin/sh',
    `env | grep '^MSGHA_' | sort > ${said}`,
    `if grep -q ' ${mp} ' /proc/self/mountinfo; then echo mounted-before >> ${said}; fi`,
    'if [ "$1" = refuse ]; then echo "reservation held by mx1 (key 0x6d7831)" >&2; exit 3; fi',
    'echo "registered, reservation taken"',
  ].join('\n'), { mode: 0o755 });
});

afterEach(async () => { if (mounted()) await mountType.offline(ctx([script])); });

afterAll(() => {
  for (let i = 0; i < 3 && mounted(); i++) { try { execFileSync('umount', ['-l', mp]); } catch { /* next */ } }
  for (const l of loopsOf(img)) { try { execFileSync('losetup', ['-d', l], { stdio: 'ignore' }); } catch { /* busy */ } }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('Mount FenceProgram', () => {
  it('claims the device before mounting it, told node, group, device, mount point and epoch', async () => {
    const lines: string[] = [];
    const r = await mountType.online(agentContext(resolvedResource('Mount', 'disk',
      { BlockDevice: img, MountPoint: mp, FSType: 'ext4', EpochMarker: false, FenceProgram: [script] }, 'mail'), { node: 'mx2', lines, level: 'INFO' }));
    expect(r).toMatchObject({ ok: true });
    expect(mounted()).toBe(true);
    const env = fs.readFileSync(said, 'utf8').trim().split('\n');
    expect(env).toEqual([
      `MSGHA_DEVICE=${img}`, 'MSGHA_EPOCH=0', 'MSGHA_FENCE_ACTION=claim', 'MSGHA_GROUP=mail', `MSGHA_MOUNT_POINT=${mp}`, 'MSGHA_NODE=mx2',
    ]);
    expect(lines.join('\n')).toContain('storage fence: ' + img + ' claimed for this node (registered, reservation taken)');
  });

  it('mounts nothing when the fence fails, and says what the program said', async () => {
    const r = await mountType.online(ctx([script, 'refuse']));
    expect(r).toMatchObject({ ok: false, recovery: 'restartable' });
    expect(r.reason).toMatch(/^FenceProgram exited with code 3: .*reservation held by mx1 \(key 0x6d7831\).* not mounted$/);
    expect(mounted()).toBe(false);
  });

  it('is not run when the disk is already mounted here (a repeated online changes nothing)', async () => {
    expect(await mountType.online(ctx([script]))).toMatchObject({ ok: true });
    fs.rmSync(said);
    expect(await mountType.online(ctx([script, 'refuse']))).toMatchObject({ ok: true });
    expect(fs.existsSync(said)).toBe(false);
  });
});
