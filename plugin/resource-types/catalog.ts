/**
 * The catalogue of resource types: name, one-line summary and attribute declarations.
 * Validation and `msgha explain` read only this, so they never load agent code.
 */
import { GENERIC_ATTRIBUTES, type AttrDecl, type TypeDescriptor } from '../model/attributes';
import { APPLICATION_ATTRIBUTES } from './application.attrs';
import { IP_ATTRIBUTES } from './ip.attrs';
import { MOUNT_ATTRIBUTES } from './mount.attrs';
import { NETSCAPE_MSG_ATTRIBUTES } from './netscape-msg.attrs';
import { SUNJES_ADM_ATTRIBUTES } from './sunjes-adm.attrs';
import { SUNJES_LDAP_ATTRIBUTES } from './sunjes-ldap.attrs';
import { SUNJES_MSG_ATTRIBUTES } from './sunjes-msg.attrs';

function describe(name: string, summary: string, own: readonly AttrDecl[]): TypeDescriptor {
  return { name, summary, attributes: [...own, ...GENERIC_ATTRIBUTES] };
}

export const TYPE_CATALOG: Readonly<Record<string, TypeDescriptor>> = {
  SunJESMsg: describe('SunJESMsg', 'Messaging Server or Messaging Multiplexor instance: core (store, sched, watcher) or services (imap, pop, smtp, http, …).', SUNJES_MSG_ATTRIBUTES),
  SunJESAdm: describe('SunJESAdm', 'Administration Server instance (uxwdog watchdog and ns-httpd processes).', SUNJES_ADM_ATTRIBUTES),
  SunJESLDAP: describe('SunJESLDAP', 'Directory Server instance (ns-slapd), deep-checked by a cn=monitor search.', SUNJES_LDAP_ATTRIBUTES),
  NetscapeMsg: describe('NetscapeMsg', 'Older Netscape messaging server root: smtpd, popd, imapd, mshttpd and stored.', NETSCAPE_MSG_ATTRIBUTES),
  Application: describe('Application', 'Any daemon given by start/stop programs, pid files and process patterns (e.g. slapd, Dovecot, Postfix).', APPLICATION_ATTRIBUTES),
  IP: describe('IP', 'Virtual IPv4 address that moves with its group; its kernel lifetime follows the lease.', IP_ATTRIBUTES),
  Mount: describe('Mount', 'Shared-disk mount that moves with its group, guarded by the .cluster-epoch marker.', MOUNT_ATTRIBUTES),
};

export const TYPE_NAMES: readonly string[] = Object.keys(TYPE_CATALOG);
