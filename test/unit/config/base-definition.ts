/** A valid cluster definition that the validation tests mutate one rule at a time. */
import type { ClusterDefinition } from '../../../plugin/model/cluster-types';
import { testKeyFile } from '../../helpers/test-key';

export const ENC = 'enc:v2:REPLACE_with_the_output_of_msgha_encrypt_for_this_attribute';

export function baseDefinition(): ClusterDefinition {
  return {
    cluster: { name: 'mail', nodes: ['mx1', 'mx2'], sharedDir: '/shared/msgha', keyFile: testKeyFile(), lease: { profile: 'nfs' }, fence: { watchdog: '/dev/watchdog' }, metrics: { listen: '127.0.0.1:9464' } },
    groups: {
      directory: {
        systemList: ['mx1', 'mx2'],
        resources: {
          vip: { type: 'IP', Address: '192.0.2.20/24', Device: 'eth0' },
          disk: { type: 'Mount', BlockDevice: '/dev/mapper/dir', MountPoint: '/srv/dir', FSType: 'ext4' },
          ldap: { type: 'SunJESLDAP', requires: ['vip', 'disk'], InstanceRoot: '/srv/dir/slapd-dir', LDAPHost: 'ldap.example.com' },
          admin: { type: 'SunJESAdm', requires: ['ldap'], ServerRoot: '/srv/dir/admin', AdminHost: 'ldap.example.com', AdminUser: 'admin', AdminPasswd: ENC },
          link: { type: 'NIC', Device: 'eth0' },
        },
      },
      mail: {
        systemList: ['mx2', 'mx1'],
        dependsOn: [{ group: 'directory', kind: 'online-global-soft' }],
        resources: {
          vip: { type: 'IP', Address: '192.0.2.25/24', Device: 'eth0' },
          disk: { type: 'Mount', BlockDevice: '/dev/mapper/mail', MountPoint: '/srv/mail', FSType: 'ext4' },
          core: { type: 'SunJESMsg', requires: ['vip', 'disk'], ServerRoot: '/srv/mail/msg', MsgHost: 'mail.example.com', MsgServices: { core: 49994 } },
          imap: {
            type: 'SunJESMsg', requires: ['core'], ServerRoot: '/srv/mail/msg', MsgHost: 'mail.example.com',
            MsgServices: { imap: 143, pop: 110, smtp: 25 }, LDAPTestUser: 'probe', LDAPTestPasswd: ENC, SecondLevelMonitor: 2,
          },
          http: { type: 'SunJESMsg', requires: ['imap'], ServerRoot: '/srv/mail/msg', MsgHost: 'mail.example.com', MsgServices: { http: 80 } },
          mmp: {
            type: 'SunJESMsg', requires: ['vip'], ServerType: 'MMP', ServerRoot: '/opt/mmp', MsgHost: 'mmp.example.com',
            MsgServices: { imap: 143, pop: 110 },
          },
          dovecot: {
            type: 'Application', requires: ['disk'], StartProgram: '/usr/sbin/dovecot -c /srv/mail/dovecot.conf',
            PidFiles: ['/srv/mail/run/master.pid'], ProcessRoot: '/srv/mail/dovecot', ProbeServices: { imap: 10143 },
          },
          link: { type: 'NIC', Device: 'eth0', PingHosts: ['192.0.2.1'] },
        },
      },
      ns: {
        resources: {
          msg: { type: 'NetscapeMsg', ServerRoot: '/netscape/suitespot', MsgHost: 'ns.example.com' },
        },
      },
    },
  };
}
