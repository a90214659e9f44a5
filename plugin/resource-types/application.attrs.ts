/** Attributes of the generic Application type (any daemon given by its commands), declared once. */
import type { AttrDecl } from '../model/attributes';

export const APPLICATION_ATTRIBUTES: readonly AttrDecl[] = [
  { name: 'StartProgram', kind: 'command', required: true, example: '/usr/sbin/dovecot -c /srv/mail/dovecot.conf',
    doc: 'Program (absolute path) and arguments that start the daemon; it may fork into the background.' },
  { name: 'StopProgram', kind: 'command', example: '/usr/sbin/dovecot -c /srv/mail/dovecot.conf stop',
    doc: 'Program and arguments that stop the daemon gracefully (default: SIGTERM to the daemon\'s processes).' },
  { name: 'CleanProgram', kind: 'command', doc: 'Program run by clean before leftovers are killed (optional).' },
  { name: 'PidFiles', kind: 'stringList', example: ['/srv/mail/run/master.pid'],
    doc: 'Absolute pid files of the daemon; checked first by the monitor.' },
  { name: 'MonitorProcesses', kind: 'stringList', example: ['/usr/sbin/dovecot -c /srv/mail/dovecot.conf'],
    doc: 'Strings a process command line must contain to count as the daemon; every one must be present.' },
  { name: 'ProcessRoot', kind: 'paths', example: ['/srv/mail/dovecot', '/srv/mail/dovecot-run'],
    doc: 'Instance directory, or a list of them: a process whose command line names one or whose working directory is under one belongs to the daemon (a pid file naming anything else is ignored); its leftovers are killed by offline and clean.' },
  { name: 'ProbeHost', kind: 'host', default: '127.0.0.1', doc: 'Host probed by second-level monitoring.' },
  { name: 'ProbeServices', kind: 'portMap', example: { imap: 143, smtp: 25 },
    doc: 'Services probed by second-level monitoring and their ports (imap imaps pop pops smtp lmtp http https ldap ldaps tcp).' },
  { name: 'ProbeUser', kind: 'string', doc: 'Test account for synthetic logins (optional).' },
  { name: 'ProbePasswd', kind: 'secret', doc: 'Password of ProbeUser, encrypted with `msgha encrypt`.' },
  { name: 'StartInputSecret', kind: 'secret',
    doc: 'A secret given to StartProgram on its standard input (e.g. a key passphrase).' },
];
