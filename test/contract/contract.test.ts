/**
 * The agent contract (the ocf-tester sequence), run against every resource type with the real
 * sandbox suite: monitor on a stopped resource → OFFLINE; online; online again (idempotent, no
 * second start); monitor → ONLINE; offline; offline again; monitor → OFFLINE; clean of a
 * half-started instance; offline with a broken configuration; kill -9 of a daemon noticed at
 * once; a SIGSTOPped daemon is not ONLINE within MonitorTimeout. Types that run no process (IP,
 * Mount) go through the same sequence without the steps about processes. A persistent type (NIC:
 * a link) goes through the link sequence: its state follows the switch port, never the agent.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getResourceType } from '../../plugin/resource-types';
import { encryptSecret, writeNewKey } from '../../plugin/secrets';
import type { AgentContext, ResourceType } from '../../plugin/resource-types/contract';
import { probeLdap } from '../../probes/ldap';
import { findProcesses } from '../../plugin/proc/matching';
import { watchPids } from '../../plugin/proc/pid-watch';
import { probeTcp } from '../../probes/tcp';
import { probeTls } from '../../probes/tls';
import { runScript } from '../fixtures/sandbox/control';
import { buildSandbox } from '../fixtures/sandbox/index';
import type { Sandbox } from '../fixtures/sandbox/types';
import { portBlock } from '../helpers/ports';
import { sigcontAll, sigstopAll } from '../helpers/sigstop';
import { agentContext, resolvedResource } from './agent-context';
import { contractCases, dovecotConf, type ContractCase, type Encrypt } from './cases';
import { acquireRunLock } from '../helpers/run-lock';

const BASE_PORT = portBlock('contract', 0);
const DIR = `/tmp/mh-ct-${BASE_PORT}`;
// The cluster key lives beside the sandbox (buildSandbox empties DIR); secrets of the cases are
// encrypted with it and decrypted by ctx.secret at the moment of use, as in production.
const KEY_DIR = `${DIR}-key`;
const KEY_FILE = `${KEY_DIR}/cluster.key`;
const enc: Encrypt = (clear) => encryptSecret(clear, KEY_FILE);

let sb: Sandbox;
let cases: ContractCase[] = [];
let release: (() => Promise<void>) | undefined;

beforeAll(async () => {
  // Another run of this file (same ports, same dir) waits for ours instead of wrecking it.
  release = await acquireRunLock(`${DIR}.lock`, 600_000);
  writeNewKey(KEY_FILE, true);
  sb = await buildSandbox({ dir: DIR, basePort: BASE_PORT, sslDbPassword: 'ssl-db-secret' });
}, 660_000);

afterAll(async () => {
  await sb?.destroy();
  await fs.rm(KEY_DIR, { recursive: true, force: true });
  await release?.();
});

// Cases need the sandbox's Dovecot config path; it is known only after the sandbox is built,
// so the table is built from a placeholder and filled in at run time.
const placeholder = contractCases({ conf: '', masterPid: '' }, () => '');
const titles = placeholder.filter((c) => !c.link).map((c) => c.title);
const linkTitles = placeholder.filter((c) => c.link).map((c) => c.title);

function lookupCase(title: string): ContractCase {
  const c = cases.find((x) => x.title === title);
  if (!c) throw new Error(`case ${title} not prepared`);
  return c;
}

describe.each(titles)('%s', (title) => {
  let c: ContractCase;
  let agent: ResourceType;
  let ctx: (over?: Record<string, unknown>) => AgentContext;

  beforeAll(async () => {
    if (cases.length === 0) cases = contractCases(await dovecotConf(sb), enc);
    c = lookupCase(title);
    agent = getResourceType(c.type)!;
    expect(agent).toBeDefined();
    ctx = (over = {}) => agentContext(resolvedResource(c.type, 'r', { ...c.attrs(sb), ...over }), { keyFile: KEY_FILE });
    await c.setup?.(sb);
  });

  afterAll(async () => {
    if (!c) return;
    await agent.clean(ctx());
    await c.teardown?.(sb);
  });

  it('monitor of a stopped resource → OFFLINE', async () => {
    const m = await agent.monitor(ctx(), { deep: true });
    expect(m.state, m.reason).toBe('OFFLINE');
    expect(m.reason).toMatch(/\w/);
  });

  it('online, online again (no second start), monitor → ONLINE (deep)', async () => {
    const on = await agent.online(ctx());
    expect(on.ok, on.reason).toBe(true);
    const m1 = await agent.monitor(ctx(), { deep: true });
    expect(m1.state, m1.reason).toBe('ONLINE');
    if (c.victim) expect(m1.pids?.length).toBeGreaterThan(0);
    const again = await agent.online(ctx());
    expect(again.ok, again.reason).toBe(true);
    if (c.victim) expect(again.reason).toContain('not run again');
    const m2 = await agent.monitor(ctx(), { deep: true });
    expect(m2.state, m2.reason).toBe('ONLINE');
    expect([...(m2.pids ?? [])].sort()).toEqual([...(m1.pids ?? [])].sort());
    const shallow = await agent.monitor(ctx(), { deep: false });
    expect(shallow).toMatchObject({ state: 'ONLINE', level: 'first' });
    // ONLINE through real logins of the test user, each timed.
    for (const [check, reason] of Object.entries(c.logins?.(sb) ?? {})) {
      const report = m2.checks?.find((x) => x.check === check);
      expect(report, `${check} in ${JSON.stringify(m2.checks)}`).toBeDefined();
      expect(report!.outcome, report!.reason).toBe('ok');
      expect(report!.reason).toMatch(reason);
      expect(report!.phases?.login).toBeGreaterThanOrEqual(0);
    }
  });

  it('a wrong test password → deep monitor OFFLINE, recovery configuration, password never shown', async (t) => {
    if (!c.credential) { t.skip(); return; }
    const wrong = `wrong-${Date.now()}`;
    const lines: string[] = [];
    const bad = agentContext(resolvedResource(c.type, 'r', { ...c.attrs(sb), [c.credential]: enc(wrong) }), { keyFile: KEY_FILE, lines, level: 'TRACE' });
    const m = await agent.monitor(bad, { deep: true });
    expect(m.state, m.reason).toBe('OFFLINE');
    expect(m.recovery, m.reason).toBe('configuration');
    expect(m.level).toBe('second');
    expect(m.reason).toMatch(/refused/);
    expect(JSON.stringify(m)).not.toContain(wrong);
    expect(lines.join('\n')).not.toContain(wrong);
    // The right password still works: nothing was locked out by the failed logins.
    const good = await agent.monitor(ctx(), { deep: true });
    expect(good.state, good.reason).toBe('ONLINE');
  });

  it('offline, offline again, monitor → OFFLINE', async () => {
    const off = await agent.offline(ctx());
    expect(off.ok, off.reason).toBe(true);
    expect(await c.residue(sb)).toEqual([]);
    const again = await agent.offline(ctx());
    expect(again.ok, again.reason).toBe(true);
    if (c.victim) expect(again.reason).toContain('already offline');
    else expect(again.reason).toMatch(c.idle!);
    const m = await agent.monitor(ctx(), { deep: true });
    expect(m.state, m.reason).toBe('OFFLINE');
  });

  it('clean of a half-started instance leaves nothing running', async () => {
    await c.halfStart(sb);
    expect((await c.residue(sb)).length).toBeGreaterThan(0);
    const cl = await agent.clean(ctx());
    expect(cl.ok, cl.reason).toBe(true);
    expect(await c.residue(sb)).toEqual([]);
    const m = await agent.monitor(ctx(), { deep: false });
    expect(m.state).toBe('OFFLINE');
  });

  it('offline with a broken configuration succeeds', async () => {
    const off = await agent.offline(ctx(c.broken));
    expect(off.ok, off.reason).toBe(true);
    expect(off.reason).toMatch(c.victim ? /nothing to stop|already offline/ : c.idle!);
  });

  it('kill -9 of a daemon is noticed at once and monitor says OFFLINE', async (t) => {
    if (!c.victim) { t.skip(); return; }
    const on = await agent.online(ctx());
    expect(on.ok, on.reason).toBe(true);
    const m = await agent.monitor(ctx(), { deep: false });
    expect(m.state, m.reason).toBe('ONLINE');
    const victim = [...(await findProcesses([c.victim(sb)], { fresh: true })).values()].flat()[0];
    expect(victim).toBeDefined();
    expect(m.pids).toContain(victim);
    let noticed = 0;
    const w = watchPids(m.pids!, (pid) => { if (pid === victim) noticed = Date.now(); });
    const killedAt = Date.now();
    process.kill(victim!, 'SIGKILL');
    const end = Date.now() + 2000;
    while (!noticed && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    w.stop();
    expect(noticed, 'exit of the killed daemon noticed').toBeGreaterThan(0);
    expect(noticed - killedAt).toBeLessThan(500);
    const after = await agent.monitor(ctx(), { deep: false });
    expect(after.state, after.reason).toBe('OFFLINE');
    const cl = await agent.clean(ctx());
    expect(cl.ok, cl.reason).toBe(true);
    expect(await c.residue(sb)).toEqual([]);
  });

  it('a SIGSTOPped daemon is not ONLINE within MonitorTimeout (deep check)', async (t) => {
    if (!c.freeze) { t.skip(); return; }
    const on = await agent.online(ctx());
    expect(on.ok, on.reason).toBe(true);
    const frozen = [...(await findProcesses([c.freeze(sb)], { fresh: true })).values()].flat();
    expect(frozen.length).toBeGreaterThan(0);
    try {
      // Only once every thread is stopped (ns-slapd's listener thread can still answer until then).
      await sigstopAll(frozen);
      const t0 = Date.now();
      const m = await agent.monitor(ctx({ MonitorTimeout: 2 }), { deep: true });
      const took = Date.now() - t0;
      expect(m.state, m.reason).not.toBe('ONLINE');
      expect(took).toBeLessThan(2000 + 300);
      expect(m.level).toBe('second');
      if (c.frozenCheck) {
        const report = m.checks?.find((x) => x.check === c.frozenCheck!(sb));
        expect(report?.outcome, JSON.stringify(m.checks)).toBe('timeout');
      }
    } finally {
      sigcontAll(frozen);
    }
    const off = await agent.offline(ctx());
    expect(off.ok, off.reason).toBe(true);
    expect(await c.residue(sb)).toEqual([]);
  });
});

describe.each(linkTitles)('%s (persistent: a link)', (title) => {
  let c: ContractCase;
  let agent: ResourceType;
  let ctx: (over?: Record<string, unknown>) => AgentContext;
  let link: NonNullable<ContractCase['link']>;

  beforeAll(async () => {
    if (cases.length === 0) cases = contractCases(await dovecotConf(sb), enc);
    c = lookupCase(title);
    agent = getResourceType(c.type)!;
    expect(agent.persistent).toBe(true);
    link = c.link!;
    ctx = (over = {}) => agentContext(resolvedResource(c.type, 'r', { ...c.attrs(sb), ...over }), { keyFile: KEY_FILE });
    await c.setup?.(sb);
  });

  afterAll(async () => {
    await c?.teardown?.(sb);
  });

  it('link up: monitor ONLINE (first level); online, online again ok', async () => {
    const m = await agent.monitor(ctx(), { deep: true });
    expect(m, m.reason).toMatchObject({ state: 'ONLINE', level: 'first' });
    for (let i = 0; i < 2; i++) {
      const on = await agent.online(ctx());
      expect(on.ok, on.reason).toBe(true);
    }
  });

  it('offline, offline again and clean change nothing: monitor still ONLINE', async () => {
    for (const fn of ['offline', 'offline', 'clean'] as const) {
      const r = await agent[fn](ctx());
      expect(r.ok, r.reason).toBe(true);
      expect(r.reason).toMatch(c.idle!);
    }
    expect(await c.residue(sb)).toEqual([]);
    expect((await agent.monitor(ctx(), { deep: false })).state).toBe('ONLINE');
  });

  it('the switch port down: monitor OFFLINE and online refused, both recovery move; back up: ONLINE', async () => {
    link.portDown(true);
    try {
      await until(async () => (await agent.monitor(ctx(), { deep: false })).state === 'OFFLINE');
      const m = await agent.monitor(ctx(), { deep: false });
      expect(m).toMatchObject({ state: 'OFFLINE', recovery: 'move', level: 'first' });
      expect(m.reason).toMatch(/no carrier/);
      const on = await agent.online(ctx());
      expect(on).toMatchObject({ ok: false, recovery: 'move' });
    } finally {
      link.portDown(false);
    }
    await until(async () => (await agent.monitor(ctx(), { deep: false })).state === 'ONLINE');
  });

  it('the port detached (carrier up, silent): OFFLINE, recovery move, naming the ping host', async () => {
    link.detach(true);
    try {
      const m = await agent.monitor(ctx(), { deep: false });
      expect(m).toMatchObject({ state: 'OFFLINE', recovery: 'move', level: 'first' });
      expect(m.reason).toMatch(/carrier up but .* did not answer .*detached port/);
    } finally {
      link.detach(false);
    }
    await until(async () => (await agent.monitor(ctx(), { deep: false })).state === 'ONLINE');
  });

  it('a broken configuration: offline succeeds, monitor OFFLINE with recovery move', async () => {
    const off = await agent.offline(ctx(c.broken));
    expect(off.ok, off.reason).toBe(true);
    expect(off.reason).toMatch(c.idle!);
    const m = await agent.monitor(ctx(c.broken), { deep: false });
    expect(m).toMatchObject({ state: 'OFFLINE', recovery: 'move' });
    expect(m.reason).toMatch(/does not exist/);
  });
});

/** Polls `what` (a link change lands within milliseconds; the bound only ends a broken run). */
async function until(what: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('deep-check probes against the sandbox directory', () => {
  beforeAll(async () => {
    const r = await runScript(path.join(sb.ldapRoot, 'start-slapd'), [], { stdin: sb.sslDbPassword });
    expect(r.code, r.stderr).toBe(0);
    // start-slapd returns only once slapd listens: no polling here.
  });
  afterAll(async () => {
    await runScript(path.join(sb.ldapRoot, 'stop-slapd'));
  });

  it('LDAP: anonymous cn=monitor search is ok; invalid credentials are a configuration error', async () => {
    const ok = await probeLdap({ host: sb.host, port: sb.ports.ldap }, { timeoutMs: 3000 });
    expect(ok.outcome, ok.reason).toBe('ok');
    expect(ok.phases.total).toBeGreaterThan(0);
    const bad = await probeLdap({ host: sb.host, port: sb.ports.ldap }, { timeoutMs: 3000, bindDn: sb.testUser.dn, password: 'wrong-password' });
    expect(bad).toMatchObject({ outcome: 'fail', configurationError: true, failedPhase: 'login' });
    expect(bad.reason).not.toContain('wrong-password');
  });

  it('TLS: full handshake on the LDAPS port reports the certificate', async () => {
    const r = await probeTls({ host: sb.host, port: sb.ports.ldaps }, { timeoutMs: 3000 });
    expect(r.outcome, r.reason).toBe('ok');
    expect(Number(r.details?.certExpirySeconds)).toBeGreaterThan(0);
    expect(String(r.details?.certSubject)).toContain(sb.fqdn);
  });

  it('TCP: a closed port fails at connect, fast', async () => {
    const r = await probeTcp({ host: sb.host, port: sb.ports.sms }, { timeoutMs: 3000, greeting: '220' });
    expect(r).toMatchObject({ outcome: 'fail', failedPhase: 'connect' });
  });
});
