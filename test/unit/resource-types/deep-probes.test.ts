/**
 * Second-level planning and running, without the sandbox: which probe and which options each
 * service gets, deadlines inside the budget, probes of one resource in parallel, `.localhost`
 * names resolved to loopback, undecryptable secrets and refused credentials classified as
 * configuration problems.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { domainOf } from '../../../plugin/core/net';
import { probeDeadlineMs, readSecret, runProbePlan, type PlannedProbe } from '../../../plugin/resource-types/deep-probes';
import { foldProbes } from '../../../plugin/resource-types/monitor-levels';
import { planServiceProbes, type Plan } from '../../../plugin/resource-types/sunjes-msg';
import { getProbe } from '../../../probes/registry';
import { isLocalhostName, probeLookup, resolveHost } from '../../../probes/transport/socket';
import { portBlock } from '../../helpers/ports';
import { agentContext, resolvedResource } from '../../contract/agent-context';

// Block 9 of the contract range: the contract file itself uses block 0.
const BASE = portBlock('contract', 9);
const SILENT = BASE;      // accepts and never speaks (a hung daemon)
const SILENT2 = BASE + 1;
const OPEN = BASE + 2;    // accepts and closes (a plain connect succeeds)
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

function listen(port: number, onConnection: (s: net.Socket) => void): Promise<void> {
  const server = net.createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); onConnection(s); });
  servers.push(server);
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
}

beforeAll(async () => {
  await listen(SILENT, () => undefined);
  await listen(SILENT2, () => undefined);
  await listen(OPEN, (s) => s.end());
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

describe('domainOf', () => {
  it.each([
    ['mail.example.com', 'example.com'],
    ['mail.example.localhost', 'example.localhost'],
    ['mx1.mail.example.com.', 'mail.example.com'],
    ['mail', undefined],
    ['192.0.2.25', undefined],
  ])('%s → %s', (host, domain) => {
    expect(domainOf(host)).toBe(domain);
  });
});

describe('planServiceProbes', () => {
  const msg = (ports: Record<string, number>): Pick<Plan, 'kind' | 'services' | 'ports'> => ({ kind: 'services', services: Object.keys(ports), ports });
  const mmp = (ports: Record<string, number>): Pick<Plan, 'kind' | 'services' | 'ports'> => ({ kind: 'mmp', services: Object.keys(ports), ports });
  const summary = (plan: PlannedProbe[]) => plan.map((p) => [p.check, p.probe, p.options?.user ?? '-', p.options?.recipient ?? '-']);

  it.each([
    {
      name: 'test user: logins for imap, pop, http; RCPT TO user@domain for smtp',
      plan: planServiceProbes(msg({ imap: 143, pop: 110, http: 80, smtp: 25 }), 'mail.example.com', 'probe', 'pw'),
      want: [['imap:143', 'imap', 'probe', '-'], ['pop:110', 'pop', 'probe', '-'], ['http:80', 'http', 'probe', '-'], ['smtp:25', 'smtp', '-', 'probe@example.com']],
    },
    {
      name: 'TLS services only greet over a full handshake, even with a test user',
      plan: planServiceProbes(msg({ imaps: 993, pops: 995, https: 443 }), 'mail.example.com', 'probe', 'pw'),
      want: [['imaps:993', 'imaps', '-', '-'], ['pops:995', 'pops', '-', '-'], ['https:443', 'https', '-', '-']],
    },
    {
      name: 'no test user: greeting-level checks, no RCPT',
      plan: planServiceProbes(msg({ imap: 143, smtp: 25 }), 'mail.example.com', undefined, undefined),
      want: [['imap:143', 'imap', '-', '-'], ['smtp:25', 'smtp', '-', '-']],
    },
    {
      name: 'a user without a password does not log in',
      plan: planServiceProbes(msg({ imap: 143 }), 'mail.example.com', 'probe', undefined),
      want: [['imap:143', 'imap', '-', '-']],
    },
    {
      name: 'smtp and lmtp together: only smtp is checked',
      plan: planServiceProbes(msg({ lmtp: 225, smtp: 25 }), 'mail.example.com', 'probe', 'pw'),
      want: [['smtp:25', 'smtp', '-', 'probe@example.com']],
    },
    {
      name: 'lmtp alone: RCPT TO through LMTP',
      plan: planServiceProbes(msg({ lmtp: 225 }), 'mail.example.com', 'probe', 'pw'),
      want: [['lmtp:225', 'lmtp', '-', 'probe@example.com']],
    },
    {
      name: 'snmp, ens and sms have no deep check',
      plan: planServiceProbes(msg({ snmp: 161, ens: 7997, sms: 5000, pop: 110 }), 'mail.example.com', 'probe', 'pw'),
      want: [['pop:110', 'pop', 'probe', '-']],
    },
    {
      name: 'MMP: login through the proxy for imap/pop, TLS ports greet',
      plan: planServiceProbes(mmp({ imap: 143, pop: 110, imaps: 993, pops: 995 }), 'mmp.example.com', 'probe', 'pw'),
      want: [['imap:143', 'mmp-imap', 'probe', '-'], ['pop:110', 'mmp-pop', 'probe', '-'], ['imaps:993', 'mmp-imaps', '-', '-'], ['pops:995', 'mmp-pops', '-', '-']],
    },
  ])('$name', ({ plan, want }) => {
    expect(summary(plan)).toEqual(want);
  });

  it('passes the password only to the login probes', () => {
    const plan = planServiceProbes(msg({ imap: 143, smtp: 25 }), 'mail.example.com', 'probe', 'sekrit');
    expect(plan.find((p) => p.probe === 'imap')?.options?.password).toBe('sekrit');
    expect(plan.find((p) => p.probe === 'smtp')?.options?.password).toBeUndefined();
  });
});

describe('deadlines and parallel probes', () => {
  it('a probe deadline never exceeds the budget, and a cap (ProbeTimeout) applies', () => {
    expect(probeDeadlineMs(4000)).toBeLessThan(4000);
    expect(probeDeadlineMs(4000, 3000)).toBe(3000);
    expect(probeDeadlineMs(10)).toBeGreaterThanOrEqual(1);
  });

  it('two hung services both time out within one budget (parallel, not one after another)', async () => {
    const t0 = Date.now();
    const r = await runProbePlan([
      { check: 'imap:a', probe: 'imap', host: '127.0.0.1', port: SILENT },
      { check: 'pop:b', probe: 'pop', host: '127.0.0.1', port: SILENT2 },
      { check: 'tcp:c', probe: 'tcp', host: '127.0.0.1', port: OPEN },
    ], { budgetMs: 600, signal: new AbortController().signal });
    const took = Date.now() - t0;
    expect(took).toBeLessThan(900);
    expect(r.state).toBe('OFFLINE');
    expect(r.recovery).toBe('restartable');
    expect(r.checks?.map((c) => [c.check, c.outcome])).toEqual([['imap:a', 'timeout'], ['pop:b', 'timeout'], ['tcp:c', 'ok']]);
  });

  it('the monitor signal ends the probes at once', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    const r = await runProbePlan([{ check: 'imap:a', probe: 'imap', host: '127.0.0.1', port: SILENT }], { budgetMs: 5000, signal: ac.signal });
    expect(Date.now() - t0).toBeLessThan(600);
    expect(r.state).not.toBe('ONLINE');
  });
});

describe('.localhost names (RFC 6761 §6.3)', () => {
  it.each([
    ['localhost', true], ['mail.example.localhost', true], ['MAIL.Example.LOCALHOST.', true],
    ['localhost.example.com', false], ['notlocalhost', false], ['127.0.0.1', false],
  ])('%s → %s', (host, yes) => {
    expect(isLocalhostName(host)).toBe(yes);
  });

  it('resolveHost gives 127.0.0.1 for them, passes IPs through, reports unknown names', async () => {
    expect(await resolveHost('mail.example.localhost', 1000)).toEqual({ address: '127.0.0.1' });
    expect(await resolveHost('192.0.2.7', 1000)).toEqual({ address: '192.0.2.7' });
    const bad = await resolveHost('no-such-host.invalid', 3000);
    expect(bad).toMatchObject({ timeout: false });
  });

  it('probeLookup answers both lookup shapes net.connect uses', async () => {
    const one = await new Promise((r) => probeLookup('x.localhost', {}, (_e, a, f) => r([a, f])));
    expect(one).toEqual(['127.0.0.1', 4]);
    const all = await new Promise((r) => probeLookup('x.localhost', { all: true }, (_e, a) => r(a)));
    expect(all).toEqual([{ address: '127.0.0.1', family: 4 }]);
  });

  it('a registry probe connects to a .localhost name', async () => {
    const r = await getProbe('tcp')!({ host: 'mail.example.localhost', port: OPEN }, { timeoutMs: 1000 });
    expect(r.outcome, r.reason).toBe('ok');
    const gone = await getProbe('imap')!({ host: 'no-such-host.invalid', port: OPEN }, { timeoutMs: 3000 });
    expect(gone).toMatchObject({ outcome: 'fail', failedPhase: 'connect' });
    expect(gone.reason).toMatch(/cannot resolve no-such-host.invalid/);
  });
});

describe('configuration problems', () => {
  it('a secret that cannot be decrypted → OFFLINE, recovery configuration, secret not shown', async () => {
    const ctx = agentContext(resolvedResource('SunJESMsg', 'imap', { ServerRoot: '/x', MsgHost: 'h', MsgServices: { imap: 1 } }));
    const broken = { ...ctx, secret: async () => { throw new Error('cluster key file /k does not exist'); } };
    const r = await readSecret(broken, 'LDAPTestPasswd');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toMatchObject({ state: 'OFFLINE', recovery: 'configuration', reason: expect.stringMatching(/cannot decrypt LDAPTestPasswd.*\/k does not exist/) });
  });

  const ok = { outcome: 'ok' as const, phases: { total: 0.01 } };
  const refused = { outcome: 'fail' as const, phases: {}, reason: 'login was refused [AUTHENTICATIONFAILED]', configurationError: true };
  const timeout = { outcome: 'timeout' as const, phases: {}, reason: 'no answer' };
  it.each([
    { name: 'any: refused credentials → configuration', policy: 'any' as const, results: [ok, refused], state: 'OFFLINE', recovery: 'configuration' },
    { name: 'any: a timeout beside refused credentials → still configuration (restarting cannot fix it)', policy: 'any' as const, results: [timeout, refused], state: 'OFFLINE', recovery: 'configuration' },
    { name: 'timeout-only: refused credentials are not acted on', policy: 'timeout-only' as const, results: [ok, refused], state: 'ONLINE', recovery: undefined },
    { name: 'timeout-only: a timeout is', policy: 'timeout-only' as const, results: [timeout, refused], state: 'OFFLINE', recovery: 'restartable' },
  ])('$name', ({ policy, results, state, recovery }) => {
    const r = foldProbes(results.map((result, i) => ({ check: `c${i}`, result })), policy);
    expect(r.state).toBe(state);
    expect(r.recovery).toBe(recovery);
  });

  it('the certificate expiry of a TLS check is in its report', () => {
    const r = foldProbes([{ check: 'imaps:993', result: { ...ok, reason: 'IMAP greeting received', details: { certExpiresInSec: 86400 * 30 + 5 } } }]);
    expect(r.checks?.[0]?.reason).toBe('IMAP greeting received; certificate expires in 30 d');
  });
});
