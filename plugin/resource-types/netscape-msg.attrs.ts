/** Attributes of the older Netscape messaging server data service (SPEC §2.4), declared once. */
import type { AttrDecl } from '../model/attributes';

/** The five daemons of a Netscape server root; each starts, stops and fails on its own. */
export const NETSCAPE_DAEMONS = ['smtpd', 'popd', 'imapd', 'mshttpd', 'stored'] as const;

export const NETSCAPE_MSG_ATTRIBUTES: readonly AttrDecl[] = [
  { name: 'ServerRoot', kind: 'path', required: true, example: '/netscape/suitespot',
    doc: 'Server root of the one instance of this logical host; holds start-msg and stop-msg.' },
  { name: 'MsgHost', kind: 'host', required: true, example: 'mail.example.com',
    doc: 'Logical host name (or IPv4 address) of the instance; probes connect to it.' },
  { name: 'Ports', kind: 'portMap', default: { smtp: 25, pop: 110, imap: 143, http: 80 },
    doc: 'Ports probed for smtpd, popd, imapd and mshttpd (keys smtp, pop, imap, http).' },
  { name: 'ProbeTimeout', kind: 'seconds', default: 5, min: 1, unit: 's',
    doc: 'Deadline of one protocol probe; it must fit inside MonitorTimeout (default 8 s), which still bounds the whole monitor. The seed used 660 s so that a slow server never failed over: to wait longer, raise MonitorTimeout together with ProbeTimeout.' },
  { name: 'ProbeFailurePolicy', kind: 'enum', values: ['any', 'timeout-only'], default: 'any',
    doc: 'any = every failed probe counts; timeout-only = act only on probe timeouts, as the seed did.' },
  { name: 'LDAPTestUser', kind: 'string', doc: 'Test account for synthetic logins (optional).' },
  { name: 'LDAPTestPasswd', kind: 'secret', doc: 'Password of LDAPTestUser, encrypted with `msgha encrypt`.' },
];
