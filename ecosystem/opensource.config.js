// An open-source suite managed with the generic Application type: OpenLDAP slapd (directory),
// Dovecot (IMAP, POP, LMTP; users in LDAP) and Postfix (SMTP, delivering to Dovecot over
// LMTP), all with their configuration and data under /srv/mail on the shared disk, as Debian
// 12 packages install the binaries. One group, two nodes, active/passive. Each daemon is a
// private instance: its command line carries its own configuration path, which is how the
// monitor recognises it (MonitorProcesses) besides its pid file.
//
// To adapt: node names, sharedDir, address and device, the disk, the paths under /srv/mail
// (slapd.conf, dovecot.conf and the Postfix config directory must set these pid files),
// ports; replace enc:v2:REPLACE… with the output of `msgha encrypt --cluster FILE --for group.resource.Attribute` (one value per attribute).
const { defineCluster } = require('pm2-messaging-ha');

const ROOT = '/srv/mail';

module.exports = defineCluster({
  cluster: { name: 'oss', nodes: ['mx1', 'mx2'], sharedDir: '/shared/msgha', fence: { watchdog: '/dev/watchdog' } },
  groups: {
    mail: {
      systemList: ['mx1', 'mx2'],
      resources: {
        vip: { type: 'IP', Address: '192.0.2.70/24', Device: 'eth0' },
        link: { type: 'NIC', Device: 'eth0' },
        disk: { type: 'Mount', BlockDevice: '/dev/mapper/mailvg-mail', MountPoint: ROOT, FSType: 'ext4', MountOpt: 'noatime' },
        slapd: {
          type: 'Application', requires: ['vip', 'disk'],
          StartProgram: ['/usr/sbin/slapd', '-f', `${ROOT}/slapd/slapd.conf`, '-h', 'ldap://192.0.2.70:389/ ldapi://%2Fsrv%2Fmail%2Fslapd%2Fldapi/'],
          PidFiles: [`${ROOT}/slapd/run/slapd.pid`],
          MonitorProcesses: [`/usr/sbin/slapd -f ${ROOT}/slapd/slapd.conf`],
          ProcessRoot: `${ROOT}/slapd`,
          ProbeHost: '192.0.2.70', ProbeServices: { ldap: 389 }, SecondLevelMonitor: 1,
        },
        dovecot: {
          type: 'Application', requires: ['slapd'], // users and passwords come from LDAP
          StartProgram: `/usr/sbin/dovecot -c ${ROOT}/dovecot/dovecot.conf`,
          StopProgram: `/usr/sbin/dovecot -c ${ROOT}/dovecot/dovecot.conf stop`,
          PidFiles: [`${ROOT}/dovecot/run/master.pid`],
          MonitorProcesses: [`/usr/sbin/dovecot -c ${ROOT}/dovecot/dovecot.conf`],
          ProcessRoot: `${ROOT}/dovecot`,
          ProbeHost: '192.0.2.70', ProbeServices: { imap: 143, pop: 110, lmtp: 24 },
          ProbeUser: 'probe@example.com', ProbePasswd: 'enc:v2:REPLACE_with_the_output_of_msgha_encrypt_for_this_attribute',
          SecondLevelMonitor: 6,
        },
        postfix: {
          type: 'Application', requires: ['dovecot'], // delivers to Dovecot over LMTP
          StartProgram: `/usr/lib/postfix/sbin/master -c ${ROOT}/postfix/etc -w`,
          StopProgram: `/usr/sbin/postfix -c ${ROOT}/postfix/etc stop`,
          PidFiles: [`${ROOT}/postfix/spool/pid/master.pid`],
          MonitorProcesses: [`/usr/lib/postfix/sbin/master -c ${ROOT}/postfix/etc`],
          ProcessRoot: `${ROOT}/postfix`,
          ProbeHost: '192.0.2.70', ProbeServices: { smtp: 25 },
          ProbeUser: 'probe@example.com', ProbePasswd: 'enc:v2:REPLACE_with_the_output_of_msgha_encrypt_for_this_attribute',
          SecondLevelMonitor: 6,
        },
      },
    },
  },
});
