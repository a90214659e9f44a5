/**
 * The pure rules of preflight on recorded inputs: mount tables (NFS options the sandbox cannot
 * mount), the profile advice from measured latencies, chrony/timesyncd output, slapd configs.
 */
import { describe, expect, it } from 'vitest';
import { mountOf, nfsOptionVerdicts } from '../../../plugin/preflight/mounts';
import { parseMountinfo } from '../../../plugin/proc/mountinfo';
import { latencyOf, latencyVerdict, mountVerdicts, recommendProfile } from '../../../plugin/preflight/shared-dir';
import { parseChronyTracking, parseTimesyncStatus } from '../../../plugin/preflight/node-checks';
import { slapdDirectories, storeRoot } from '../../../plugin/preflight/mail-checks';

const NFS_HARD = '120 25 0:52 / /srv/msgha rw,relatime shared:80 - nfs4 nas:/export/msgha rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,acdirmin=1,acdirmax=1,hard,proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=10.0.0.1,local_lock=none,addr=10.0.0.9';
const NFS_SOFT = NFS_HARD.replace(',hard,', ',soft,').replace('acdirmin=1,acdirmax=1,', '');
const ROOT = '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw';

describe('mount table', () => {
  it('parses mountinfo and finds the mount of a path', () => {
    const m = parseMountinfo([ROOT, NFS_HARD, '30 22 0:60 / /srv/with\\040space rw - tmpfs tmpfs rw,mode=755'].join('\n'));
    expect(mountOf(m, '/srv/msgha/.cluster')!.fsType).toBe('nfs4');
    expect(mountOf(m, '/srv/msghax')!.mountPoint).toBe('/');
    expect(mountOf(m, '/srv/with space/x')!.fsType).toBe('tmpfs');
  });

  it('soft and nocto FAIL, default directory caching WARNs, hard with acdirmax=1 passes', () => {
    const soft = parseMountinfo(NFS_SOFT)[0]!;
    const v = nfsOptionVerdicts(soft.options, soft.mountPoint, 2000);
    expect(v.map((x) => x.level)).toEqual(['FAIL', 'WARN']);
    expect(v[0]!.text).toMatch(/soft/);
    expect(v[1]!.text).toMatch(/60 s/);
    expect(nfsOptionVerdicts([...soft.options, 'nocto'], '/srv/msgha', 2000).some((x) => /nocto/.test(x.text))).toBe(true);
    const hard = parseMountinfo(NFS_HARD)[0]!;
    expect(nfsOptionVerdicts(hard.options, hard.mountPoint, 2000)).toEqual([]);
    expect(nfsOptionVerdicts(['rw', 'hard', 'noac'], '/x', 2000)).toEqual([]);
  });

  it('an NFS shared directory passes; the root file system FAILs for two nodes', () => {
    const mounts = parseMountinfo([ROOT, NFS_HARD].join('\n'));
    const ok = mountVerdicts('/srv/msgha', '/srv/msgha', mountOf(mounts, '/srv/msgha'), mounts, 2, 2000);
    expect(ok.map((r) => `${r.id} ${r.status}`)).toEqual(['shared-dir.mounted PASS', 'shared-dir.nfs-options PASS']);
    const local = mountVerdicts('/var/msgha', '/var/msgha', mountOf(mounts, '/var/msgha'), mounts, 2, 2000);
    expect(local[0]).toMatchObject({ status: 'FAIL', id: 'shared-dir.mounted' });
    expect(local[0]!.fix).toMatch(/mount /);
    const soft = parseMountinfo([ROOT, NFS_SOFT].join('\n'));
    expect(mountVerdicts('/srv/msgha', '/srv/msgha', mountOf(soft, '/srv/msgha'), soft, 2, 2000).filter((r) => r.status === 'FAIL').map((r) => r.id)).toEqual(['shared-dir.nfs-options']);
  });
});

describe('lease I/O latency and the profile', () => {
  it('percentiles by nearest rank', () => {
    const l = latencyOf(Array.from({ length: 100 }, (_, i) => i + 1))!;
    expect([l.p50Ms, l.p99Ms, l.maxMs]).toEqual([50, 99, 100]);
    expect(latencyOf([])).toBeUndefined();
  });

  it('advises the profile whose T_io is at least 5 × p99 for the storage', () => {
    expect(recommendProfile('nfs', 20)).toBe('nfs');
    expect(recommendProfile('block', 10)).toBe('fast');
    expect(recommendProfile('block', 200)).toBe('local');
    expect(recommendProfile('cluster-fs', 600)).toBe('nfs');
    expect(recommendProfile('nfs', 1500)).toBeUndefined();
  });

  it('FAILs a configured profile that breaks T4 and names the one to use', () => {
    const slow = { samples: 100, p50Ms: 50, p99Ms: 200, maxMs: 300 };
    const r = latencyVerdict('/srv/msgha', slow, 'nfs', 'fast');
    expect(r.status).toBe('FAIL');
    expect(r.fix).toMatch(/profile: 'nfs'/);
    expect(latencyVerdict('/srv/msgha', slow, 'nfs', 'nfs').status).toBe('PASS');
    expect(latencyVerdict('/srv/msgha', { ...slow, p99Ms: 5000 }, 'nfs', 'nfs').fix).toMatch(/too slow for every profile/);
  });
});

describe('parsers', () => {
  it('reads chrony and timesyncd offsets', () => {
    const chrony = 'Reference ID    : C0A80001 (ntp)\nSystem time     : 1.500000000 seconds slow of NTP time\nLeap status     : Normal\n';
    expect(parseChronyTracking(chrony)).toEqual({ offsetS: 1.5, synced: true });
    expect(parseChronyTracking(chrony.replace('Normal', 'Not synchronised')).synced).toBe(false);
    expect(parseTimesyncStatus('       Server: 10.0.0.1\n       Offset: -2.345ms\n').offsetS).toBeCloseTo(0.002345);
    expect(parseTimesyncStatus('nothing')).toEqual({});
  });

  it('finds the store and slapd database directories', () => {
    expect(storeRoot('maildir:/srv/mail/store/%n/Maildir:INDEX=/x')).toBe('/srv/mail/store');
    expect(storeRoot('mdbox:~/mdbox')).toBeUndefined();
    expect(slapdDirectories('database mdb\ndirectory "/srv/ldap/db"\n#directory /no\n', '/etc/ldap/slapd.conf')).toEqual(['/srv/ldap/db']);
  });
});
