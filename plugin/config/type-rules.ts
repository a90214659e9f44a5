/**
 * Per-type rules that tie several attributes of one resource together (SPEC §2). Each rule
 * reads only values that passed their kind check (CheckedResource.attrs), so a wrong value is
 * reported once, by its kind checker, and not again here.
 */
import * as path from 'node:path';
import { MMP_SERVICES, MSG_SERVICES } from '../resource-types/sunjes-msg.attrs';
import { NETSCAPE_DAEMONS } from '../resource-types/netscape-msg.attrs';
import { portMap, str, num, type CheckedResource, type Report } from '../model/check-context';
import { suggestion } from './did-you-mean';
import { isFqdn, parseIPv4Cidr } from '../model/values';

/** Services the Application type can probe (probes/ registry names). */
export const APPLICATION_PROBE_SERVICES = ['imap', 'imaps', 'pop', 'pops', 'smtp', 'lmtp', 'http', 'https', 'ldap', 'ldaps', 'tcp'] as const;
/** Keys of NetscapeMsg Ports: the probed daemons (stored has no port). */
export const NETSCAPE_PORT_KEYS = ['smtp', 'pop', 'imap', 'http'] as const;

type Rule = (report: Report, r: CheckedResource) => void;

function checkServiceNames(report: Report, r: CheckedResource, attribute: string, services: readonly string[], allowed: readonly string[], why: string): void {
  for (const s of services) {
    if (!allowed.includes(s)) report.error(r.where, attribute, `unknown service "${s}"${why}`, suggestion(s, allowed, why === '') || undefined);
  }
}

function testUserPair(report: Report, r: CheckedResource, user: string, passwd: string): void {
  if (r.given.has(user) && !r.given.has(passwd)) {
    report.warn(r.where, passwd, `${user} is set without ${passwd}: synthetic logins cannot run`, `add ${passwd} (msgha encrypt)`);
  }
  if (r.given.has(passwd) && !r.given.has(user)) report.warn(r.where, passwd, `is set without ${user} and is never used`);
}

const sunJesMsg: Rule = (report, r) => {
  const services = Object.keys(portMap(r.attrs.MsgServices));
  const mmp = r.attrs.ServerType === 'MMP';
  if (r.attrs.MsgServices !== undefined && services.length === 0) {
    report.error(r.where, 'MsgServices', 'lists no service', 'e.g. { core: 49994 } or { imap: 143, pop: 110 }');
  }
  if (mmp) {
    checkServiceNames(report, r, 'MsgServices', services, MMP_SERVICES, ' for ServerType MMP (only imap, imaps, pop, pops)');
  } else {
    checkServiceNames(report, r, 'MsgServices', services, MSG_SERVICES, '');
  }
  if (services.includes('core') && services.length > 1) {
    report.error(r.where, 'MsgServices', `core must be alone in its resource, found with ${services.filter((s) => s !== 'core').join(', ')}`,
      'put core in its own resource and make the services resource require it');
  }
  const host = str(r.attrs.MsgHost);
  const mta = services.filter((s) => s === 'smtp' || s === 'lmtp');
  if (host !== undefined && mta.length > 0 && !isFqdn(host)) {
    report.error(r.where, 'MsgHost', `must be a fully qualified domain name when ${mta.join(' and ')} is listed (the probe address is LDAPTestUser@<domain of MsgHost>), got "${host}"`,
      'e.g. mail.example.com');
  }
  if (mta.length === 2) {
    report.warn(r.where, 'MsgServices', 'smtp and lmtp are both listed: deep monitoring checks only smtp', 'they cannot be controlled separately; this is expected, not an error');
  }
  testUserPair(report, r, 'LDAPTestUser', 'LDAPTestPasswd');
};

const sunJesAdm: Rule = (report, r) => {
  if (r.given.has('AdminUser') && !r.given.has('AdminPasswd')) {
    report.error(r.where, 'AdminPasswd', 'is required when AdminUser is set', 'encrypt the password with `msgha encrypt`');
  }
  if (r.given.has('AdminPasswd') && !r.given.has('AdminUser')) report.warn(r.where, 'AdminPasswd', 'is set without AdminUser and is never used');
};

const sunJesLdap: Rule = (report, r) => {
  const ssl = num(r.attrs.SSLPort);
  if (ssl !== undefined && ssl > 0 && ssl === num(r.attrs.LDAPPort)) {
    report.error(r.where, 'SSLPort', `is the same port as LDAPPort (${ssl})`, 'LDAPS needs its own port, e.g. 636');
  }
};

const netscapeMsg: Rule = (report, r) => {
  const keys = Object.keys(portMap(r.attrs.Ports));
  // stored has no port; all of NETSCAPE_DAEMONS get a process check.
  checkServiceNames(report, r, 'Ports', keys, NETSCAPE_PORT_KEYS, ` (Ports keys: ${NETSCAPE_PORT_KEYS.join(', ')}; ${NETSCAPE_DAEMONS.length - NETSCAPE_PORT_KEYS.length} daemon, stored, has no port)`);
  // The monitor as a whole ends at MonitorTimeout, so a longer ProbeTimeout is never waited for.
  // Only a ProbeTimeout the user wrote: the default is a cap, and MonitorTimeout follows
  // MonitorInterval when unset, so lowering MonitorInterval alone must stay clean.
  const probe = r.given.has('ProbeTimeout') ? num(r.attrs.ProbeTimeout) : undefined;
  const monitor = num(r.attrs.MonitorTimeout);
  if (probe !== undefined && monitor !== undefined && probe > monitor) {
    report.warn(r.where, 'ProbeTimeout', `ProbeTimeout (${probe} s) is longer than MonitorTimeout (${monitor} s): the monitor ends first and a probe never gets its full ProbeTimeout`,
      'raise MonitorTimeout together with ProbeTimeout (the seed waited 660 s), or lower ProbeTimeout');
  }
  testUserPair(report, r, 'LDAPTestUser', 'LDAPTestPasswd');
};

const application: Rule = (report, r) => {
  const probes = Object.keys(portMap(r.attrs.ProbeServices));
  checkServiceNames(report, r, 'ProbeServices', probes, APPLICATION_PROBE_SERVICES, '');
  const pidFiles = Array.isArray(r.attrs.PidFiles) ? (r.attrs.PidFiles as string[]) : [];
  for (const f of pidFiles) {
    if (!path.isAbsolute(f)) report.error(r.where, 'PidFiles', `"${f}" must be an absolute path`);
  }
  if (!r.given.has('PidFiles') && !r.given.has('MonitorProcesses')) {
    report.warn(r.where, 'MonitorProcesses', 'neither PidFiles nor MonitorProcesses is set: the monitor cannot recognise a daemon that forks into the background',
      'list the daemon\'s pid file or a string of its command line');
  }
  testUserPair(report, r, 'ProbeUser', 'ProbePasswd');
};

const ip: Rule = (report, r) => {
  const address = str(r.attrs.Address);
  if (address !== undefined && !parseIPv4Cidr(address)) {
    report.error(r.where, 'Address', `must be an IPv4 address with its prefix length, got "${address}"`, 'e.g. 192.0.2.25/24');
  }
  const device = str(r.attrs.Device);
  if (device !== undefined && !/^[A-Za-z0-9_.:@-]{1,15}$/.test(device)) {
    report.error(r.where, 'Device', `"${device}" is not a network interface name`, 'e.g. eth0 (at most 15 characters)');
  }
};

const RULES: Record<string, Rule> = {
  SunJESMsg: sunJesMsg,
  SunJESAdm: sunJesAdm,
  SunJESLDAP: sunJesLdap,
  NetscapeMsg: netscapeMsg,
  Application: application,
  IP: ip,
};

export function checkTypeRules(report: Report, r: CheckedResource): void {
  RULES[r.type.name]?.(report, r);
}
