/**
 * probeThroughVip against real servers: the sandbox's Dovecot (imap) and Postfix (smtp) reached
 * through 127.0.0.1 as the VIP, with and without the test user (decrypted in its place, never
 * logged), the same checks as the type's deep monitor; a closed port (ok:false, counts), a
 * listener that never greets (timeout), NetscapeMsg's timeout-only counting (a refusal does not
 * count, a timeout does), a secret that does not decrypt (a problem that never counts), and an
 * abort of the caller's signal ending the cycle.
 */
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeThroughVip, type RemoteTarget, type ServiceOutcome } from '../../../plugin/cluster/remote-probe';
import { createLogger } from '../../../plugin/core/log';
import type { ResolvedResource } from '../../../plugin/model/cluster-types';
import { getResourceType } from '../../../plugin/resource-types';
import { createSecretResolver, encryptSecret, writeNewKey } from '../../../plugin/secrets';
import { runScript } from '../../fixtures/sandbox/control';
import { buildSandbox, type Sandbox } from '../../fixtures/sandbox/index';
import { portBlock } from '../../helpers/ports';
import { acquireRunLock } from '../../helpers/run-lock';
import { agentContext, resolvedResource } from '../../contract/agent-context';

// Block 8 of the sandbox range: the sandbox takes its first 40 ports, our plain servers 60–69.
const BASE = portBlock('sandbox', 8);
const CLOSED = BASE + 60;   // nobody listens: connection refused
const CLOSED2 = BASE + 61;
const SILENT = BASE + 62;   // accepts and never greets
const SILENT2 = BASE + 63;
const DIR = `/tmp/mhrp-${process.pid}`;
const KEY = `${DIR}-key/cluster.key`;
const VIP = '127.0.0.1';
const GROUP = 'test';

let sb: Sandbox;
let release: (() => Promise<void>) | undefined;
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
const lines: string[] = [];
const log = createLogger('node-a', 'coordinator', 'TRACE', (line) => { lines.push(line); });
const resolveSecret = createSecretResolver({ settings: { name: 'test', nodes: ['local'], keyFile: KEY } });

function enc(clear: string, resource: string, attribute: string): string {
  return encryptSecret(clear, KEY, { cluster: 'test', group: GROUP, resource, attribute });
}

function listenSilent(port: number): Promise<void> {
  const server = net.createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); });
  servers.push(server);
  return new Promise((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', () => resolve()); });
}

beforeAll(async () => {
  // Another run of this file (same ports) waits for ours instead of wrecking it.
  release = await acquireRunLock(`/tmp/mhrp-${BASE}.lock`, 300_000);
  await fs.mkdir(path.dirname(KEY), { recursive: true, mode: 0o700 });
  writeNewKey(KEY, true);
  sb = await buildSandbox({ dir: DIR, basePort: BASE });
  const started = await runScript(path.join(sb.msgRoot, 'lib', 'msstart'), ['imap', 'smtp']);
  if (started.code !== 0) throw new Error(`msstart imap smtp failed: ${started.stderr}`);
  await listenSilent(SILENT);
  await listenSilent(SILENT2);
}, 300_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
  await sb?.destroy();
  await fs.rm(path.dirname(KEY), { recursive: true, force: true });
  await release?.();
}, 120_000);

function msg(name: string, attrs: Record<string, unknown> = {}): ResolvedResource {
  return resolvedResource('SunJESMsg', name, { ServerRoot: sb.msgRoot, MsgHost: sb.fqdn, MsgServices: { imap: sb.ports.imap, smtp: sb.ports.smtp }, ...attrs }, GROUP);
}

function target(...resources: ResolvedResource[]): RemoteTarget {
  return { group: GROUP, vip: VIP, resources };
}

function probe(t: RemoteTarget, timeoutMs = 5000, signal = new AbortController().signal): Promise<ServiceOutcome[]> {
  return probeThroughVip(t, { timeoutMs, signal, log, resolveSecret });
}

const brief = (o: ServiceOutcome[]) => o.map((x) => [x.service, x.ok, x.timeout, x.counts]);

describe('healthy services through the VIP', () => {
  it('with the test user: IMAP login and SMTP RCPT TO user@<domain of MsgHost>, password never logged', async () => {
    const password = sb.testUser.password;
    const r = msg('svc', { LDAPTestUser: sb.testUser.name, LDAPTestPasswd: enc(password, 'svc', 'LDAPTestPasswd') });
    const out = await probe(target(r));
    expect(brief(out), JSON.stringify(out)).toEqual([['imap', true, false, false], ['smtp', true, false, false]]);
    expect(out.map((x) => x.check)).toEqual([`imap:${sb.ports.imap}`, `smtp:${sb.ports.smtp}`]);
    expect(out[0]!.phases?.login).toBeGreaterThanOrEqual(0);
    expect(lines.join('\n')).not.toContain(password);
    expect(JSON.stringify(out)).not.toContain(password);
  });

  it('the same checks as the type\'s deep monitor of the same resource', async () => {
    const r = msg('svc', { LDAPTestUser: sb.testUser.name, LDAPTestPasswd: enc(sb.testUser.password, 'svc', 'LDAPTestPasswd') });
    const m = await getResourceType('SunJESMsg')!.monitor(agentContext(r, { keyFile: KEY }), { deep: true });
    expect(m.state, m.reason).toBe('ONLINE');
    const out = await probe(target(r));
    expect(out.map((x) => [x.check, x.ok])).toEqual((m.checks ?? []).map((c) => [c.check, c.outcome === 'ok']));
    expect(out).toHaveLength(2);
  });

  it('without a test user: greetings only', async () => {
    const out = await probe(target(msg('svc')));
    expect(brief(out), JSON.stringify(out)).toEqual([['imap', true, false, false], ['smtp', true, false, false]]);
    expect(out[0]!.phases?.login).toBeUndefined();
  });

  it('resources without client probes (IP, the store core) add nothing', async () => {
    const ip = resolvedResource('IP', 'vip', { Address: '192.0.2.50/24', Device: 'lo' }, GROUP);
    const core = msg('core', { MsgServices: { core: sb.ports.core } });
    expect(await probe(target(ip, core))).toEqual([]);
  });
});

describe('failures', () => {
  it('a closed port: ok false, not a timeout, counts; a silent listener: a timeout that counts', async () => {
    const out = await probe(target(msg('svc', { MsgServices: { imap: CLOSED, pop: SILENT } })), 1500);
    expect(brief(out), JSON.stringify(out)).toEqual([['imap', false, false, true], ['pop', false, true, true]]);
    expect(out[0]!.reason).toMatch(/refused/i);
  });

  it('NetscapeMsg timeout-only: refusals do not count, timeouts do', async () => {
    const ns = resolvedResource('NetscapeMsg', 'ns', {
      ServerRoot: sb.netscapeRoot, MsgHost: sb.fqdn, ProbeFailurePolicy: 'timeout-only', ProbeTimeout: 1,
      Ports: { smtp: CLOSED, pop: SILENT, imap: CLOSED2, http: SILENT2 },
    }, GROUP);
    const out = await probe(target(ns), 5000);
    expect(brief(out), JSON.stringify(out)).toEqual([['smtp', false, false, false], ['pop', false, true, true], ['imap', false, false, false], ['http', false, true, true]]);
  });

  it('NetscapeMsg with policy any: the refusal counts too', async () => {
    const ns = resolvedResource('NetscapeMsg', 'ns', {
      ServerRoot: sb.netscapeRoot, MsgHost: sb.fqdn, ProbeTimeout: 1, Ports: { smtp: CLOSED, pop: SILENT, imap: CLOSED2, http: SILENT2 },
    }, GROUP);
    expect(brief(await probe(target(ns), 5000))).toEqual([['smtp', false, false, true], ['pop', false, true, true], ['imap', false, false, true], ['http', false, true, true]]);
  });

  it('a secret that does not decrypt: a problem naming the resource and the attribute, never counted; the other resources still probed', async () => {
    const bad = msg('svc', { LDAPTestUser: sb.testUser.name, LDAPTestPasswd: enc(sb.testUser.password, 'elsewhere', 'LDAPTestPasswd') });
    const good = msg('other');
    const out = await probe(target(bad, good));
    expect(out[0]).toMatchObject({ service: 'svc', ok: false, timeout: false, counts: false, reason: expect.stringMatching(/resource test\.svc: cannot decrypt LDAPTestPasswd/) });
    expect(brief(out.slice(1))).toEqual([['imap', true, false, false], ['smtp', true, false, false]]);
    expect(JSON.stringify(out) + lines.join('\n')).not.toContain(sb.testUser.password);
  });

  it('the caller\'s abort ends the cycle at once: unfinished probes are timeouts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const t0 = Date.now();
    const out = await probe(target(msg('svc', { MsgServices: { imap: SILENT, smtp: sb.ports.smtp } })), 60_000, ac.signal);
    // Far below the cycle's 60 s: the abort, not the deadline, ended it (loose: a loaded machine passes).
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(out.find((x) => x.service === 'imap')).toMatchObject({ ok: false, timeout: true });
  });
});
