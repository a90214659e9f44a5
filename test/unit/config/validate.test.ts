import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterDefinition, ResourceConfig } from '../../../plugin/model/cluster-types';
import { formatProblem, type Problem } from '../../../plugin/model/problems';
import { validateDefinition } from '../../../plugin/config/validate';
import { baseDefinition } from './base-definition';

type Def = ClusterDefinition & Record<string, unknown>;
interface Expected { severity: 'error' | 'warning'; where: string; attribute: string; message?: RegExp; hint?: RegExp }
interface Case { name: string; mutate: (d: Def) => void; expect: Expected[] }

const FILE = '/etc/msgha/test.config.js';
let dir: string;
const res = (d: Def, group: string, name: string): ResourceConfig => d.groups[group]!.resources[name]!;

function problemsOf(mutate: (d: Def) => void): Problem[] {
  const d = baseDefinition() as Def;
  mutate(d);
  return validateDefinition(d, FILE).problems;
}

function matches(p: Problem, e: Expected): boolean {
  return p.severity === e.severity && p.where === e.where && p.attribute === e.attribute &&
    (!e.message || e.message.test(p.message)) && (!e.hint || e.hint.test(p.hint ?? ''));
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgha-val-'));
  const write = (name: string, mode: number): void => {
    fs.writeFileSync(path.join(dir, name), '#!/bin/sh\nexit 0\n');
    fs.chmodSync(path.join(dir, name), mode);
  };
  write('ok.sh', 0o755);
  write('world.sh', 0o757);
  write('group.sh', 0o775);
  fs.chownSync(path.join(dir, 'group.sh'), 0, 1000);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the base definition', () => {
  it('has no problem at all', () => {
    expect(problemsOf(() => {}).map(formatProblem)).toEqual([]);
  });
});

const BAD: Case[] = [
  // SunJESMsg
  { name: 'core is alone', mutate: (d) => { res(d, 'mail', 'core').MsgServices = { core: 49994, imap: 1143 }; },
    expect: [{ severity: 'error', where: 'mail/core', attribute: 'MsgServices', message: /core must be alone/ }] },
  { name: 'MMP only imap imaps pop pops', mutate: (d) => { res(d, 'mail', 'mmp').MsgServices = { imap: 143, smtp: 2525 }; },
    expect: [{ severity: 'error', where: 'mail/mmp', attribute: 'MsgServices', message: /unknown service "smtp" for ServerType MMP/ }] },
  { name: 'FQDN MsgHost with smtp', mutate: (d) => { res(d, 'mail', 'imap').MsgHost = 'mail'; },
    expect: [{ severity: 'error', where: 'mail/imap', attribute: 'MsgHost', message: /fully qualified/ }] },
  { name: 'an IPv4 MsgHost is not a FQDN for lmtp', mutate: (d) => { res(d, 'mail', 'imap').MsgServices = { imap: 143, lmtp: 225 }; res(d, 'mail', 'imap').MsgHost = '192.0.2.25'; },
    expect: [{ severity: 'error', where: 'mail/imap', attribute: 'MsgHost', message: /when lmtp is listed/ }] },
  { name: 'smtp and lmtp of one ServerRoot never in two resources',
    mutate: (d) => { d.groups.mail!.resources.lmtp = { type: 'SunJESMsg', requires: ['core'], ServerRoot: '/srv/mail/msg/', MsgHost: 'mail.example.com', MsgServices: { lmtp: 225 } }; },
    expect: [{ severity: 'error', where: 'mail/lmtp', attribute: 'MsgServices', message: /cannot be controlled separately/ }] },
  { name: 'one service in two resources of one ServerRoot', mutate: (d) => { res(d, 'mail', 'http').MsgServices = { http: 80, pop: 1110 }; },
    expect: [{ severity: 'error', where: 'mail/http', attribute: 'MsgServices', message: /service pop of ServerRoot \/srv\/mail\/msg is already managed by mail\/imap/ }] },
  { name: 'unknown service name', mutate: (d) => { res(d, 'mail', 'imap').MsgServices = { imapp: 143 }; },
    expect: [{ severity: 'error', where: 'mail/imap', attribute: 'MsgServices', message: /unknown service "imapp"/, hint: /did you mean imap\?/ }] },
  { name: 'http requires imap', mutate: (d) => { res(d, 'mail', 'http').requires = ['core']; },
    expect: [{ severity: 'warning', where: 'mail/http', attribute: 'requires', message: /webmail/ }] },
  { name: 'services require core', mutate: (d) => { res(d, 'mail', 'imap').requires = ['vip', 'disk']; },
    expect: [{ severity: 'warning', where: 'mail/imap', attribute: 'requires', message: /does not require core/ }] },
  { name: 'smtp and lmtp together: only one is deep-checked', mutate: (d) => { res(d, 'mail', 'imap').MsgServices = { imap: 143, smtp: 25, lmtp: 225 }; },
    expect: [{ severity: 'warning', where: 'mail/imap', attribute: 'MsgServices', message: /checks only smtp/ }] },
  // SunJESAdm, SunJESLDAP
  { name: 'AdminPasswd required with AdminUser', mutate: (d) => { delete res(d, 'directory', 'admin').AdminPasswd; },
    expect: [{ severity: 'error', where: 'directory/admin', attribute: 'AdminPasswd', message: /required when AdminUser/ }] },
  { name: 'SSLPort differs from LDAPPort', mutate: (d) => { res(d, 'directory', 'ldap').SSLPort = 389; },
    expect: [{ severity: 'error', where: 'directory/ldap', attribute: 'SSLPort', message: /same port as LDAPPort/ }] },
  // ports
  { name: 'port 0', mutate: (d) => { res(d, 'mail', 'imap').MsgServices = { imap: 0, pop: 110, smtp: 25 }; },
    expect: [{ severity: 'error', where: 'mail/imap', attribute: 'MsgServices', message: /imap: port 0 is outside 1–65535/ }] },
  { name: 'port 70000', mutate: (d) => { res(d, 'directory', 'admin').AdminPort = 70000; },
    expect: [{ severity: 'error', where: 'directory/admin', attribute: 'AdminPort', message: /outside 1–65535/ }] },
  { name: 'two listeners on one host and port', mutate: (d) => { res(d, 'mail', 'http').MsgServices = { http: 143 }; },
    expect: [{ severity: 'error', where: 'mail/http', attribute: 'MsgServices', message: /port 143 on mail.example.com .* also used by mail\/imap/ }] },
  { name: 'AdminPort = LDAPPort on the same host', mutate: (d) => { res(d, 'directory', 'admin').AdminPort = 389; },
    expect: [{ severity: 'error', where: 'directory/admin', attribute: 'AdminPort', message: /also used by directory\/ldap \(LDAPPort\)/ }] },
  { name: 'Netscape default ports clash with a messaging server on the same host', mutate: (d) => { res(d, 'ns', 'msg').MsgHost = 'mail.example.com'; },
    expect: [{ severity: 'error', where: 'ns/msg', attribute: 'Ports', message: /port 25 on mail.example.com/ }] },
  { name: 'Application ProbeServices share a port', mutate: (d) => { res(d, 'mail', 'dovecot').ProbeServices = { imap: 10143, pop: 10143 }; },
    expect: [{ severity: 'error', where: 'mail/dovecot', attribute: 'ProbeServices', message: /also used by ProbeServices.imap/ }] },
  // SecondLevelMonitor, timings
  { name: 'SecondLevelMonitor negative', mutate: (d) => { res(d, 'mail', 'imap').SecondLevelMonitor = -1; },
    expect: [{ severity: 'error', where: 'mail/imap', attribute: 'SecondLevelMonitor', message: /≥ 0/ }] },
  { name: 'SecondLevelMonitor not an integer', mutate: (d) => { res(d, 'mail', 'imap').SecondLevelMonitor = 1.5; },
    expect: [{ severity: 'error', where: 'mail/imap', attribute: 'SecondLevelMonitor', message: /integer/ }] },
  { name: 'deep check rarer than an hour', mutate: (d) => { Object.assign(res(d, 'mail', 'imap'), { MonitorInterval: 600, SecondLevelMonitor: 7 }); },
    expect: [{ severity: 'warning', where: 'mail/imap', attribute: 'SecondLevelMonitor', message: /4200 s/ }] },
  { name: 'MonitorTimeout longer than MonitorInterval', mutate: (d) => { res(d, 'mail', 'imap').MonitorTimeout = 30; },
    expect: [{ severity: 'warning', where: 'mail/imap', attribute: 'MonitorTimeout', message: /longer than MonitorInterval/ }] },
  { name: 'ProbeTimeout longer than MonitorTimeout', mutate: (d) => { res(d, 'ns', 'msg').ProbeTimeout = 30; },
    expect: [{ severity: 'warning', where: 'ns/msg', attribute: 'ProbeTimeout', message: /longer than MonitorTimeout \(8 s\)/, hint: /raise MonitorTimeout together/ }] },
  { name: 'ProbeTimeout 660 s like the seed, MonitorTimeout left at its default', mutate: (d) => { Object.assign(res(d, 'ns', 'msg'), { ProbeTimeout: 660 }); },
    expect: [{ severity: 'warning', where: 'ns/msg', attribute: 'ProbeTimeout', message: /660 s/ }] },
  { name: 'very short OnlineTimeout', mutate: (d) => { res(d, 'mail', 'imap').OnlineTimeout = 2; },
    expect: [{ severity: 'warning', where: 'mail/imap', attribute: 'OnlineTimeout', message: /very short/ }] },
  { name: 'very short OfflineTimeout', mutate: (d) => { res(d, 'mail', 'imap').OfflineTimeout = 1; },
    expect: [{ severity: 'warning', where: 'mail/imap', attribute: 'OfflineTimeout', message: /very short/ }] },
  { name: 'group start over an hour', mutate: (d) => { res(d, 'mail', 'imap').OnlineTimeout = 3000; res(d, 'mail', 'core').OnlineTimeout = 3000; },
    expect: [{ severity: 'warning', where: 'mail', attribute: 'OnlineTimeout', message: /over an hour/ }] },
  // MonitorProgram
  { name: 'MonitorProgram relative', mutate: (d) => { res(d, 'mail', 'imap').MonitorProgram = 'check.sh -v'; },
    expect: [{ severity: 'error', where: 'mail/imap', attribute: 'MonitorProgram', message: /absolute path/ }] },
  { name: 'MonitorProgram world-writable', mutate: (d) => { res(d, 'mail', 'imap').MonitorProgram = `${dir}/world.sh --deep`; },
    expect: [{ severity: 'error', where: 'mail/imap', attribute: 'MonitorProgram', message: /is not trusted: .*world\.sh is writable by others \(mode 0757\)/, hint: /chown root:root .*world\.sh; chmod go-w/ }] },
  { name: 'MonitorProgram group-writable by a non-root group', mutate: (d) => { res(d, 'mail', 'imap').MonitorProgram = [`${dir}/group.sh`]; },
    expect: [{ severity: 'error', where: 'mail/imap', attribute: 'MonitorProgram', message: /group\.sh is writable by its group, gid 1000/ }] },
  { name: 'MonitorProgram missing on this node', mutate: (d) => { res(d, 'mail', 'imap').MonitorProgram = `${dir}/nope.sh`; },
    expect: [{ severity: 'warning', where: 'mail/imap', attribute: 'MonitorProgram', message: /does not exist on this node/ }] },
  // types, attributes, kinds
  { name: 'unknown type', mutate: (d) => { res(d, 'mail', 'dovecot').type = 'Aplication'; },
    expect: [{ severity: 'error', where: 'mail/dovecot', attribute: 'type', message: /unknown resource type/, hint: /did you mean Application\?/ }] },
  { name: 'missing type', mutate: (d) => { delete (res(d, 'mail', 'dovecot') as Partial<ResourceConfig>).type; },
    expect: [{ severity: 'error', where: 'mail/dovecot', attribute: 'type', message: /is required/ }] },
  { name: 'unknown attribute', mutate: (d) => { res(d, 'mail', 'imap').Msghost = 'x'; },
    expect: [{ severity: 'error', where: 'mail/imap', attribute: 'Msghost', message: /unknown attribute/, hint: /did you mean MsgHost\?/ }] },
  { name: 'lower-case attribute', mutate: (d) => { const v = res(d, 'mail', 'vip'); v.address = v.Address; delete v.Address; },
    expect: [{ severity: 'error', where: 'mail/vip', attribute: 'address', hint: /did you mean Address\?/ },
      { severity: 'error', where: 'mail/vip', attribute: 'Address', message: /is required/ }] },
  { name: 'required attribute', mutate: (d) => { delete res(d, 'mail', 'core').ServerRoot; },
    expect: [{ severity: 'error', where: 'mail/core', attribute: 'ServerRoot', message: /is required/ }] },
  { name: 'path must be absolute', mutate: (d) => { res(d, 'directory', 'ldap').InstanceRoot = 'srv/slapd'; },
    expect: [{ severity: 'error', where: 'directory/ldap', attribute: 'InstanceRoot', message: /absolute path/ }] },
  { name: 'host kind', mutate: (d) => { res(d, 'directory', 'ldap').LDAPHost = 'ldap_host!'; },
    expect: [{ severity: 'error', where: 'directory/ldap', attribute: 'LDAPHost', message: /host name/ }] },
  { name: 'bad IPv4 as host', mutate: (d) => { res(d, 'directory', 'ldap').LDAPHost = '300.1.1.1'; },
    expect: [{ severity: 'error', where: 'directory/ldap', attribute: 'LDAPHost' }] },
  { name: 'enum kind', mutate: (d) => { res(d, 'mail', 'mmp').ServerType = 'mmp'; },
    expect: [{ severity: 'error', where: 'mail/mmp', attribute: 'ServerType', message: /one of MSG, MMP/, hint: /did you mean MMP\?/ }] },
  { name: 'int kind', mutate: (d) => { res(d, 'mail', 'imap').RestartLimit = '3'; },
    expect: [{ severity: 'error', where: 'mail/imap', attribute: 'RestartLimit', message: /integer/, hint: /without quotes/ }] },
  { name: 'bool kind', mutate: (d) => { res(d, 'mail', 'imap').Critical = 'yes'; },
    expect: [{ severity: 'error', where: 'mail/imap', attribute: 'Critical', message: /true or false/ }] },
  { name: 'stringList kind', mutate: (d) => { res(d, 'mail', 'dovecot').PidFiles = '/run/x.pid'; },
    expect: [{ severity: 'error', where: 'mail/dovecot', attribute: 'PidFiles', message: /list/ }] },
  { name: 'command program absolute', mutate: (d) => { res(d, 'mail', 'dovecot').StartProgram = 'dovecot -c /x'; },
    expect: [{ severity: 'error', where: 'mail/dovecot', attribute: 'StartProgram', message: /absolute/ }] },
  { name: 'Application probe service names', mutate: (d) => { res(d, 'mail', 'dovecot').ProbeServices = { imapx: 10143 }; },
    expect: [{ severity: 'error', where: 'mail/dovecot', attribute: 'ProbeServices', hint: /did you mean imap/ }] },
  { name: 'Application needs a way to recognise its daemon', mutate: (d) => { delete res(d, 'mail', 'dovecot').PidFiles; },
    expect: [{ severity: 'warning', where: 'mail/dovecot', attribute: 'MonitorProcesses' }] },
  { name: 'enum of ResLogLevel', mutate: (d) => { res(d, 'mail', 'core').ResLogLevel = 'DEBUG'; },
    expect: [{ severity: 'error', where: 'mail/core', attribute: 'ResLogLevel', message: /ERROR, WARN, INFO, TRACE/ }] },
  // secrets
  { name: 'clear-text password', mutate: (d) => { res(d, 'mail', 'imap').LDAPTestPasswd = 'hunter2'; },
    expect: [{ severity: 'warning', where: 'mail/imap', attribute: 'LDAPTestPasswd', message: /clear text/, hint: /msgha encrypt/ }] },
  { name: 'malformed encrypted value', mutate: (d) => { res(d, 'directory', 'admin').AdminPasswd = 'enc:v1:***'; },
    expect: [{ severity: 'error', where: 'directory/admin', attribute: 'AdminPasswd', message: /base64url/ }] },
  { name: 'unknown secret format', mutate: (d) => { res(d, 'directory', 'admin').AdminPasswd = 'enc:v9:abc'; },
    expect: [{ severity: 'error', where: 'directory/admin', attribute: 'AdminPasswd', message: /unknown secret format/ }] },
  // requires
  { name: 'cycle in requires', mutate: (d) => { res(d, 'mail', 'core').requires = ['vip', 'disk', 'http']; },
    expect: [{ severity: 'error', where: 'mail/core', attribute: 'requires', message: /cycle: core → http → imap → core/ }] },
  { name: 'requires a resource of another group', mutate: (d) => { res(d, 'mail', 'core').requires = ['vip', 'disk', 'ldap']; },
    expect: [{ severity: 'error', where: 'mail/core', attribute: 'requires', message: /ldap is a resource of group directory/, hint: /dependsOn/ }] },
  { name: 'requires an unknown resource', mutate: (d) => { res(d, 'mail', 'imap').requires = ['cor']; },
    expect: [{ severity: 'error', where: 'mail/imap', attribute: 'requires', message: /no resource cor/, hint: /did you mean core\?/ }] },
  { name: 'requires itself', mutate: (d) => { res(d, 'mail', 'imap').requires = ['core', 'imap']; },
    expect: [{ severity: 'error', where: 'mail/imap', attribute: 'requires', message: /itself/ }] },
  { name: 'server on a disk it does not require', mutate: (d) => { res(d, 'directory', 'ldap').requires = ['vip']; },
    expect: [{ severity: 'warning', where: 'directory/ldap', attribute: 'requires', message: /before the disk is mounted/ }] },
  { name: 'Application with a ProcessRoot list, one path on a disk it does not require',
    mutate: (d) => { const a = res(d, 'mail', 'dovecot'); a.requires = []; a.ProcessRoot = ['/opt/dovecot', '/srv/mail/dovecot']; },
    expect: [{ severity: 'warning', where: 'mail/dovecot', attribute: 'requires', message: /ProcessRoot \/srv\/mail\/dovecot is on \/srv\/mail .*before the disk is mounted/ }] },
  // groups
  { name: 'empty group', mutate: (d) => { d.groups.empty = { resources: {} }; },
    expect: [{ severity: 'error', where: 'empty', attribute: 'resources', message: /no resource/ }] },
  { name: 'group without resources', mutate: (d) => { d.groups.empty = {} as never; },
    expect: [{ severity: 'error', where: 'empty', attribute: 'resources', message: /is required/ }] },
  { name: 'systemList node not in cluster.nodes', mutate: (d) => { d.groups.mail!.systemList = ['mx2', 'mx11']; },
    expect: [{ severity: 'error', where: 'mail', attribute: 'systemList', message: /mx11 is not in cluster.nodes/, hint: /did you mean mx1\?/ }] },
  { name: 'dependsOn unknown group', mutate: (d) => { d.groups.mail!.dependsOn = [{ group: 'directry', kind: 'online-global-soft' }]; },
    expect: [{ severity: 'error', where: 'mail', attribute: 'dependsOn', message: /does not exist/, hint: /did you mean directory\?/ }] },
  { name: 'dependsOn kind', mutate: (d) => { d.groups.mail!.dependsOn = [{ group: 'directory', kind: 'online-global-sotf' as never }]; },
    expect: [{ severity: 'error', where: 'mail', attribute: 'dependsOn', hint: /did you mean online-global-soft\?/ }] },
  { name: 'group dependency cycle', mutate: (d) => { d.groups.directory!.dependsOn = [{ group: 'mail', kind: 'online-local-firm' }]; },
    expect: [{ severity: 'error', where: 'directory', attribute: 'dependsOn', message: /cycle: directory → mail → directory/ }] },
  { name: 'unknown group key', mutate: (d) => { (d.groups.mail as unknown as Record<string, unknown>).systemlist = ['mx1']; },
    expect: [{ severity: 'error', where: 'mail', attribute: 'systemlist', hint: /did you mean systemList\?/ }] },
  { name: 'bad group name', mutate: (d) => { d.groups['mail.x'] = d.groups.ns!; delete d.groups.ns; },
    expect: [{ severity: 'error', where: 'mail.x', attribute: '', message: /group name/ }] },
  // cluster
  { name: 'cluster name required', mutate: (d) => { delete (d.cluster as Partial<typeof d.cluster>).name; },
    expect: [{ severity: 'error', where: 'cluster', attribute: 'name', message: /required/ }] },
  { name: 'at most 32 nodes', mutate: (d) => { d.cluster.nodes = Array.from({ length: 33 }, (_, i) => `n${i}`).concat(['mx1', 'mx2']); },
    expect: [{ severity: 'error', where: 'cluster', attribute: 'nodes', message: /1 to 32/ }] },
  { name: 'nodes unique', mutate: (d) => { d.cluster.nodes = ['mx1', 'mx2', 'mx1']; },
    expect: [{ severity: 'error', where: 'cluster', attribute: 'nodes', message: /mx1 is listed twice/ }] },
  { name: 'lease profile', mutate: (d) => { d.cluster.lease = { profile: 'nsf' as never }; },
    expect: [{ severity: 'error', where: 'cluster', attribute: 'lease.profile', hint: /did you mean nfs\?/ }] },
  { name: 'metrics.listen host:port', mutate: (d) => { d.cluster.metrics = { listen: '127.0.0.1' }; },
    expect: [{ severity: 'error', where: 'cluster', attribute: 'metrics.listen', message: /HOST:PORT/ }] },
  { name: 'metrics on a non-loopback address needs credentials', mutate: (d) => { d.cluster.metrics = { listen: '0.0.0.0:9464' }; },
    expect: [{ severity: 'error', where: 'cluster', attribute: 'metrics.listen', message: /not a loopback address/, hint: /basicAuth or metrics.bearerTokenFile/ }] },
  { name: 'metrics basic auth: user without ":", password from an absolute file',
    mutate: (d) => { d.cluster.metrics = { listen: '192.0.2.1:9464', basicAuth: { user: 'a:b', passwordFile: 'pass.txt' } }; },
    expect: [
      { severity: 'error', where: 'cluster', attribute: 'metrics.basicAuth.user', message: /without ":"/ },
      { severity: 'error', where: 'cluster', attribute: 'metrics.basicAuth.passwordFile', message: /absolute path/ },
    ] },
  { name: 'metrics: basic auth or bearer token, not both',
    mutate: (d) => { d.cluster.metrics = { basicAuth: { user: 'prom', passwordFile: '/etc/msgha/p' }, bearerTokenFile: '/etc/msgha/t' }; },
    expect: [{ severity: 'error', where: 'cluster', attribute: 'metrics.bearerTokenFile', message: /not both/ }] },
  { name: 'unknown metrics key', mutate: (d) => { d.cluster.metrics = { listen: '127.0.0.1:9464', bearerToken: 'x' } as never; },
    expect: [{ severity: 'error', where: 'cluster', attribute: 'metrics.bearerToken', hint: /known: listen, basicAuth, bearerTokenFile/ }] },
  { name: 'unknown cluster key', mutate: (d) => { (d.cluster as unknown as Record<string, unknown>).shareDir = '/x'; },
    expect: [{ severity: 'error', where: 'cluster', attribute: 'shareDir', hint: /did you mean sharedDir\?/ }] },
  { name: 'no sharedDir with two nodes', mutate: (d) => { delete d.cluster.sharedDir; },
    expect: [{ severity: 'warning', where: 'cluster', attribute: 'sharedDir' }] },
  { name: 'unknown top-level key', mutate: (d) => { d.group = {}; },
    expect: [{ severity: 'error', where: 'file', attribute: 'group', hint: /did you mean groups\?/ }] },
  // IP, Mount, instances
  { name: 'IP Address needs a prefix', mutate: (d) => { res(d, 'mail', 'vip').Address = '192.0.2.25'; },
    expect: [{ severity: 'error', where: 'mail/vip', attribute: 'Address', message: /prefix length/ }] },
  { name: 'two IP resources with the same Address', mutate: (d) => { res(d, 'mail', 'vip').Address = '192.0.2.20/25'; },
    expect: [{ severity: 'error', where: 'mail/vip', attribute: 'Address', message: /192.0.2.20 is also used by directory\/vip/ }] },
  // NIC, and the IP's link (network-rules.ts)
  { name: 'IP without a NIC in its group', mutate: (d) => { delete d.groups.mail!.resources.link; },
    expect: [{ severity: 'warning', where: 'mail/vip', attribute: 'Device', message: /group mail has no NIC resource on eth0, the device of IP resource vip/, hint: /add a NIC resource on that device to group mail.*so a dead link moves the group; see docs\/network.md/ }] },
  { name: 'NIC on another device than the IP', mutate: (d) => { res(d, 'mail', 'link').Device = 'eth1'; },
    expect: [{ severity: 'warning', where: 'mail/vip', attribute: 'Device', message: /no NIC resource on eth0/ }] },
  { name: 'a NIC of another group does not count', mutate: (d) => { delete d.groups.directory!.resources.link; },
    expect: [{ severity: 'warning', where: 'directory/vip', attribute: 'Device', message: /group directory has no NIC resource on eth0/ }] },
  { name: 'IP in a network namespace, NIC outside it', mutate: (d) => { res(d, 'mail', 'vip').ContainerName = 'mailns'; },
    expect: [{ severity: 'warning', where: 'mail/vip', attribute: 'Device', message: /no NIC resource on eth0 in network namespace mailns/, hint: /ContainerName: 'mailns'/ }] },
  { name: 'NIC PingHosts an empty list', mutate: (d) => { res(d, 'mail', 'link').PingHosts = []; },
    expect: [{ severity: 'warning', where: 'mail/link', attribute: 'PingHosts', message: /carrier only, so a detached port .* is not detected/ }] },
  { name: 'NIC PingHosts not IPv4', mutate: (d) => { res(d, 'mail', 'link').PingHosts = ['192.0.2.1', 'gw.example.com']; },
    expect: [{ severity: 'error', where: 'mail/link', attribute: 'PingHosts', message: /"gw.example.com" is not an IPv4 address/ }] },
  { name: 'NIC Device not an interface name', mutate: (d) => { res(d, 'mail', 'link').Device = 'eth0; reboot'; },
    expect: [{ severity: 'error', where: 'mail/link', attribute: 'Device', message: /is not a network interface name/ }] },
  { name: 'NIC PingCount beyond 10', mutate: (d) => { res(d, 'mail', 'link').PingCount = 11; },
    expect: [{ severity: 'error', where: 'mail/link', attribute: 'PingCount' }] },
  { name: 'NIC PingTimeoutMs that does not fit in MonitorTimeout', mutate: (d) => { res(d, 'mail', 'link').PingTimeoutMs = 1500; },
    expect: [{ severity: 'warning', where: 'mail/link', attribute: 'PingTimeoutMs', message: /1500 ms .* does not fit in MonitorTimeout \(1 s\)/, hint: /at most 800 ms or raise MonitorTimeout/ }] },
  { name: 'Mount FsckOpt with an unclosed quote', mutate: (d) => { res(d, 'mail', 'disk').FsckOpt = '-p -E "discard'; },
    expect: [{ severity: 'error', where: 'mail/disk', attribute: 'FsckOpt', message: /unclosed quote/ }] },
  { name: 'MountPoint unique across groups', mutate: (d) => { res(d, 'mail', 'disk').MountPoint = '/srv/dir/'; },
    expect: [{ severity: 'error', where: 'mail/disk', attribute: 'MountPoint', message: /also used by directory\/disk/ }] },
  { name: 'one instance in two groups',
    mutate: (d) => { d.groups.ns!.resources.ldap = { type: 'SunJESLDAP', InstanceRoot: '/opt/slapd', LDAPHost: 'ns.example.com' }; d.groups.mail!.resources.ldap = { type: 'SunJESLDAP', InstanceRoot: '/opt/slapd', LDAPHost: 'mail.example.com' }; },
    expect: [{ severity: 'warning', where: 'mail/ldap', attribute: 'InstanceRoot', message: /used by groups mail, ns/ }] },
  { name: 'one directory instance in two resources of a group',
    mutate: (d) => { d.groups.directory!.resources.ldap2 = { type: 'SunJESLDAP', requires: ['disk'], InstanceRoot: '/srv/dir/slapd-dir', LDAPHost: 'ldap2.example.com' }; },
    expect: [{ severity: 'error', where: 'directory/ldap2', attribute: 'InstanceRoot', message: /already managed by directory\/ldap/ }] },
  { name: 'Netscape: one instance per ServerRoot',
    mutate: (d) => { d.groups.ns!.resources.msg2 = { type: 'NetscapeMsg', ServerRoot: '/netscape/suitespot', MsgHost: 'ns2.example.com' }; },
    expect: [{ severity: 'error', where: 'ns/msg2', attribute: 'ServerRoot', message: /one NetscapeMsg instance per server root/ }] },
  { name: 'Netscape Ports keys', mutate: (d) => { res(d, 'ns', 'msg').Ports = { smtp: 25, pop3: 110 }; },
    expect: [{ severity: 'error', where: 'ns/msg', attribute: 'Ports', hint: /did you mean pop\?/ }] },
];

describe('each rule reports its problem at the right place', () => {
  it.each(BAD)('$name', ({ mutate, expect: expected }) => {
    const problems = problemsOf(mutate);
    for (const e of expected) {
      const found = problems.some((p) => matches(p, e));
      expect(found, `expected ${JSON.stringify(e, (_k, v) => (v instanceof RegExp ? String(v) : v))} in:\n${problems.map(formatProblem).join('\n')}`).toBe(true);
    }
    for (const p of problems) expect(p.file).toBe(FILE);
  });
});

const GOOD: Case[] = [
  { name: 'IPv4 MsgHost without smtp/lmtp', mutate: (d) => { res(d, 'mail', 'mmp').MsgHost = '192.0.2.26'; }, expect: [] },
  { name: 'SecondLevelMonitor 0', mutate: (d) => { res(d, 'mail', 'imap').SecondLevelMonitor = 0; }, expect: [] },
  { name: 'MonitorProgram safe, with arguments', mutate: (d) => { res(d, 'mail', 'imap').MonitorProgram = `${dir}/ok.sh --deep "two words"`; }, expect: [] },
  { name: 'same port on two hosts', mutate: (d) => { res(d, 'ns', 'msg').Ports = { smtp: 25, imap: 143 }; }, expect: [] },
  { name: 'short host name without smtp', mutate: (d) => { res(d, 'directory', 'ldap').LDAPHost = 'ldap'; res(d, 'directory', 'admin').AdminHost = 'ldap'; }, expect: [] },
  { name: 'every dependency kind', mutate: (d) => { d.groups.ns!.dependsOn = [{ group: 'directory', kind: 'online-local-hard' }, { group: 'mail', kind: 'online-global-firm' }]; }, expect: [] },
  { name: 'metrics on any address with a bearer token file', mutate: (d) => { d.cluster.metrics = { listen: '192.0.2.1:9464', bearerTokenFile: '/etc/msgha/metrics.token' }; }, expect: [] },
  { name: 'metrics on any address with basic auth', mutate: (d) => { d.cluster.metrics = { listen: 'mx1.example.com:9464', basicAuth: { user: 'prometheus', passwordFile: '/etc/msgha/metrics.pass' } }; }, expect: [] },
  { name: 'a single node', mutate: (d) => { d.cluster.nodes = ['mx1']; d.groups.directory!.systemList = ['mx1']; d.groups.mail!.systemList = ['mx1']; }, expect: [] },
  { name: 'smtp and lmtp in the same resource are not an error', mutate: (d) => { res(d, 'mail', 'imap').MsgServices = { imap: 143, smtp: 25, lmtp: 225 }; }, expect: [] },
];

/** Variants that must raise no problem at all, warnings included. */
const CLEAN: Case[] = [
  { name: 'NIC PingTimeoutMs within a longer MonitorTimeout', mutate: (d) => { Object.assign(res(d, 'mail', 'link'), { PingTimeoutMs: 1500, MonitorInterval: 2, MonitorTimeout: 2 }); }, expect: [] },
  { name: 'NIC PingHosts unset (the gateway, else carrier only)', mutate: (d) => { delete res(d, 'mail', 'link').PingHosts; }, expect: [] },
  { name: 'NIC and IP in the same network namespace', mutate: (d) => { res(d, 'mail', 'vip').ContainerName = 'mailns'; res(d, 'mail', 'link').ContainerName = 'mailns'; }, expect: [] },
  { name: 'a single node: no NIC needed (nowhere to move to)',
    mutate: (d) => { d.cluster.nodes = ['mx1']; delete d.cluster.sharedDir; delete d.cluster.fence; d.groups.directory!.systemList = ['mx1']; d.groups.mail!.systemList = ['mx1']; delete d.groups.mail!.resources.link; delete d.groups.directory!.resources.link; }, expect: [] },
];

describe('clean variants raise no problem', () => {
  it.each(CLEAN)('$name', ({ mutate }) => {
    expect(problemsOf(mutate).map(formatProblem)).toEqual([]);
  });
});

describe('valid variants raise no error', () => {
  it.each(GOOD)('$name', ({ mutate }) => {
    const errors = problemsOf(mutate).filter((p) => p.severity === 'error');
    expect(errors.map(formatProblem)).toEqual([]);
  });
});

describe('every problem at once', () => {
  it('reports all of several independent errors in one run, in file order', () => {
    const problems = problemsOf((d) => {
      delete res(d, 'directory', 'admin').AdminPasswd;
      res(d, 'mail', 'core').MsgServices = { core: 1, ens: 2 };
      res(d, 'mail', 'dovecot').type = 'Nope';
      d.cluster.lease = { profile: 'x' as never };
      res(d, 'ns', 'msg').ServerRoot = 'relative';
    });
    const where = problems.filter((p) => p.severity === 'error').map((p) => `${p.where}:${p.attribute}`);
    expect(where).toEqual(['cluster:lease.profile', 'directory/admin:AdminPasswd', 'mail/core:MsgServices', 'mail/dovecot:type', 'ns/msg:ServerRoot']);
  });

  it('never throws on garbage', () => {
    for (const junk of [null, 42, 'x', [], { cluster: 1, groups: 2 }, { groups: { g: null } }, { groups: { g: { resources: { r: 5 } } } },
      { cluster: { nodes: 'a' }, groups: { g: { resources: { r: { type: 'IP', requires: 'x', Address: {} } } } } }]) {
      const r = validateDefinition(junk, FILE);
      expect(r.errors).toBeGreaterThan(0);
    }
  });

  it('formats a problem as FILE: where: Attribute: message (hint)', () => {
    const [p] = problemsOf((d) => { res(d, 'mail', 'imap').Msghost = 'x'; });
    expect(formatProblem(p!)).toBe(`${FILE}: mail/imap: Msghost: unknown attribute for type SunJESMsg (did you mean MsgHost?)`);
  });
});
