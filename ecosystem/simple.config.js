// Seed topology 1 — "simple": two nodes, active/passive, ONE group holding everything
// (virtual IP, shared disk, directory server, administration server, messaging core, MTA and
// client protocols, webmail). mx1 normally runs the group; mx2 takes over.
//
// To adapt: node names (cluster.nodes = what $MSGHA_NODE or the host name says on each node),
// sharedDir (a directory shared by both nodes), the IP Address/Device, the Mount device,
// ServerRoot/InstanceRoot paths, MsgHost/LDAPHost/AdminHost, ports. Replace every
// enc:v2:REPLACE… value with the output of `msgha encrypt --cluster FILE --for group.resource.Attribute` (one value per attribute) (after `msgha keygen`).
// Check with: msgha validate ecosystem/simple.config.js — start with: pm2 start ecosystem/simple.config.js (on each node).
const { defineCluster } = require('pm2-messaging-ha');

module.exports = defineCluster({
  cluster: {
    name: 'mail',
    nodes: ['mx1', 'mx2'],
    sharedDir: '/shared/msgha',
    lease: { profile: 'nfs' },
    // The disk is ext4 on a shared LUN: the node resets if its fence freezes (docs/lease.md).
    fence: { watchdog: '/dev/watchdog' },
    metrics: { listen: '127.0.0.1:9464' },
  },
  groups: {
    mail: {
      systemList: ['mx1', 'mx2'], // priority order
      resources: {
        vip: { type: 'IP', Address: '192.0.2.25/24', Device: 'eth0' },
        link: { type: 'NIC', Device: 'eth0' },
        disk: { type: 'Mount', BlockDevice: '/dev/mapper/mailvg-mail', MountPoint: '/sunone', FSType: 'ext4', MountOpt: 'noatime' },
        ldap: {
          type: 'SunJESLDAP', requires: ['vip', 'disk'],
          InstanceRoot: '/sunone/dirsrv/slapd-mail', LDAPHost: 'mail.example.com', LDAPPort: 389,
          SecondLevelMonitor: 1,
        },
        admin: {
          type: 'SunJESAdm', requires: ['ldap'],
          ServerRoot: '/sunone/admin', AdminHost: 'mail.example.com', AdminPort: 390,
          AdminUser: 'admin', AdminPasswd: 'enc:v2:REPLACE_with_the_output_of_msgha_encrypt_for_this_attribute',
          SecondLevelMonitor: 6,
        },
        core: {
          type: 'SunJESMsg', requires: ['ldap'],
          ServerRoot: '/sunone/msg', MsgHost: 'mail.example.com', MsgServices: { core: 49994 },
          SecondLevelMonitor: 3,
        },
        imap: {
          type: 'SunJESMsg', requires: ['core'],
          ServerRoot: '/sunone/msg', MsgHost: 'mail.example.com',
          MsgServices: { imap: 143, pop: 110, smtp: 25 },
          LDAPTestUser: 'probe', LDAPTestPasswd: 'enc:v2:REPLACE_with_the_output_of_msgha_encrypt_for_this_attribute',
          SecondLevelMonitor: 6, // a synthetic login every minute (MonitorInterval 10 s × 6)
        },
        http: {
          type: 'SunJESMsg', requires: ['imap'], // webmail reads the store through IMAP
          ServerRoot: '/sunone/msg', MsgHost: 'mail.example.com', MsgServices: { http: 80 },
          LDAPTestUser: 'probe', LDAPTestPasswd: 'enc:v2:REPLACE_with_the_output_of_msgha_encrypt_for_this_attribute',
          SecondLevelMonitor: 6,
        },
      },
    },
  },
});
