/**
 * A probe that sends a login over TLS verifies the server's certificate and host name first.
 * Against servers with a self-signed certificate — what a local user impersonating the real
 * daemon on its port would present — every login path (imaps and IMAP STARTTLS through imapflow,
 * pops and STLS, smtps and SMTP STARTTLS through nodemailer, the https webmail login, the admin
 * read-back over HTTPS, ldaps and LDAP StartTLS through ldapts): refused without the CA, as a
 * configuration error in phase tls, before any credential leaves; accepted with the CA
 * (ProbeCAFile, or PEM text as `msgha probe --ca-file` gives it); accepted with the explicit
 * opt-out; refused for another host name even with the CA. Banner-only probes stay unverified.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getProbe } from '../../../probes/registry';
import type { ProtocolOptions, ProtocolTarget } from '../../../probes/transport/options';
import type { ProbeResult } from '../../../probes/types';
import { portBlock } from '../../helpers/ports';
import { httpsServer, imapServer, ldapServer, popServer, selfSigned, smtpServer, type SelfSigned, type TlsServer } from './tls-servers';

const BASE = portBlock('spare', 8) + 50;
const DIR = `/tmp/msgha-tls-trust-${process.pid}`;
const NAME = 'mail.example.localhost';
const PASSWORD = 'probe-secret-7';
const T = 5000;

let cert: SelfSigned;
const servers: TlsServer[] = [];

interface Case { name: string; service: string; tls?: ProtocolTarget['tls']; port: number; login: Partial<ProtocolOptions>; start: (port: number) => Promise<TlsServer> }
const user = { user: 'probe', password: PASSWORD };
const CASES: Case[] = [
  { name: 'imaps (imapflow)', service: 'imaps', port: BASE, login: user, start: (p) => imapServer(p, cert, 'implicit') },
  { name: 'imap STARTTLS (imapflow)', service: 'imap', tls: 'starttls', port: BASE + 1, login: user, start: (p) => imapServer(p, cert, 'starttls') },
  { name: 'pops', service: 'pops', port: BASE + 2, login: user, start: (p) => popServer(p, cert, 'implicit') },
  { name: 'pop STLS', service: 'pop', tls: 'starttls', port: BASE + 3, login: user, start: (p) => popServer(p, cert, 'starttls') },
  { name: 'smtps AUTH (nodemailer)', service: 'smtps', port: BASE + 4, login: { ...user, recipient: 'probe@example.com' }, start: (p) => smtpServer(p, cert, 'implicit') },
  { name: 'smtp STARTTLS AUTH (nodemailer)', service: 'smtp', tls: 'starttls', port: BASE + 5, login: { ...user, recipient: 'probe@example.com' }, start: (p) => smtpServer(p, cert, 'starttls') },
  { name: 'https webmail login', service: 'https', port: BASE + 6, login: user, start: (p) => httpsServer(p, cert) },
  { name: 'admins port read-back', service: 'admins', port: BASE + 7, login: user, start: (p) => httpsServer(p, cert) },
  { name: 'ldaps bind (ldapts)', service: 'ldaps', port: BASE + 8, login: { bindDn: 'cn=probe', password: PASSWORD }, start: (p) => ldapServer(p, cert, 'implicit') },
  { name: 'ldap StartTLS bind (ldapts)', service: 'ldap', tls: 'starttls', port: BASE + 9, login: { bindDn: 'cn=probe', password: PASSWORD }, start: (p) => ldapServer(p, cert, 'starttls') },
];
const serverOf = new Map<string, TlsServer>();

function run(c: Case, options: Partial<ProtocolOptions>, host = '127.0.0.1'): Promise<ProbeResult> {
  return getProbe(c.service)!({ host, port: c.port, ...(c.tls ? { tls: c.tls } : {}) }, { timeoutMs: T, ...c.login, ...options });
}

/** Whether the password reached the server (what an impersonator would have harvested). */
function leaked(c: Case): boolean {
  return serverOf.get(c.name)!.harvested.some((h) => h.includes(PASSWORD));
}

beforeAll(async () => {
  cert = selfSigned(DIR, NAME);
  for (const c of CASES) {
    const s = await c.start(c.port);
    servers.push(s);
    serverOf.set(c.name, s);
  }
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  fs.rmSync(DIR, { recursive: true, force: true });
});

describe.each(CASES)('$name against a self-signed server', (c) => {
  it('without the CA: refused in phase tls as a configuration error, the password never sent', async () => {
    const r = await run(c, {});
    expect(r.outcome, JSON.stringify(r)).toBe('fail');
    expect(r.failedPhase).toBe('tls');
    expect(r.configurationError).toBe(true);
    expect(r.reason).toMatch(/server certificate refused: self-signed certificate/);
    expect(r.reason).toMatch(/ProbeCAFile/);
    expect(leaked(c)).toBe(false);
  });

  it('another host name, even with the CA: refused, the password never sent', async () => {
    const r = await run(c, { caFile: cert.certFile }, 'other.example.localhost');
    expect(r.outcome, JSON.stringify(r)).toBe('fail');
    expect(r.configurationError).toBe(true);
    expect(r.reason).toMatch(/certificate refused: .*altnames/);
    expect(leaked(c)).toBe(false);
  });

  it('with its CA file (ProbeCAFile): the login succeeds, by address and by name', async () => {
    const byAddress = await run(c, { caFile: cert.certFile });
    expect(byAddress.outcome, JSON.stringify(byAddress)).toBe('ok');
    const byName = await run(c, { caFile: cert.certFile }, NAME);
    expect(byName.outcome, JSON.stringify(byName)).toBe('ok');
    expect(leaked(c)).toBe(true);
  });

  it('with the CA as PEM text (msgha probe --ca-file) and with the explicit opt-out: the login succeeds', async () => {
    expect((await run(c, { ca: cert.certPem })).outcome).toBe('ok');
    const optOut = await run(c, { verifyCertificate: false });
    expect(optOut.outcome, JSON.stringify(optOut)).toBe('ok');
  });
});

describe('banner-only probes', () => {
  const imaps = CASES[0]!;
  it('stay unverified unless asked (a liveness check must not fail on a self-signed certificate)', async () => {
    const r = await getProbe('imaps')!({ host: '127.0.0.1', port: imaps.port }, { timeoutMs: T });
    expect(r.outcome, r.reason).toBe('ok');
    expect(r.details?.certExpiresInSec).toBeGreaterThan(0);
    const asked = await getProbe('imaps')!({ host: '127.0.0.1', port: imaps.port }, { timeoutMs: T, verifyCertificate: true });
    expect(asked).toMatchObject({ outcome: 'fail', failedPhase: 'tls', configurationError: true });
    const tlsProbe = await getProbe('tls')!({ host: '127.0.0.1', port: imaps.port }, { timeoutMs: T });
    expect(tlsProbe.outcome, tlsProbe.reason).toBe('ok');
  });
});

describe('a CA file that cannot be used is a configuration error naming it, and nothing is sent', () => {
  const pops = CASES[2]!;
  const cases: Array<[string, () => string, RegExp]> = [
    ['missing', () => path.join(DIR, 'missing.pem'), /cannot read CA file .*missing\.pem: ENOENT/],
    ['a symbolic link (not followed)', () => { const l = path.join(DIR, 'link.pem'); fs.rmSync(l, { force: true }); fs.symlinkSync(cert.certFile, l); return l; }, /CA file .*link\.pem: it is a symbolic link/],
    ['not PEM', () => { const f = path.join(DIR, 'junk.pem'); fs.writeFileSync(f, 'not a certificate\n'); return f; }, /CA file .*junk\.pem holds no PEM certificate/],
    ['a directory', () => DIR, /CA file .* is not a regular file/],
    ['larger than 1 MiB', () => { const f = path.join(DIR, 'huge.pem'); fs.writeFileSync(f, Buffer.alloc(1024 * 1024 + 1, 0x41)); return f; }, /is 1048577 bytes, more than/],
  ];
  it.each(cases)('%s', async (_name, file, reason) => {
    const before = serverOf.get(pops.name)!.harvested.length;
    const r = await run(pops, { caFile: file() });
    expect(r).toMatchObject({ outcome: 'fail', configurationError: true, failedPhase: 'tls' });
    expect(r.reason).toMatch(reason);
    expect(serverOf.get(pops.name)!.harvested.length).toBe(before);
  });

  it('is not read for a connection without TLS (a resource\'s plain services keep working)', async () => {
    const stls = CASES[3]!;
    const r = await getProbe('pop')!({ host: '127.0.0.1', port: stls.port }, { timeoutMs: T, ...user, caFile: path.join(DIR, 'missing.pem') });
    expect(r.outcome, r.reason).toBe('ok');
  });
});
