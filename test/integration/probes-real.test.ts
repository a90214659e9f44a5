/**
 * Every protocol probe against the real daemons of the sandbox suite (slapd, Dovecot, Postfix,
 * the webmail and admin daemons, the MMP): ok with sane phases, TLS variants with the sandbox's
 * self-signed certificate, a closed port fails in `connect`, a daemon stopped with SIGSTOP
 * times out within the deadline + 10 %, and wrong passwords fail in `login` as configuration
 * errors (last, so that no auth penalty can slow the other tests).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portBlock } from '../helpers/ports';
import { acquireRunLock } from '../helpers/run-lock';
import { sigcontAll, sigstopAll } from '../helpers/sigstop';
import { buildSandbox, startAll, type Sandbox } from '../fixtures/sandbox/index';
import { getProbe } from '../../probes/registry';
import type { ProtocolOptions, ProtocolTarget } from '../../probes/transport/options';
import type { ProbeResult } from '../../probes/types';

const BASE = portBlock('probes', 1);
const CLOSED_PORT = portBlock('probes', 2) + 99;
const DIR = `/tmp/msgha-prb-${BASE}`;
const T = 5000;
let sb: Sandbox;

function sockets(): number {
  return process.getActiveResourcesInfo().filter((r) => /TCP|TLS/.test(r)).length;
}

/** Pids of every process holding the listening socket of `port` (master and login processes). */
function listenerPids(port: number): number[] {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(`:${hex}`) && f[3] === '0A') inodes.add(f[9]!);
  }
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      for (const fd of fs.readdirSync(`/proc/${d}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${d}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) { pids.push(Number(d)); break; }
      }
    } catch { /* gone or not ours */ }
  }
  return pids;
}

/**
 * SIGSTOPs every process listening on `port` and returns once all their threads are stopped
 * (see helpers/sigstop: kill() returning is not enough — slapd's listener thread answered a
 * probe while its main thread had yet to take the stop). Listed again after each round, so a
 * child a master handed the socket to just before it stopped is stopped too.
 */
async function stopListeners(port: number, stopped: number[]): Promise<void> {
  for (;;) {
    const fresh = listenerPids(port).filter((pid) => !stopped.includes(pid));
    if (fresh.length === 0) return;
    await sigstopAll(fresh, stopped);
  }
}

async function run(service: string, target: Partial<ProtocolTarget> & { port: number }, options: Partial<ProtocolOptions> = {}): Promise<ProbeResult> {
  // The sandbox's self-signed certificate is the CA of its TLS logins (they verify by default).
  return getProbe(service)!({ host: '127.0.0.1', ...target }, { timeoutMs: T, caFile: sb.certFile, ...options });
}

function expectOk(r: ProbeResult, phases: string[]): void {
  expect(r.outcome, JSON.stringify(r)).toBe('ok');
  for (const p of phases) {
    const v = (r.phases as Record<string, number>)[p];
    expect(v, `phase ${p} in ${JSON.stringify(r.phases)}`).toBeTypeOf('number');
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThan(2);
  }
  expect(r.phases.total).toBeLessThan(3);
}

let release: (() => Promise<void>) | undefined;

beforeAll(async () => {
  // Another run of this file on this machine (another clone's `npm test`: same ports, same dir)
  // waits for ours instead of wrecking it: buildSandbox kills whatever runs under DIR and the
  // ports are fixed, so its daemons would replace ours mid-test. Up to 600 s for that run, then
  // 120 s for our own build and start.
  release = await acquireRunLock(`${DIR}.lock`, 600_000);
  sb = await buildSandbox({ dir: DIR, basePort: BASE });
  await startAll(sb);
}, 720_000);

afterAll(async () => {
  await sb?.destroy();
  await release?.();
});

describe('probes against the real sandbox suite', () => {
  let before = 0;
  beforeAll(() => { before = sockets(); });

  it('imap: plain, STARTTLS and implicit TLS, with and without a user', async () => {
    const user = { user: sb.testUser.name, password: sb.testUser.password };
    expectOk(await run('imap', { port: sb.ports.imap }, user), ['connect', 'greeting', 'login', 'command', 'logout']);
    expectOk(await run('imap', { port: sb.ports.imap, tls: 'starttls' }, user), ['connect', 'greeting', 'tls', 'login', 'command', 'logout']);
    const imaps = await run('imaps', { port: sb.ports.imaps }, user);
    expectOk(imaps, ['connect', 'tls', 'greeting', 'login', 'command', 'logout']);
    expect(imaps.details?.certExpiresInSec).toBeGreaterThan(0);
    expectOk(await run('imap', { port: sb.ports.imap }), ['connect', 'greeting', 'logout']);
    expectOk(await run('imap', { port: sb.ports.imap, tls: 'starttls' }), ['connect', 'greeting', 'tls', 'logout']);
  });

  it('pop: plain, STLS and implicit TLS', async () => {
    const user = { user: sb.testUser.name, password: sb.testUser.password };
    expectOk(await run('pop', { port: sb.ports.pop }, user), ['connect', 'greeting', 'login', 'command', 'logout']);
    expectOk(await run('pop', { port: sb.ports.pop, tls: 'starttls' }, user), ['connect', 'greeting', 'tls', 'login', 'command', 'logout']);
    expectOk(await run('pops', { port: sb.ports.pops }, user), ['connect', 'tls', 'greeting', 'login', 'command', 'logout']);
    expectOk(await run('pop', { port: sb.ports.pop }), ['connect', 'greeting', 'logout']);
  });

  it('smtp and lmtp: banner, EHLO/LHLO, MAIL FROM:<>, RCPT TO the test address, RSET, QUIT', async () => {
    expectOk(await run('smtp', { port: sb.ports.smtp }, { recipient: sb.testUser.email }), ['connect', 'greeting', 'login', 'command', 'logout']);
    expectOk(await run('lmtp', { port: sb.ports.lmtp }, { recipient: sb.testUser.email }), ['connect', 'greeting', 'login', 'command', 'logout']);
    const refused = await run('smtp', { port: sb.ports.smtp }, { recipient: 'nobody@elsewhere.invalid' });
    expect(refused.outcome).toBe('fail');
    expect(refused.failedPhase).toBe('command');
    expect(refused.reason).toMatch(/RCPT TO/);
  });

  it('http and https webmail: login page, then the test user logs in (GET + Basic, and POST)', async () => {
    const user = { user: sb.testUser.name, password: sb.testUser.password };
    expectOk(await run('http', { port: sb.ports.http }, user), ['connect', 'greeting', 'login']);
    expectOk(await run('http', { port: sb.ports.http }, { ...user, loginMethod: 'POST' }), ['connect', 'greeting', 'login']);
    expectOk(await run('https', { port: sb.ports.https }, user), ['connect', 'tls', 'greeting', 'login']);
  });

  it('ldap and ldaps: anonymous and test-user bind, cn=monitor version', async () => {
    const anon = await run('ldap', { port: sb.ports.ldap });
    expectOk(anon, ['connect', 'command', 'logout']);
    expect(String(anon.details?.version)).toMatch(/slapd|OpenLDAP/i);
    expectOk(await run('ldap', { port: sb.ports.ldap }, { bindDn: sb.testUser.dn, password: sb.testUser.password }), ['connect', 'login', 'command']);
    expectOk(await run('ldaps', { port: sb.ports.ldaps }), ['connect', 'command']);
  });

  it('admin server: authenticated port read-back, and plain connect without a user', async () => {
    expectOk(await run('admin', { port: sb.ports.admin }, { user: sb.admin.user, password: sb.admin.password }), ['connect', 'login']);
    expectOk(await run('admin', { port: sb.ports.admin }), ['connect']);
  });

  it('mmp: IMAP and POP logins through the multiplexor', async () => {
    const user = { user: sb.testUser.name, password: sb.testUser.password };
    expectOk(await run('mmp-imap', { port: sb.ports.mmpImap }, user), ['connect', 'greeting', 'login', 'command', 'logout']);
    expectOk(await run('mmp-pop', { port: sb.ports.mmpPop }, user), ['connect', 'greeting', 'login', 'command', 'logout']);
  });

  it('tcp and tls', async () => {
    expect((await run('tcp', { port: sb.ports.imap })).outcome).toBe('ok');
    const t = await run('tls', { port: sb.ports.imaps });
    expect(t.outcome).toBe('ok');
  });

  it('a closed port fails in phase connect', async () => {
    for (const service of ['imap', 'pop', 'smtp', 'lmtp', 'http', 'ldap', 'admin', 'mmp-imap']) {
      const r = await run(service, { port: CLOSED_PORT }, { user: 'x', password: 'y' });
      expect(r.outcome, service).toBe('fail');
      expect(r.failedPhase, service).toBe('connect');
    }
  });

  it('a daemon stopped with SIGSTOP times out within the deadline + 10 %', async () => {
    const deadline = 1500;
    const cases: Array<[string, number, Partial<ProtocolOptions>]> = [
      ['imap', sb.ports.imap, { user: sb.testUser.name, password: sb.testUser.password }],
      ['pop', sb.ports.pop, { user: sb.testUser.name, password: sb.testUser.password }],
      ['smtp', sb.ports.smtp, { recipient: sb.testUser.email }],
      ['http', sb.ports.http, { user: sb.testUser.name, password: sb.testUser.password }],
      ['ldap', sb.ports.ldap, {}],
      ['admin', sb.ports.admin, { user: sb.admin.user, password: sb.admin.password }],
    ];
    // Each daemon answers before it is stopped. This also loads each probe's module (imapflow,
    // nodemailer, ldapts… load on a probe's first call), which must not count in `elapsed`: run
    // alone (-t SIGSTOP), the first imap call spent 57–84 ms loading imapflow outside the probe's
    // own deadline, and with one core busy two runs failed there (elapsed 1657 and 1701 ms).
    for (const [service, port, options] of cases) {
      const r = await run(service, { port }, options);
      expect(r.outcome, `${service} before SIGSTOP: ${JSON.stringify(r)}`).toBe('ok');
    }
    for (const [service, port, options] of cases) {
      const pids: number[] = [];
      try {
        await stopListeners(port, pids);
        expect(pids.length, `listeners of ${service}:${port}`).toBeGreaterThan(0);
        const t0 = performance.now();
        const r = await run(service, { port }, { ...options, timeoutMs: deadline });
        const elapsed = performance.now() - t0;
        expect(r.outcome, `${service}: ${JSON.stringify(r)}`).toBe('timeout');
        expect(elapsed, service).toBeLessThanOrEqual(deadline * 1.1);
        expect(r.failedPhase).toBeTruthy();
      } finally {
        sigcontAll(pids);
      }
    }
    // Back to normal once continued.
    expect((await run('ldap', { port: sb.ports.ldap })).outcome).toBe('ok');
  });

  it('wrong passwords fail in phase login as configuration errors (run last: auth penalties)', async () => {
    const bad = { user: sb.testUser.name, password: 'wrong-password' };
    for (const [service, port] of [['imap', sb.ports.imap], ['pop', sb.ports.pop], ['http', sb.ports.http]] as const) {
      const r = await run(service, { port }, bad);
      expect(r.outcome, `${service}: ${JSON.stringify(r)}`).toBe('fail');
      expect(r.failedPhase, service).toBe('login');
      expect(r.configurationError, service).toBe(true);
      expect(r.reason).toBeTruthy();
      expect(r.reason).not.toContain('wrong-password');
    }
    const ldap = await run('ldap', { port: sb.ports.ldap }, { bindDn: sb.testUser.dn, password: 'wrong-password' });
    expect(ldap).toMatchObject({ outcome: 'fail', failedPhase: 'login', configurationError: true });
    const admin = await run('admin', { port: sb.ports.admin }, { user: sb.admin.user, password: 'wrong-password' });
    expect(admin).toMatchObject({ outcome: 'fail', failedPhase: 'login', configurationError: true });
  });

  it('leaves no socket open', async () => {
    await new Promise((r) => setTimeout(r, 50));
    expect(sockets()).toBe(before);
  });
});
