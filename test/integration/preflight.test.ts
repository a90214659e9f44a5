/**
 * `msgha preflight` against real files, mounts and the sandbox's real Dovecot, Postfix and slapd
 * configurations: each failing condition is built, seen FAIL, fixed, and seen PASS. Needs root
 * (loop and tmpfs mounts). Nothing is started: the sandbox is laid out only, so its ports are
 * never bound. Everything lives under /tmp/mpf<pid> and is unmounted and removed in afterAll.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSandbox, type Sandbox } from '../fixtures/sandbox/index';
import { loopsOf, makeExt4Image } from '../helpers/loop-disk';
import { testKeyFile } from '../helpers/test-key';
import { loadClusterOrThrow } from '../../plugin/config/load';
import { runPreflight } from '../../plugin/preflight/runner';
import { checkSharedDir } from '../../plugin/preflight/shared-dir';
import type { CheckResult } from '../../plugin/preflight/result';

const base = `/tmp/mpf${process.pid}`;
const img = path.join(base, 'disk.img');
const disk = path.join(base, 'd');
const elsewhere = path.join(base, 'other');
const shared = path.join(base, 'shared');
let sb: Sandbox;

const sh = (...argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
const mounted = (dir: string): boolean => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir);

function writeCluster(name: string, mountPoint: string, extra: Record<string, unknown> = {}): string {
  const file = path.join(base, `${name}.json`);
  const app = (start: string) => ({ type: 'Application', requires: ['disk'], StartProgram: start, MonitorProcesses: [start] });
  fs.writeFileSync(file, JSON.stringify({
    cluster: { name: 'pf', nodes: ['mx1', 'mx2'], sharedDir: shared, keyFile: testKeyFile(), lease: { profile: 'nfs' } },
    groups: { mail: { resources: {
      disk: { type: 'Mount', BlockDevice: img, MountPoint: mountPoint, FSType: 'ext4' },
      imap: app(`/usr/sbin/dovecot -F -c ${path.join(sb.msgRoot, 'config', 'imapd', 'dovecot.conf')}`),
      mta: app(`/usr/lib/postfix/sbin/master -c ${path.join(sb.msgRoot, 'config', 'dispatcher')} -w`),
      ldap: app(`/usr/sbin/slapd -d 0 -f ${path.join(sb.ldapRoot, 'config', 'slapd.conf')}`),
      ...extra,
    } } },
  }, null, 2));
  return file;
}

async function check(file: string): Promise<CheckResult[]> {
  return runPreflight({ cluster: await loadClusterOrThrow(file), node: 'mx1', skipSharedDir: true });
}
const statusOf = (rs: CheckResult[], id: string): string[] => rs.filter((r) => r.id === id).map((r) => r.status);

beforeAll(async () => {
  fs.mkdirSync(disk, { recursive: true });
  fs.mkdirSync(elsewhere, { recursive: true });
  fs.mkdirSync(shared, { recursive: true });
  fs.chmodSync(base, 0o755);
  makeExt4Image(img, '64M');
  sh('mount', '-o', 'loop', img, disk);
  sb = await buildSandbox({ dir: path.join(disk, 's'), basePort: 47300 });
}, 120_000);

afterAll(async () => {
  await sb?.destroy().catch(() => undefined);
  for (const d of [shared, disk]) if (mounted(d)) sh('umount', d);
  for (const l of loopsOf(img)) sh('losetup', '-d', l);
  fs.rmSync(base, { recursive: true, force: true });
}, 60_000);

describe('preflight on the sandbox', () => {
  it('store, queue and LDAP data off the group\'s disk FAIL; on it they PASS', async () => {
    const off = await check(writeCluster('off', elsewhere));
    expect(statusOf(off, 'dovecot.store')).toEqual(['FAIL']);
    expect(statusOf(off, 'postfix.dirs')).toEqual(['FAIL', 'FAIL']);
    expect(statusOf(off, 'slapd.data')).toEqual(['FAIL']);
    expect(off.find((r) => r.id === 'slapd.data')!.detail).toContain('neither on a Mount of group mail');
    const on = await check(writeCluster('on', disk));
    expect(statusOf(on, 'dovecot.store')).toEqual(['PASS']);
    expect(statusOf(on, 'dovecot.settings')).toEqual(['PASS']);
    expect(statusOf(on, 'postfix.dirs')).toEqual(['PASS', 'PASS']);
    expect(statusOf(on, 'slapd.data')).toEqual(['PASS']);
    expect(statusOf(on, 'node.name')).toEqual(['PASS']);
    expect(statusOf(on, 'node.cluster-key')).toEqual(['PASS']);
  }, 60_000);

  it('mail_fsync = never FAILs; removed, Dovecot PASSes', async () => {
    const conf = path.join(sb.msgRoot, 'config', 'imapd', 'dovecot.conf');
    const orig = fs.readFileSync(conf, 'utf8');
    fs.writeFileSync(conf, `${orig}\nmail_fsync = never\n`);
    try {
      const bad = (await check(writeCluster('on', disk))).filter((r) => r.id === 'dovecot.settings');
      expect(bad.map((r) => r.status)).toEqual(['FAIL']);
      expect(bad[0]!.fix).toContain(`mail_fsync = optimized\` in ${conf}`);
    } finally { fs.writeFileSync(conf, orig); }
    expect(statusOf(await check(writeCluster('on', disk)), 'dovecot.settings')).toEqual(['PASS']);
  }, 60_000);

  it('two Postfix instances on one queue_directory FAIL; their own queues PASS', async () => {
    const confDir = path.join(sb.msgRoot, 'config', 'dispatcher');
    const second = path.join(sb.msgRoot, 'config', 'dispatcher2');
    fs.cpSync(confDir, second, { recursive: true });
    const mta2 = { type: 'Application', requires: ['disk'], StartProgram: `/usr/lib/postfix/sbin/master -c ${second} -w`, MonitorProcesses: [second] };
    const dup = await check(writeCluster('dup', disk, { mta2 }));
    expect(statusOf(dup, 'postfix.queue-unique')).toEqual(['FAIL']);
    const queue2 = path.join(sb.msgRoot, 'queue2');
    fs.mkdirSync(queue2);
    sh('postconf', '-c', second, '-e', `queue_directory = ${queue2}`);
    expect(statusOf(await check(writeCluster('dup', disk, { mta2 })), 'postfix.queue-unique')).toEqual([]);
  }, 60_000);

  it('an unmounted mount point writable by the service users FAILs; 755 root PASSes', async () => {
    const file = writeCluster('on', disk);
    expect(statusOf(await check(file), 'mount.unmounted-writable')).toEqual(['WARN']); // mounted here now
    sh('umount', disk);
    try {
      fs.chmodSync(disk, 0o777);
      const bad = (await check(file)).find((r) => r.id === 'mount.unmounted-writable')!;
      expect(bad.status).toBe('FAIL');
      // the disk (and the Dovecot config on it) is away: the users come from the system's mail daemons
      expect(bad.detail).toMatch(/writable by .*dovecot/);
      fs.chmodSync(disk, 0o755);
      expect(statusOf(await check(file), 'mount.unmounted-writable')).toEqual(['PASS']);
    } finally {
      fs.chmodSync(disk, 0o755);
      sh('mount', '-o', 'loop', img, disk);
    }
  }, 60_000);
});

describe('preflight of the shared directory (a tmpfs mount standing in for the storage)', () => {
  it('a shared directory others can write FAILs as the coordinator would; chmod 755 PASSes; the latency is measured and the temp file removed', async () => {
    sh('mount', '-t', 'tmpfs', '-o', 'mode=777,size=8m', 'mpf', shared);
    const cluster = await loadClusterOrThrow(writeCluster('on', disk));
    const bad = await checkSharedDir(cluster);
    const owner = bad.find((r) => r.id === 'shared-dir.owner-mode')!;
    expect(owner.status).toBe('FAIL');
    expect(owner.detail).toContain(`${shared} is writable by group or others`);
    // tmpfs is one node's memory: never shared between two nodes
    expect(bad.find((r) => r.id === 'shared-dir.mounted')!.status).toBe('FAIL');
    fs.chmodSync(shared, 0o755); // the fix the check names
    const good = await checkSharedDir(cluster);
    expect(good.find((r) => r.id === 'shared-dir.owner-mode')!.status).toBe('PASS');
    const lat = good.find((r) => r.id === 'shared-dir.latency')!;
    expect(lat.detail).toMatch(/p50 .* p99 .*T_io must be ≥ 5 × p99/);
    expect(fs.readdirSync(shared).filter((n) => n.startsWith('.msgha-preflight'))).toEqual([]);
  }, 90_000);
});
