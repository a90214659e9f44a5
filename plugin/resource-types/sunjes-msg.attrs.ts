/** Attributes of the Messaging Server type (SPEC §2.1), declared once. */
import type { AttrDecl } from '../model/attributes';

/** Services a MSG instance may list in MsgServices; `core` must stand alone. */
export const MSG_SERVICES = ['ens', 'imap', 'imaps', 'pop', 'pops', 'snmp', 'http', 'https', 'sms', 'lmtp', 'smtp', 'core'] as const;
/** Services an MMP (multiplexor) instance may list. */
export const MMP_SERVICES = ['imap', 'imaps', 'pop', 'pops'] as const;

export const SUNJES_MSG_ATTRIBUTES: readonly AttrDecl[] = [
  { name: 'ServerType', kind: 'enum', values: ['MSG', 'MMP'], default: 'MSG',
    doc: 'MSG = messaging server (a webmail multiplexor is an MSG with only http); MMP = IMAP/POP multiplexor.' },
  { name: 'ServerRoot', kind: 'path', required: true, example: '/sunone/msg',
    doc: 'Installation root of the instance, on the shared disk; holds lib/msstart and lib/stored.' },
  { name: 'MsgHost', kind: 'host', required: true, example: 'mail.example.com',
    doc: 'Virtual host name (or IPv4 address) of the instance; probes connect to it. Must be a FQDN when smtp or lmtp is listed.' },
  { name: 'MsgServices', kind: 'portMap', required: true, example: { imap: 143, pop: 110, smtp: 25 },
    doc: 'Services managed by this resource and their ports. MSG: ens imap imaps pop pops snmp http https sms lmtp smtp core (core alone, with the watcher port); MMP: imap imaps pop pops.' },
  { name: 'LDAPTestUser', kind: 'string', example: 'probe',
    doc: 'Test account for synthetic transactions (login, and RCPT TO for smtp/lmtp).' },
  { name: 'LDAPTestPasswd', kind: 'secret',
    doc: 'Password of LDAPTestUser, encrypted with `msgha encrypt`.' },
];
