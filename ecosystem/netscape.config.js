// The older Netscape messaging server profile: one server root per logical host, five daemons
// (smtpd, popd, imapd, mshttpd, stored) monitored together by one NetscapeMsg resource, plus
// the logical host's virtual IP and the shared disk holding the server root. Two nodes,
// active/passive. ProbeFailurePolicy "timeout-only" reproduces the seed's policy of acting
// only on probe timeouts; our default ("any") acts on every failed probe.
//
// To adapt: node names, sharedDir, the address and device, the disk, ServerRoot, MsgHost,
// Ports; replace enc:v2:REPLACE… with the output of `msgha encrypt --cluster FILE --for group.resource.Attribute` (one value per attribute). The configuration and
// user/group directory must be reachable from either node (another group or another cluster).
const { defineCluster } = require('pm2-messaging-ha');

module.exports = defineCluster({
  cluster: { name: 'netscape', nodes: ['ns1', 'ns2'], sharedDir: '/shared/msgha', fence: { watchdog: '/dev/watchdog' } },
  groups: {
    mail: {
      systemList: ['ns1', 'ns2'],
      resources: {
        vip: { type: 'IP', Address: '192.0.2.60/24', Device: 'eth0' },
        link: { type: 'NIC', Device: 'eth0' },
        disk: { type: 'Mount', BlockDevice: '/dev/mapper/nsvg-mail', MountPoint: '/netscape', FSType: 'ext4' },
        msg: {
          type: 'NetscapeMsg', requires: ['vip', 'disk'],
          ServerRoot: '/netscape/suitespot', MsgHost: 'mail.example.com',
          Ports: { smtp: 25, pop: 110, imap: 143, http: 80 },
          ProbeTimeout: 20, ProbeFailurePolicy: 'any', // a probe may take 20 s: give the cycle 30
          MonitorInterval: 30, MonitorTimeout: 30,
          LDAPTestUser: 'probe', LDAPTestPasswd: 'enc:v2:REPLACE_with_the_output_of_msgha_encrypt_for_this_attribute',
          SecondLevelMonitor: 2,
        },
      },
    },
  },
});
