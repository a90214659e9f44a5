/**
 * clientProbes of every type with protocol deep checks (Application only when it is probed on
 * the VIP itself): the deep check's own plan aimed at the
 * VIP (the declared host kept as the TLS/Host name, the SMTP recipient's domain still MsgHost's),
 * the test account decrypted at the moment of use in the resource's place, banner-only without
 * one, NetscapeMsg's policy and ProbeTimeout, an empty plan for the store core, and a secret that
 * does not decrypt → a problem naming the attribute, never the value. Live probes: remote-probe.test.ts.
 */
import { promises as fs } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getResourceType, RESOURCE_TYPES } from '../../../plugin/resource-types';
import type { ClientProbes } from '../../../plugin/resource-types/contract';
import { aimAt } from '../../../plugin/resource-types/deep-probes';
import { encryptSecret, writeNewKey } from '../../../plugin/secrets';
import { agentContext, resolvedResource } from '../../contract/agent-context';

const DIR = `/tmp/mhcp-${process.pid}`;
const KEY = `${DIR}/cluster.key`;
const OTHER_KEY = `${DIR}/other.key`;
const VIP = '192.0.2.50';

beforeAll(async () => {
  await fs.mkdir(DIR, { recursive: true, mode: 0o700 });
  writeNewKey(KEY, true);
  writeNewKey(OTHER_KEY, true);
});
afterAll(async () => {
  await fs.rm(DIR, { recursive: true, force: true });
});

/** The attribute's value encrypted for its place (cluster 'test', as agentContext resolves it). */
function enc(clear: string, resource: string, attribute: string, keyFile = KEY): string {
  return encryptSecret(clear, keyFile, { cluster: 'test', group: 'test', resource, attribute });
}

async function client(type: string, name: string, attrs: Record<string, unknown>, lines?: string[]): Promise<ClientProbes> {
  const ctx = agentContext(resolvedResource(type, name, attrs), { keyFile: KEY, lines, level: 'TRACE' });
  return getResourceType(type)!.clientProbes!(ctx, VIP);
}

function plan(c: ClientProbes) {
  if ('problem' in c) throw new Error(`unexpected problem: ${c.problem}`);
  return c.plan.map((p) => ({ check: p.check, probe: p.probe, host: p.host, port: p.port, ...p.options }));
}

describe('which types have client probes', () => {
  it('the types with protocol deep checks, and no other', () => {
    const withProbes = RESOURCE_TYPES.filter((t) => t.clientProbes).map((t) => t.name).sort();
    expect(withProbes).toEqual(['Application', 'NetscapeMsg', 'SunJESAdm', 'SunJESLDAP', 'SunJESMsg']);
  });
});

describe('Application', () => {
  const base = { StartProgram: '/usr/sbin/dovecot', ProbeServices: { imap: 143, smtp: 25 } };

  it('probed on the VIP itself: its services are the clients\', with ProbeUser as the login and the SMTP recipient', async () => {
    const c = await client('Application', 'dovecot', { ...base, ProbeHost: VIP, ProbeUser: 'probe@example.com', ProbePasswd: enc('pw', 'dovecot', 'ProbePasswd') });
    expect(plan(c)).toEqual([
      { check: 'imap:143', probe: 'imap', host: VIP, port: 143, user: 'probe@example.com', password: 'pw' },
      { check: 'smtp:25', probe: 'smtp', host: VIP, port: 25, recipient: 'probe@example.com' },
    ]);
  });

  it('probed on another address (the default 127.0.0.1: maybe a loopback-only daemon): no remote probe', async () => {
    expect(await client('Application', 'dovecot', base)).toEqual({ plan: [] });
    expect(await client('Application', 'dovecot', { ...base, ProbeHost: '192.0.2.99' })).toEqual({ plan: [] });
  });
});

describe('SunJESMsg', () => {
  const base = { ServerRoot: '/sunone/msg', MsgHost: 'mail.example.com', MsgServices: { imap: 143, smtp: 25, imaps: 993, snmp: 161 } };

  it('with the test user: logins and RCPT TO user@<domain of MsgHost>, through the VIP, the name kept for TLS', async () => {
    const c = await client('SunJESMsg', 'svc', { ...base, LDAPTestUser: 'probe', LDAPTestPasswd: enc('s3cret', 'svc', 'LDAPTestPasswd') });
    expect(plan(c)).toEqual([
      { check: 'imap:143', probe: 'imap', host: VIP, port: 143, user: 'probe', password: 's3cret', servername: 'mail.example.com' },
      { check: 'smtp:25', probe: 'smtp', host: VIP, port: 25, recipient: 'probe@example.com', servername: 'mail.example.com' },
      { check: 'imaps:993', probe: 'imaps', host: VIP, port: 993, servername: 'mail.example.com' },
    ]);
    expect(c).not.toHaveProperty('policy');
  });

  it('without a test user: greeting-only probes', async () => {
    const c = await client('SunJESMsg', 'svc', base);
    expect(plan(c).map((p) => [p.check, p.user ?? '-', p.recipient ?? '-'])).toEqual([['imap:143', '-', '-'], ['smtp:25', '-', '-'], ['imaps:993', '-', '-']]);
  });

  it('MsgHost given as an address: no TLS name is made up', async () => {
    const c = await client('SunJESMsg', 'svc', { ...base, MsgHost: '10.1.1.5', MsgServices: { imap: 143 } });
    expect(plan(c)).toEqual([{ check: 'imap:143', probe: 'imap', host: VIP, port: 143 }]);
  });

  it('MMP: logins through the proxy', async () => {
    const c = await client('SunJESMsg', 'mmp', { ...base, ServerType: 'MMP', MsgServices: { imap: 143, pop: 110 }, LDAPTestUser: 'probe', LDAPTestPasswd: enc('pw', 'mmp', 'LDAPTestPasswd') });
    expect(plan(c).map((p) => [p.check, p.probe, p.user])).toEqual([['imap:143', 'mmp-imap', 'probe'], ['pop:110', 'mmp-pop', 'probe']]);
  });

  it('the store core offers no client service: an empty plan', async () => {
    expect(await client('SunJESMsg', 'core', { ServerRoot: '/sunone/msg', MsgHost: 'mail.example.com', MsgServices: { core: 49994 } })).toEqual({ plan: [] });
  });

  it('a secret that does not decrypt → a problem naming the attribute, never the secret', async () => {
    const lines: string[] = [];
    const wrongKey = enc('s3cret', 'svc', 'LDAPTestPasswd', OTHER_KEY);
    const wrongPlace = enc('s3cret', 'elsewhere', 'LDAPTestPasswd');
    for (const value of [wrongKey, wrongPlace]) {
      const c = await client('SunJESMsg', 'svc', { ...base, LDAPTestUser: 'probe', LDAPTestPasswd: value }, lines);
      expect(c).toEqual({ problem: expect.stringContaining('cannot decrypt LDAPTestPasswd') });
      const text = JSON.stringify(c) + lines.join('\n');
      expect(text).not.toContain('s3cret');
      expect(text).not.toContain(value.slice(8, 40));
    }
  });

  it('a required attribute missing (bypassed validation) → a problem, no exception', async () => {
    expect(await client('SunJESMsg', 'svc', { ServerRoot: '/x', MsgServices: { imap: 143 } })).toEqual({ problem: 'MsgHost is not set' });
  });
});

describe('NetscapeMsg', () => {
  const base = { ServerRoot: '/netscape/suitespot', MsgHost: 'mail.example.com', Ports: { smtp: 25, pop: 110, imap: 143, http: 80 } };

  it('its ProbeFailurePolicy and ProbeTimeout come with the plan', async () => {
    const c = await client('NetscapeMsg', 'ns', { ...base, ProbeFailurePolicy: 'timeout-only', ProbeTimeout: 3 });
    expect(c).toMatchObject({ policy: 'timeout-only', capMs: 3000 });
    expect(plan(c).map((p) => [p.check, p.host])).toEqual([['smtp:25', VIP], ['pop:110', VIP], ['imap:143', VIP], ['http:80', VIP]]);
  });

  it('defaults: policy any, ProbeTimeout 5 s; the test user logs in to pop, imap and http', async () => {
    const c = await client('NetscapeMsg', 'ns', { ...base, LDAPTestUser: 'probe', LDAPTestPasswd: enc('pw', 'ns', 'LDAPTestPasswd') });
    expect(c).toMatchObject({ policy: 'any', capMs: 5000 });
    expect(plan(c).map((p) => [p.check, p.user ?? '-', p.recipient ?? '-'])).toEqual([
      ['smtp:25', '-', 'probe@example.com'], ['pop:110', 'probe', '-'], ['imap:143', 'probe', '-'], ['http:80', 'probe', '-'],
    ]);
  });
});

describe('SunJESLDAP and SunJESAdm', () => {
  it('LDAP: the cn=monitor search, and the TLS handshake on SSLPort', async () => {
    const c = await client('SunJESLDAP', 'ldap', { InstanceRoot: '/d/slapd-a', LDAPHost: 'ldap.example.com', SSLPort: 636 });
    expect(plan(c)).toEqual([
      { check: 'ldap:389', probe: 'ldap', host: VIP, port: 389, servername: 'ldap.example.com' },
      { check: 'ldaps:636', probe: 'tls', host: VIP, port: 636, servername: 'ldap.example.com' },
    ]);
  });

  it('Adm with AdminUser: the authenticated read-back of AdminPort', async () => {
    const c = await client('SunJESAdm', 'adm', { ServerRoot: '/a', AdminHost: 'admin.example.com', AdminUser: 'admin', AdminPasswd: enc('apw', 'adm', 'AdminPasswd') });
    expect(plan(c)).toEqual([{ check: 'admin:390', probe: 'admin', host: VIP, port: 390, user: 'admin', password: 'apw', path: '/admin-serv/tasks/configuration/getPort', expectPort: 390, servername: 'admin.example.com' }]);
  });

  it('Adm without AdminUser: a connection (a handshake with SSLEnabled)', async () => {
    const c = await client('SunJESAdm', 'adm', { ServerRoot: '/a', AdminHost: 'admin.example.com', SSLEnabled: true });
    expect(plan(c)).toEqual([{ check: 'admin:390', probe: 'admins', host: VIP, port: 390, servername: 'admin.example.com' }]);
  });

  it('Adm: an AdminPasswd that does not decrypt → a problem naming AdminPasswd', async () => {
    const c = await client('SunJESAdm', 'adm', { ServerRoot: '/a', AdminHost: 'admin.example.com', AdminUser: 'admin', AdminPasswd: enc('apw', 'adm', 'AdminPasswd', OTHER_KEY) });
    expect(c).toEqual({ problem: expect.stringContaining('cannot decrypt AdminPasswd') });
    expect(JSON.stringify(c)).not.toContain('apw');
  });
});

describe('aimAt', () => {
  it('keeps a servername already given, and leaves a plan already aimed at the address alone', () => {
    const p = [{ check: 'imaps:993', probe: 'imaps', host: 'mail.example.com', port: 993, options: { servername: 'imap.example.com' } }];
    expect(aimAt(p, VIP)[0]).toMatchObject({ host: VIP, options: { servername: 'imap.example.com' } });
    const here = [{ check: 'imap:143', probe: 'imap', host: VIP, port: 143 }];
    expect(aimAt(here, VIP)).toEqual(here);
  });
});
