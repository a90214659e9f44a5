// Seed topology 2 — "moderate": one group per component; the directory server and the
// administration server share one group. Four active nodes and one hot standby, "spare": each
// group runs on its own node and fails over to the standby first (second in every
// systemList), then to the others. Every group has its own virtual IP and shared disk.
// Messaging groups depend on the directory group (online-global-soft); webmail depends on the
// message store, which it reads over IMAP.
//
// To adapt: node names, sharedDir, addresses, disks, paths, host names, ports; replace every
// enc:v2:REPLACE… with the output of `msgha encrypt --cluster FILE --for group.resource.Attribute` (one value per attribute).
const { defineCluster } = require('pm2-messaging-ha');

// A placeholder only: each attribute gets its own enc:v2 value, made for that attribute.
const SECRET = 'enc:v2:REPLACE_with_the_output_of_msgha_encrypt_for_this_attribute';
const onDirectory = [{ group: 'directory', kind: 'online-global-soft' }];

/** The infrastructure every group has: its virtual IP and its shared disk. */
const infra = (octet, disk, mountPoint) => ({
  vip: { type: 'IP', Address: `192.0.2.${octet}/24`, Device: 'eth0' },
  link: { type: 'NIC', Device: 'eth0' },
  disk: { type: 'Mount', BlockDevice: `/dev/mapper/${disk}`, MountPoint: mountPoint, FSType: 'ext4' },
});

module.exports = defineCluster({
  cluster: { name: 'mail', nodes: ['ms1', 'ms2', 'ms3', 'ms4', 'spare'], sharedDir: '/shared/msgha', fence: { watchdog: '/dev/watchdog' } },
  groups: {
    directory: {
      systemList: ['ms1', 'spare', 'ms2', 'ms3', 'ms4'],
      resources: {
        ...infra(20, 'dirvg-dir', '/srv/dir'),
        ldap: {
          type: 'SunJESLDAP', requires: ['vip', 'disk'], InstanceRoot: '/srv/dir/dirsrv/slapd-dir',
          LDAPHost: 'ldap.example.com', SecondLevelMonitor: 1,
        },
        admin: {
          type: 'SunJESAdm', requires: ['ldap'], ServerRoot: '/srv/dir/admin', AdminHost: 'ldap.example.com',
          AdminUser: 'admin', AdminPasswd: SECRET,
        },
      },
    },
    store: {
      systemList: ['ms2', 'spare', 'ms3', 'ms4', 'ms1'],
      dependsOn: onDirectory,
      resources: {
        ...infra(21, 'storevg-store', '/srv/store'),
        core: {
          type: 'SunJESMsg', requires: ['vip', 'disk'], ServerRoot: '/srv/store/msg', MsgHost: 'store.example.com',
          MsgServices: { core: 49994 }, SecondLevelMonitor: 3,
        },
        access: {
          type: 'SunJESMsg', requires: ['core'], ServerRoot: '/srv/store/msg', MsgHost: 'store.example.com',
          MsgServices: { imap: 143, pop: 110, lmtp: 225 }, LDAPTestUser: 'probe', LDAPTestPasswd: SECRET, SecondLevelMonitor: 6,
        },
      },
    },
    mta: {
      systemList: ['ms3', 'spare', 'ms4', 'ms1', 'ms2'],
      dependsOn: onDirectory,
      resources: {
        ...infra(22, 'mtavg-mta', '/srv/mta'),
        core: {
          type: 'SunJESMsg', requires: ['vip', 'disk'], ServerRoot: '/srv/mta/msg', MsgHost: 'smtp.example.com',
          MsgServices: { core: 49994 },
        },
        smtp: {
          type: 'SunJESMsg', requires: ['core'], ServerRoot: '/srv/mta/msg', MsgHost: 'smtp.example.com',
          MsgServices: { smtp: 25 }, LDAPTestUser: 'probe', LDAPTestPasswd: SECRET, SecondLevelMonitor: 6,
        },
      },
    },
    webmail: {
      systemList: ['ms4', 'spare', 'ms1', 'ms2', 'ms3'],
      dependsOn: [...onDirectory, { group: 'store', kind: 'online-global-soft' }],
      resources: {
        ...infra(23, 'webvg-web', '/srv/web'),
        core: {
          type: 'SunJESMsg', requires: ['vip', 'disk'], ServerRoot: '/srv/web/msg', MsgHost: 'webmail.example.com',
          MsgServices: { core: 49994 },
        },
        http: {
          type: 'SunJESMsg', requires: ['core'], ServerRoot: '/srv/web/msg', MsgHost: 'webmail.example.com',
          MsgServices: { http: 80, https: 443 }, SecondLevelMonitor: 6,
        },
      },
    },
  },
});
