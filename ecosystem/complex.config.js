// Seed topology 3 — "complex": a directory group, two MTA groups (inbound from the Internet,
// outbound from the users), one multiplexor (MMP) group in front of three message-store
// groups (POP + IMAP, and LMTP for delivery, each), and a hot standby node "spare" that is the
// first failover target of every group. Seven active nodes, one group each, plus the standby.
// Every messaging group depends on the directory group (online-global-soft).
//
// To adapt: node names, sharedDir, addresses, disks, paths, host names, ports; replace every
// enc:v2:REPLACE… with the output of `msgha encrypt --cluster FILE --for group.resource.Attribute` (one value per attribute). Add a store group by copying one.
const { defineCluster } = require('pm2-messaging-ha');

// A placeholder only: each attribute gets its own enc:v2 value, made for that attribute.
const SECRET = 'enc:v2:REPLACE_with_the_output_of_msgha_encrypt_for_this_attribute';
const NODES = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'spare'];
const onDirectory = [{ group: 'directory', kind: 'online-global-soft' }];

/** Home node first, then the hot standby, then the other nodes in order. */
const systemList = (home) => [home, 'spare', ...NODES.filter((n) => n !== home && n !== 'spare')];

const infra = (octet, name) => ({
  vip: { type: 'IP', Address: `192.0.2.${octet}/24`, Device: 'eth0' },
  link: { type: 'NIC', Device: 'eth0' },
  disk: { type: 'Mount', BlockDevice: `/dev/mapper/${name}vg-${name}`, MountPoint: `/srv/${name}`, FSType: 'ext4' },
});

/** A messaging server instance on its own disk: core plus one resource for its services. */
const messaging = (octet, name, host, services, deep = {}) => ({
  ...infra(octet, name),
  core: {
    type: 'SunJESMsg', requires: ['vip', 'disk'], ServerRoot: `/srv/${name}/msg`, MsgHost: host,
    MsgServices: { core: 49994 }, SecondLevelMonitor: 3,
  },
  services: {
    type: 'SunJESMsg', requires: ['core'], ServerRoot: `/srv/${name}/msg`, MsgHost: host,
    MsgServices: services, SecondLevelMonitor: 6, ...deep,
  },
});

const probe = { LDAPTestUser: 'probe', LDAPTestPasswd: SECRET };

const store = (i) => ({
  systemList: systemList(`n${4 + i}`),
  dependsOn: onDirectory,
  resources: messaging(40 + i, `store${i}`, `store${i}.example.com`, { imap: 143, pop: 110, lmtp: 225 }, probe),
});

module.exports = defineCluster({
  cluster: { name: 'mail', nodes: NODES, sharedDir: '/shared/msgha', lease: { profile: 'nfs' }, fence: { watchdog: '/dev/watchdog' } },
  groups: {
    directory: {
      systemList: systemList('n1'),
      resources: {
        ...infra(20, 'dir'),
        ldap: {
          type: 'SunJESLDAP', requires: ['vip', 'disk'], InstanceRoot: '/srv/dir/dirsrv/slapd-dir',
          LDAPHost: 'ldap.example.com', LDAPPort: 389, SSLPort: 636, SecondLevelMonitor: 1,
        },
      },
    },
    'mta-in': {
      systemList: systemList('n2'),
      dependsOn: onDirectory,
      resources: messaging(30, 'mtain', 'mx.example.com', { smtp: 25 }, probe),
    },
    'mta-out': {
      systemList: systemList('n3'),
      dependsOn: onDirectory,
      resources: messaging(31, 'mtaout', 'smtp.example.com', { smtp: 587 }, probe),
    },
    mmp: {
      systemList: systemList('n4'),
      dependsOn: onDirectory,
      resources: {
        ...infra(35, 'mmp'),
        proxy: {
          type: 'SunJESMsg', requires: ['vip', 'disk'], ServerType: 'MMP', ServerRoot: '/srv/mmp/mmp',
          MsgHost: 'imap.example.com', MsgServices: { imap: 143, pop: 110, imaps: 993, pops: 995 },
          ...probe, SecondLevelMonitor: 6,
        },
      },
    },
    store1: store(1),
    store2: store(2),
    store3: store(3),
  },
});
