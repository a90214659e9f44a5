/** Attributes of the Directory Server type (SPEC §2.3), declared once. */
import type { AttrDecl } from '../model/attributes';

export const SUNJES_LDAP_ATTRIBUTES: readonly AttrDecl[] = [
  { name: 'InstanceRoot', kind: 'path', required: true, example: '/sunone/dirsrv/slapd-prod1',
    doc: 'Server root plus instance name; holds start-slapd, stop-slapd and logs/pid.' },
  { name: 'LDAPHost', kind: 'host', required: true, example: 'ldap.example.com',
    doc: 'Virtual host name (or IPv4 address) of the directory server.' },
  { name: 'LDAPPort', kind: 'port', default: 389, doc: 'Plain LDAP port.' },
  { name: 'SSLPort', kind: 'int', default: 0, min: 0, max: 65535,
    doc: 'LDAPS port (0 = none). When set, the deep check also needs a TLS handshake there.' },
  { name: 'SSLDbPasswd', kind: 'secret',
    doc: 'Certificate-database password, given to start-slapd on its standard input (never on a command line).' },
];
