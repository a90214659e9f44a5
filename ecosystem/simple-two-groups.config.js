// Seed topology 1, variant — "simple, two groups": two nodes, and both of them work. The
// directory server and the administration server form one group (normally on mx1); the
// messaging server forms the other (normally on mx2). Each group has its own virtual IP and
// its own shared disk, so either can move alone. The messaging group depends on the directory
// group with "online-global-soft": the directory must be online somewhere before messaging
// starts; if it later restarts or moves, messaging keeps running and reconnects.
//
// To adapt: node names, sharedDir, the two IP addresses/devices, the two disks, paths, host
// names and ports. Replace every enc:v2:REPLACE… with the output of `msgha encrypt --cluster FILE --for group.resource.Attribute` (one value per attribute).
const { defineCluster } = require('pm2-messaging-ha');

module.exports = defineCluster({
  cluster: { name: 'mail', nodes: ['mx1', 'mx2'], sharedDir: '/shared/msgha', lease: { profile: 'nfs' }, fence: { watchdog: '/dev/watchdog' } },
  groups: {
    directory: {
      systemList: ['mx1', 'mx2'],
      resources: {
        vip: { type: 'IP', Address: '192.0.2.20/24', Device: 'eth0' },
        link: { type: 'NIC', Device: 'eth0' },
        disk: { type: 'Mount', BlockDevice: '/dev/mapper/dirvg-dir', MountPoint: '/sunone-dir', FSType: 'ext4' },
        ldap: {
          type: 'SunJESLDAP', requires: ['vip', 'disk'],
          InstanceRoot: '/sunone-dir/dirsrv/slapd-dir', LDAPHost: 'ldap.example.com', LDAPPort: 389, SSLPort: 636,
          SSLDbPasswd: 'enc:v2:REPLACE_with_the_output_of_msgha_encrypt_for_this_attribute', SecondLevelMonitor: 1,
        },
        admin: {
          type: 'SunJESAdm', requires: ['vip', 'disk'],
          ServerRoot: '/sunone-dir/admin', AdminHost: 'ldap.example.com', AdminPort: 390,
        },
      },
    },
    messaging: {
      systemList: ['mx2', 'mx1'],
      dependsOn: [{ group: 'directory', kind: 'online-global-soft' }],
      resources: {
        vip: { type: 'IP', Address: '192.0.2.25/24', Device: 'eth0' },
        link: { type: 'NIC', Device: 'eth0' },
        disk: { type: 'Mount', BlockDevice: '/dev/mapper/mailvg-mail', MountPoint: '/sunone', FSType: 'ext4' },
        core: {
          type: 'SunJESMsg', requires: ['vip', 'disk'],
          ServerRoot: '/sunone/msg', MsgHost: 'mail.example.com', MsgServices: { core: 49994 }, SecondLevelMonitor: 3,
        },
        services: {
          type: 'SunJESMsg', requires: ['core'],
          ServerRoot: '/sunone/msg', MsgHost: 'mail.example.com', MsgServices: { imap: 143, pop: 110, smtp: 25 },
          LDAPTestUser: 'probe', LDAPTestPasswd: 'enc:v2:REPLACE_with_the_output_of_msgha_encrypt_for_this_attribute', SecondLevelMonitor: 6,
        },
        webmail: {
          type: 'SunJESMsg', requires: ['services'],
          ServerRoot: '/sunone/msg', MsgHost: 'mail.example.com', MsgServices: { http: 80 }, SecondLevelMonitor: 6,
        },
      },
    },
  },
});
