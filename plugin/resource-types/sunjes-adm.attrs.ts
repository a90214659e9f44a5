/** Attributes of the Administration Server type (SPEC §2.2), declared once. */
import type { AttrDecl } from '../model/attributes';

export const SUNJES_ADM_ATTRIBUTES: readonly AttrDecl[] = [
  { name: 'ServerRoot', kind: 'path', required: true, example: '/sunone/admin',
    doc: 'Installation root of the administration server; holds start-admin, stop-admin and admin-serv/config.' },
  { name: 'AdminHost', kind: 'host', required: true, example: 'admin.example.com',
    doc: 'Virtual host name (or IPv4 address) of the administration server.' },
  { name: 'AdminPort', kind: 'port', default: 390, doc: 'Port of the administration server.' },
  { name: 'SSLEnabled', kind: 'bool', default: false, doc: 'The administration port speaks HTTPS.' },
  { name: 'AdminUser', kind: 'string', doc: 'Administrator used by the deep check to read back the server\'s port.' },
  { name: 'AdminPasswd', kind: 'secret', doc: 'Password of AdminUser (required with it), encrypted with `msgha encrypt`.' },
  { name: 'SSLDbPasswd', kind: 'secret',
    doc: 'Certificate-database password, given to start-admin on its standard input (never on a command line).' },
];
