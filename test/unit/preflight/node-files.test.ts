/**
 * The node checks on real files: key files with the wrong owner or mode, enabled units as the
 * links `systemctl enable` and update-rc.d make, PM2's boot unit, a missing cgroup v2, and
 * Dovecot's settings read by the real doveconf. Each condition FAILs, then is fixed and PASSes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNewKey } from '../../../plugin/secrets/key-file';
import { checkCgroupV2, checkClusterKey, checkDistributionUnits, checkPm2Startup } from '../../../plugin/preflight/node-checks';
import { dovecotVerdicts, parseDoveconf, DOVECOT_KEYS } from '../../../plugin/preflight/mail-checks';
import type { ResolvedCluster } from '../../../plugin/model/cluster-types';
import { execProgram } from '../../../plugin/core/exec';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), `msgha-pf-${process.pid}-`));
fs.chmodSync(dir, 0o755);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cluster = (keyFile: string): ResolvedCluster => ({ file: '/etc/msgha/c.json', groups: [], settings: { name: 't', nodes: ['a', 'b'], sharedDir: '/srv/msgha', keyFile } });

describe('cluster key', () => {
  it('missing, world-readable, owned by nobody: FAIL with the fix; 0600 root: PASS', () => {
    const kd = path.join(dir, 'key');
    fs.mkdirSync(kd, { mode: 0o700 });
    const key = path.join(kd, 'cluster.key');
    const missing = checkClusterKey(cluster(key));
    expect(missing).toMatchObject({ status: 'FAIL', id: 'node.cluster-key' });
    expect(missing.fix).toMatch(/msgha keygen --key-file/);
    writeNewKey(key);
    fs.chmodSync(key, 0o644);
    const loose = checkClusterKey(cluster(key));
    expect(loose.status).toBe('FAIL');
    expect(loose.detail).toContain(key);
    expect(loose.fix).toMatch(/chmod 600/);
    fs.chmodSync(key, 0o600);
    fs.chownSync(key, 65534, 65534);
    expect(checkClusterKey(cluster(key)).status).toBe('FAIL');
    fs.chownSync(key, 0, 0);
    expect(checkClusterKey(cluster(key)).status).toBe('PASS');
  });
});

describe('boot', () => {
  it('an enabled distribution unit FAILs (wants link, rc link); disabled PASSes', async () => {
    const etc = path.join(dir, 'etc');
    const wants = path.join(etc, 'systemd', 'system', 'multi-user.target.wants');
    fs.mkdirSync(wants, { recursive: true });
    fs.mkdirSync(path.join(etc, 'rc2.d'));
    fs.mkdirSync(path.join(etc, 'init.d'));
    fs.writeFileSync(path.join(etc, 'init.d', 'slapd'), '#!/bin/sh\n');
    fs.symlinkSync('/lib/systemd/system/dovecot.service', path.join(wants, 'dovecot.service'));
    fs.symlinkSync('../init.d/slapd', path.join(etc, 'rc2.d', 'S01slapd'));
    const before = await checkDistributionUnits(['dovecot', 'slapd'], etc);
    expect(before.filter((r) => r.status === 'FAIL').map((r) => r.subject)).toEqual(['dovecot.service', 'slapd.service']);
    expect(before.find((r) => r.subject === 'dovecot.service')!.fix).toMatch(/systemctl disable --now dovecot.service/);
    fs.rmSync(path.join(wants, 'dovecot.service'));
    fs.renameSync(path.join(etc, 'rc2.d', 'S01slapd'), path.join(etc, 'rc2.d', 'K01slapd'));
    const after = await checkDistributionUnits(['dovecot', 'slapd'], etc);
    expect(after.every((r) => r.status === 'PASS')).toBe(true);
  });

  it('PM2 without a boot unit FAILs; pm2-root.service enabled PASSes', () => {
    const sd = path.join(dir, 'sd');
    fs.mkdirSync(path.join(sd, 'multi-user.target.wants'), { recursive: true });
    expect(checkPm2Startup(sd)).toMatchObject({ status: 'FAIL' });
    fs.writeFileSync(path.join(sd, 'pm2-root.service'), '[Unit]\n');
    expect(checkPm2Startup(sd).fix).toBe('systemctl enable pm2-root.service');
    fs.symlinkSync(path.join(sd, 'pm2-root.service'), path.join(sd, 'multi-user.target.wants', 'pm2-root.service'));
    expect(checkPm2Startup(sd).status).toBe('PASS');
  });

  it('no cgroup.controllers FAILs; present PASSes', () => {
    const cg = path.join(dir, 'cg');
    fs.mkdirSync(cg);
    expect(checkCgroupV2(cg).status).toBe('FAIL');
    fs.writeFileSync(path.join(cg, 'cgroup.controllers'), 'cpu memory pids\n');
    expect(checkCgroupV2(cg).status).toBe('PASS');
  });
});

describe('Dovecot on NFS (settings read by the real doveconf)', () => {
  it('Debian defaults FAIL for an NFS store; the NFS settings PASS', async () => {
    const conf = path.join(dir, 'dovecot.conf');
    fs.writeFileSync(conf, 'mail_location = maildir:/srv/mail/%n\nmail_nfs_index = yes\nmail_nfs_storage = yes\n');
    const read = async () => parseDoveconf((await execProgram(['doveconf', '-c', conf, ...DOVECOT_KEYS], { timeoutMs: 15_000 })).stdout);
    const before = dovecotVerdicts(await read(), 'nfs', conf);
    expect(before.map((r) => `${r.status} ${r.subject.split(' ')[1]}`)).toEqual(['FAIL mmap_disable', 'FAIL mail_fsync', 'WARN mail_nfs_storage', 'WARN mail_nfs_index']);
    expect(before[0]!.fix).toContain(`mmap_disable = yes\` in ${conf}`);
    fs.writeFileSync(conf, 'mail_location = maildir:/srv/mail/%n\nmmap_disable = yes\nmail_fsync = always\n');
    expect(dovecotVerdicts(await read(), 'nfs', conf).map((r) => r.status)).toEqual(['PASS']);
    expect(dovecotVerdicts(await read(), 'block', conf).map((r) => r.status)).toEqual(['PASS']);
  });
});
