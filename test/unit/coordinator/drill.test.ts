/**
 * drill <group> against a fake node: roots and programs, ports, the VIP, the shared disk —
 * and paths on an unmounted shared disk reported as "checked when mounted", not as failures.
 */
import { describe, expect, it } from 'vitest';
import type { ResolvedGroup, ResolvedResource } from '../../../plugin/model/cluster-types';
import { drillGroup, type DrillEnv, type PathInfo } from '../../../plugin/coordinator/drill';

const dir: PathInfo = { dir: true, file: false, block: false, readable: true, executable: true };
const exe: PathInfo = { dir: false, file: true, block: false, readable: true, executable: true };
const block: PathInfo = { dir: false, file: false, block: true, readable: true, executable: false };

function env(over: Partial<DrillEnv> & { files?: Record<string, PathInfo> } = {}): DrillEnv {
  const files = over.files ?? {};
  return {
    stat: (p) => files[p],
    portFree: async () => true,
    localAddresses: () => ['127.0.0.1', '10.0.0.5'],
    deviceExists: (d) => d === 'eth0',
    addressAnswers: async () => 'silent',
    mounts: () => [{ mountPoint: '/', source: '/dev/root' }],
    ...over,
  };
}

const res = (name: string, type: string, attrs: Record<string, unknown>): ResolvedResource => ({ id: `g.${name}`, group: 'g', name, type, requires: [], attrs });
const group = (resources: ResolvedResource[]): ResolvedGroup => ({ name: 'g', systemList: ['a', 'b'], autoStart: true, dependsOn: [], frozen: false, resources });

const ldapRoot = '/srv/dirsrv/slapd-x';
const suite = group([
  res('vip', 'IP', { Address: '10.0.0.9/24', Device: 'eth0' }),
  res('disk', 'Mount', { BlockDevice: '/dev/vg/mail', MountPoint: '/sunone', FSType: 'ext4' }),
  res('ldap', 'SunJESLDAP', { InstanceRoot: ldapRoot, LDAPPort: 389, SSLPort: 0 }),
  res('msg', 'SunJESMsg', { ServerRoot: '/sunone/msg', MsgServices: { imap: 143, smtp: 25 } }),
]);

const okFiles = { [ldapRoot]: dir, [`${ldapRoot}/start-slapd`]: exe, [`${ldapRoot}/stop-slapd`]: exe, '/dev/vg/mail': block };

describe('drillGroup', () => {
  it('passes on a ready standby; paths on the unmounted shared disk are skipped, not failed', async () => {
    const r = await drillGroup(suite, 'b', env({ files: okFiles }));
    expect(r.ok, r.reason).toBe(true);
    const skipped = r.checks.filter((c) => c.skipped).map((c) => c.check);
    expect(skipped).toEqual(['root /sunone/msg', 'program /sunone/msg/lib/msstart']);
    expect(r.checks.map((c) => c.check)).toEqual(expect.arrayContaining(['port 389', 'port 143', 'port 25', 'device eth0', 'address 10.0.0.9 not answering', 'device /dev/vg/mail not mounted', 'mount point /sunone']));
    expect(r.reason).toMatch(/could start on b/);
  });

  it.each([
    ['a missing start program', { files: { ...okFiles, [`${ldapRoot}/start-slapd`]: undefined as unknown as PathInfo } }, /ldap program .*start-slapd: missing/],
    ['a port in use', { files: okFiles, portFree: async (p: number) => (p === 143 ? 'in use on this node' : true as const) }, /msg port 143: in use/],
    ['the VIP answering elsewhere', { files: okFiles, addressAnswers: async () => 'answers' }, /vip address 10\.0\.0\.9 not answering: another host answers/],
    ['the VIP already here', { files: okFiles, localAddresses: () => ['10.0.0.9'] }, /already configured on this node/],
    ['the device of the VIP missing', { files: okFiles, deviceExists: () => false }, /vip device eth0: missing/],
    ['the disk missing', { files: { ...okFiles, '/dev/vg/mail': undefined as unknown as PathInfo } }, /disk device \/dev\/vg\/mail: missing/],
    ['the disk mounted here', { files: okFiles, mounts: () => [{ mountPoint: '/mnt/x', source: '/dev/vg/mail' }] }, /mounted here on \/mnt\/x/],
  ])('fails with %s', async (_what, over, reason) => {
    const r = await drillGroup(suite, 'b', env(over as Partial<DrillEnv> & { files?: Record<string, PathInfo> }));
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(reason);
  });

  it('checks the shared disk\'s paths when it is mounted here, and Application programs', async () => {
    const g = group([
      res('disk', 'Mount', { BlockDevice: '/dev/vg/mail', MountPoint: '/sunone', FSType: 'ext4' }),
      res('app', 'Application', { StartProgram: '/sunone/bin/start --x', StopProgram: ['/usr/bin/stop-it'], ProbeServices: { imap: 1143 } }),
    ]);
    const r = await drillGroup(g, 'b', env({ files: { '/dev/vg/mail': block, '/usr/bin/stop-it': exe }, mounts: () => [{ mountPoint: '/sunone', source: '/dev/vg/mail' }] }));
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/app program \/sunone\/bin\/start: missing/);
    expect(r.reason).toMatch(/disk device \/dev\/vg\/mail not mounted: mounted here on \/sunone/);
    expect(r.checks.find((c) => c.check === 'program /usr/bin/stop-it')?.ok).toBe(true);
    expect(r.checks.find((c) => c.check === 'port 1143')?.ok).toBe(true);
  });
});
