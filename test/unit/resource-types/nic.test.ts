/**
 * The NIC type against a real link: a veth pair between two private network namespaces
 * (mhn<pid>a holds nic0 = the node's link, mhn<pid>b holds peer0 = the switch side and a ping
 * host). checkLink: carrier and an answer → up and verified; the peer end down → no carrier;
 * the peer up but silent → carrier up, not verified, down; a missing device or namespace →
 * down with the reason; the default gateway as ping host. The type's functions as the agent
 * runs them, the agent's loop (three failed 1 s checks fault it, recovery 'move') and no
 * standby check for a persistent type. Also the attribute parsing and the type's own defaults.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentCore } from '../../../plugin/agent/agent-core';
import { explainType } from '../../../plugin/config/explain';
import { applyDefaults } from '../../../plugin/config/resolve';
import type { ResolvedResource } from '../../../plugin/model/cluster-types';
import type { AgentReport, Observation, OutgoingMessage } from '../../../plugin/pm2/protocol';
import { InProcessAgents } from '../../../plugin/coordinator/apps/in-process';
import { StandbyScan } from '../../../plugin/coordinator/apps/standby-scan';
import { createLogger } from '../../../plugin/core/log';
import { getResourceType } from '../../../plugin/resource-types';
import { defineType, type ResourceType } from '../../../plugin/resource-types/contract';
import { checkLink, linkSpecOf, pingArgv, type LinkSpec } from '../../../plugin/resource-types/nic';
import { namesDevice } from '../../../plugin/resource-types/link-events';
import { agentContext, resolvedResource } from '../../contract/agent-context';

const NS_A = `mhn${process.pid}a`;
const NS_B = `mhn${process.pid}b`;
const NET = '10.254.77';
const SELF = `${NET}.1`;
const PEER = `${NET}.2`;
const SILENT = `${NET}.9`;

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const nic = getResourceType('NIC')!;
const never = (): AbortSignal => new AbortController().signal;

function spec(over: Partial<LinkSpec> = {}): LinkSpec {
  return { device: 'nic0', pingHosts: [PEER], pingCount: 1, pingTimeoutMs: 800, containerName: NS_A, ...over };
}

/** The switch side: up or down (carrier of nic0 follows), with or without its address (silent when without). */
function peer(up: boolean, answering = true): void {
  ip('-n', NS_B, 'link', 'set', 'peer0', up ? 'up' : 'down');
  ip('-n', NS_B, 'addr', 'flush', 'dev', 'peer0');
  if (answering) ip('-n', NS_B, 'addr', 'add', `${PEER}/24`, 'dev', 'peer0');
}

/** Carrier as the kernel reports it, so a check starts only once the change has landed. */
async function carrierIs(up: boolean): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const flags = (JSON.parse(ip('-n', NS_A, '-j', 'link', 'show', 'dev', 'nic0')) as Array<{ flags: string[] }>)[0]!.flags;
    if (flags.includes('LOWER_UP') === up) return;
    if (Date.now() > end) throw new Error(`nic0 carrier did not become ${up ? 'up' : 'down'}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function linkUp(): Promise<void> { peer(true); await carrierIs(true); }

beforeAll(() => {
  for (const ns of [NS_A, NS_B]) {
    try { ip('netns', 'del', ns); } catch { /* not there */ }
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  // Created inside the namespaces: no name is ever taken in the root namespace.
  ip('-n', NS_A, 'link', 'add', 'nic0', 'type', 'veth', 'peer', 'name', 'peer0', 'netns', NS_B);
  ip('-n', NS_A, 'addr', 'add', `${SELF}/24`, 'dev', 'nic0');
  ip('-n', NS_A, 'link', 'set', 'nic0', 'up');
});

afterAll(() => {
  for (const ns of [NS_A, NS_B]) { try { ip('netns', 'del', ns); } catch { /* gone */ } }
});

describe('linkSpecOf', () => {
  it('reads the attributes with their defaults; unset PingHosts means the gateway, [] carrier only', () => {
    expect(linkSpecOf({ Device: 'eth0' })).toEqual({ device: 'eth0', pingHosts: 'gateway', pingCount: 1, pingTimeoutMs: 800, containerName: undefined });
    expect(linkSpecOf({ Device: 'eth0', PingHosts: [], PingCount: 3, PingTimeoutMs: 600, ContainerName: 'mailns' }))
      .toEqual({ device: 'eth0', pingHosts: [], pingCount: 3, pingTimeoutMs: 600, containerName: 'mailns' });
    expect(linkSpecOf({ Device: 'eth0', PingHosts: '192.0.2.1' })).toMatchObject({ pingHosts: ['192.0.2.1'] });
  });

  it.each([
    [{}, /Device is not set/],
    [{ Device: 'eth0; reboot' }, /Device "eth0; reboot" is not a network interface name/],
    [{ Device: 'eth0', PingHosts: ['192.0.2.1', 'gw.example.com', '300.1.1.1'] }, /PingHosts: "gw.example.com", "300.1.1.1" are not IPv4 addresses/],
  ])('%j → what is wrong', (attrs, why) => {
    expect(linkSpecOf(attrs)).toMatch(why);
  });

  it('spreads PingCount requests over PingTimeoutMs (fractions of a second)', () => {
    expect(pingArgv(spec(), PEER)).toEqual(['ping', '-n', '-q', '-c', '1', '-i', '0.8', '-W', '0.8', '-I', 'nic0', PEER]);
    expect(pingArgv(spec({ pingCount: 4 }), PEER)).toEqual(['ping', '-n', '-q', '-c', '4', '-i', '0.2', '-W', '0.2', '-I', 'nic0', PEER]);
  });
});

describe('link events: which `ip -o monitor link` lines name the device', () => {
  it.each([
    ['3: nic0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 state LOWERLAYERDOWN', true],
    ['3: nic0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP', true],
    ['Deleted 3: nic0@if7: <BROADCAST,MULTICAST> mtu 1500', true],
    ['4: nic01: <BROADCAST> mtu 1500', false],
    ['3: eth0: <BROADCAST> mtu 1500', false],
    ['    link/ether 8e:25:da:a5:50:25 brd ff:ff:ff:ff:ff:ff', false],
  ])('%s → %s', (line, want) => {
    expect(namesDevice(line, 'nic0')).toBe(want);
  });
});

describe('the type declares its own generic defaults', () => {
  it('a link is checked every second and faults on the third failed check; other types keep theirs', () => {
    expect(applyDefaults(nic.attributes, { Device: 'eth0' })).toMatchObject({ MonitorInterval: 1, ToleranceLimit: 2, MonitorTimeout: 1, OfflineMonitorInterval: 60 });
    expect(applyDefaults(getResourceType('IP')!.attributes, { Address: '192.0.2.1/24', Device: 'eth0' })).toMatchObject({ MonitorInterval: 10, ToleranceLimit: 0, MonitorTimeout: 8 });
    expect(explainType(nic)).toMatch(/MonitorInterval {2}\(seconds; default 1 s;/);
    expect(explainType(nic)).toMatch(/ToleranceLimit {2}\(integer; default 2;/);
    expect(nic.persistent).toBe(true);
  });

  it('a default outside the declaration is refused when the type is declared', () => {
    const base = { name: 'Bad', summary: 's', attributes: [], online: nic.online, offline: nic.offline, monitor: nic.monitor, clean: nic.clean };
    expect(() => defineType({ ...base, genericDefaults: { MonitorInterval: 0 } })).toThrow(/resource type Bad: generic default MonitorInterval = 0/);
  });
});

describe('checkLink on a real veth pair', () => {
  it('carrier and an answer: up and verified, with this node\'s address', async () => {
    await linkUp();
    const c = await checkLink(spec(), { signal: never() });
    expect(c).toEqual({ up: true, carrier: true, verified: true, reason: `nic0: carrier up, ${PEER} answered`, addresses: [SELF] });
  });

  it('the first answer wins: a silent host does not hold the check', async () => {
    await linkUp();
    const t0 = Date.now();
    const c = await checkLink(spec({ pingHosts: [SILENT, PEER], pingTimeoutMs: 5000 }), { signal: never() });
    expect(c).toMatchObject({ up: true, verified: true, reason: `nic0: carrier up, ${PEER} answered` });
    // The silent host's ping waits 5 s unless it is stopped; the margin absorbs a loaded machine.
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('the peer end down: no carrier, down', async () => {
    peer(false);
    await carrierIs(false);
    const c = await checkLink(spec(), { signal: never() });
    expect(c).toEqual({ up: false, carrier: false, verified: false, reason: 'nic0: no carrier', addresses: [SELF] });
    await linkUp();
  });

  it('the device set down here: no carrier, and the reason says how to set it up', async () => {
    await linkUp();
    ip('-n', NS_A, 'link', 'set', 'nic0', 'down');
    try {
      const c = await checkLink(spec(), { signal: never() });
      expect(c).toMatchObject({ up: false, carrier: false, reason: 'nic0: no carrier (the device is set down: ip link set nic0 up)' });
    } finally {
      ip('-n', NS_A, 'link', 'set', 'nic0', 'up');
    }
    await carrierIs(true);
  });

  it('carrier up but the peer silent (a detached port): not verified, down, naming the hosts', async () => {
    peer(true, false);
    await carrierIs(true);
    const one = await checkLink(spec({ pingTimeoutMs: 300 }), { signal: never() });
    expect(one).toEqual({ up: false, carrier: true, verified: false, reason: `nic0: carrier up but ${PEER} did not answer within 300 ms (detached port?)`, addresses: [SELF] });
    const two = await checkLink(spec({ pingHosts: [PEER, SILENT], pingCount: 3, pingTimeoutMs: 300 }), { signal: never() });
    expect(two.reason).toBe(`nic0: carrier up but none of ${PEER}, ${SILENT} answered within 300 ms (detached port?)`);
    expect(two).toMatchObject({ up: false, carrier: true, verified: false });
    await linkUp();
  });

  it('no ping host (PingHosts []): carrier only, up but not verified', async () => {
    await linkUp();
    const c = await checkLink(spec({ pingHosts: [] }), { signal: never() });
    expect(c).toMatchObject({ up: true, carrier: true, verified: false, reason: 'nic0: carrier up; PingHosts is empty: carrier only' });
  });

  it('PingHosts unset: the default gateway via the device, else carrier only', async () => {
    await linkUp();
    const none = await checkLink(spec({ pingHosts: 'gateway' }), { signal: never() });
    expect(none).toMatchObject({ up: true, verified: false, reason: 'nic0: carrier up; no default route via nic0, so no ping host: carrier only' });
    ip('-n', NS_A, 'route', 'add', 'default', 'via', PEER, 'dev', 'nic0');
    try {
      const gw = await checkLink(spec({ pingHosts: 'gateway' }), { signal: never() });
      expect(gw).toMatchObject({ up: true, verified: true, reason: `nic0: carrier up, gateway ${PEER} answered` });
      peer(true, false);
      const silent = await checkLink(spec({ pingHosts: 'gateway', pingTimeoutMs: 300 }), { signal: never() });
      expect(silent).toMatchObject({ up: false, carrier: true, reason: `nic0: carrier up but gateway ${PEER} did not answer within 300 ms (detached port?)` });
    } finally {
      ip('-n', NS_A, 'route', 'del', 'default');
      peer(true);
    }
  });

  it('a missing device or namespace: down with the reason, never a throw', async () => {
    const dev = await checkLink(spec({ device: 'nope0' }), { signal: never() });
    expect(dev).toEqual({ up: false, carrier: false, verified: false, reason: `nope0: the device does not exist in network namespace ${NS_A}`, addresses: [] });
    const ns = await checkLink(spec({ containerName: `${NS_A}x` }), { signal: never() });
    expect(ns).toMatchObject({ up: false, carrier: false, verified: false });
    expect(ns.reason).toMatch(/^nic0: cannot read the device: ip addr show exited with code \d+/);
  });

  it('an aborted check ends at once as down, never a throw', async () => {
    await linkUp();
    const abort = new AbortController();
    abort.abort();
    const c = await checkLink(spec(), { signal: abort.signal });
    expect(c).toMatchObject({ up: false, verified: false });
    expect(c.reason).toMatch(/^nic0: /);
  });
});

describe('the type\'s functions, as the agent runs them', () => {
  const ctx = (attrs: Record<string, unknown> = {}) =>
    agentContext(resolvedResource('NIC', 'link', { Device: 'nic0', ContainerName: NS_A, PingHosts: [PEER], ...attrs }));

  it('link up: online ok, monitor ONLINE (first level); offline and clean change nothing', async () => {
    await linkUp();
    expect(await nic.online(ctx())).toEqual({ ok: true, reason: `link up: nic0: carrier up, ${PEER} answered` });
    expect(await nic.monitor(ctx(), { deep: true })).toEqual({ state: 'ONLINE', level: 'first', reason: `nic0: carrier up, ${PEER} answered` });
    expect(await nic.offline(ctx())).toEqual({ ok: true, reason: 'nic0: a link is not stopped (nothing to do)' });
    expect(await nic.clean(ctx())).toEqual({ ok: true, reason: 'nic0: a link is not stopped (nothing to do)' });
    expect((await nic.monitor(ctx(), { deep: false })).state).toBe('ONLINE');
  });

  it('link down: online fails and monitor is OFFLINE, both recovery move; offline still succeeds', async () => {
    peer(false);
    await carrierIs(false);
    try {
      expect(await nic.online(ctx())).toEqual({ ok: false, recovery: 'move', reason: 'link down: nic0: no carrier' });
      expect(await nic.monitor(ctx(), { deep: false })).toEqual({ state: 'OFFLINE', recovery: 'move', level: 'first', reason: 'nic0: no carrier' });
      expect((await nic.offline(ctx())).ok).toBe(true);
    } finally {
      await linkUp();
    }
  });

  it('a broken configuration: UNKNOWN / refused with recovery configuration; offline with it succeeds', async () => {
    const bad = ctx({ PingHosts: ['gateway'] });
    expect(await nic.monitor(bad, { deep: false })).toMatchObject({ state: 'UNKNOWN', recovery: 'configuration', reason: 'PingHosts: "gateway" is not an IPv4 address' });
    expect(await nic.online(bad)).toMatchObject({ ok: false, recovery: 'configuration' });
    expect(await nic.offline(ctx({ Device: 'mh-nodev0' }))).toEqual({ ok: true, reason: 'mh-nodev0: a link is not stopped (nothing to do)' });
  });
});

describe('the agent with a NIC', () => {
  /** One second of MonitorInterval lasts 25 ms here: the loops run fast, the checks are real. */
  const SECOND_MS = 25;

  function agent(type: ResourceType, attrs: Record<string, unknown> = {}) {
    const resource: ResolvedResource = resolvedResource('NIC', 'link', { Device: 'nic0', ContainerName: NS_A, PingHosts: [PEER], OfflineMonitorInterval: 1, ...attrs });
    const sent: OutgoingMessage[] = [];
    const observed: Observation[] = [];
    const core = new AgentCore({
      resource, type, resolveSecret: async () => undefined, secondMs: SECOND_MS, level: 'ERROR',
      send: (m) => { sent.push(m); }, isDeepCycle: () => false, observe: (o) => { observed.push(o); },
    });
    const until = async (what: () => boolean, ms = 20_000): Promise<void> => {
      const end = Date.now() + ms;
      while (!what()) { if (Date.now() > end) throw new Error('timeout'); await new Promise((r) => setTimeout(r, 10)); }
    };
    const states = () => sent.filter((m) => m.type === 'msgha:state').map((m) => m.data);
    return { core, sent, observed, until, states };
  }

  it('on a standby: the coordinator\'s standby scan never checks a NIC, so a link that is up is never a concurrency violation', async () => {
    await linkUp();
    const resource: ResolvedResource = resolvedResource('NIC', 'link', { Device: 'nic0', ContainerName: NS_A, PingHosts: [PEER], OfflineMonitorInterval: 1 });
    const scanOf = (type: ResourceType) => {
      const reports: AgentReport[] = [];
      const group = { resources: () => [resource], resourceState: () => 'OFFLINE' as const, onReport: (r: AgentReport) => { reports.push(r); } };
      const local = new InProcessAgents(() => async () => undefined, 'n1', createLogger('test', 'scan', 'ERROR'), () => type);
      const scan = new StandbyScan(new Map([['g', group]]), { isUp: () => false, isStarting: () => false }, local, SECOND_MS);
      return { scan, reports };
    };
    const a = scanOf(nic);
    a.scan.start();
    // 20 OfflineMonitorIntervals: a standby check would have run many times by now.
    await new Promise((r) => setTimeout(r, 20 * SECOND_MS));
    a.scan.stop();
    expect(a.reports).toEqual([]);

    // The same link as a type that is not persistent: its standby check reports a violation.
    const plain = scanOf({ ...nic, persistent: undefined });
    plain.scan.start();
    const end = Date.now() + 20_000;
    while (!plain.reports.some((r) => r.violation === true) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    plain.scan.stop();
    expect(plain.reports.some((r) => r.violation === true)).toBe(true);
  });

  it('holding: a carrier change is checked at once (link events), not at the next MonitorInterval', async () => {
    await linkUp();
    // MonitorInterval 3600 (90 s here): only the link event can bring a check within the wait below.
    const a = agent(nic, { MonitorInterval: 3600 });
    a.core.handle({ cmd: 'online', reqId: 3 });
    await a.until(() => a.observed.some((o) => o.fn === 'monitor' && o.state === 'ONLINE'));
    peer(false);
    try {
      await a.until(() => a.observed.some((o) => o.fn === 'monitor' && !o.ok), 15_000);
      expect(a.observed.filter((o) => o.fn === 'monitor' && !o.ok)).toHaveLength(1);
    } finally {
      a.core.dispose();
      await linkUp();
    }
    // dispose() ended the event monitor: no `ip monitor` of this namespace is left.
    await a.until(() => !execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).includes(`ip -n ${NS_A} -o monitor link`), 5000);
  });

  it('holding: the third failed check in a row faults it with recovery move (ToleranceLimit 2)', async () => {
    await linkUp();
    const a = agent(nic);
    a.core.handle({ cmd: 'online', reqId: 2 });
    await a.until(() => a.states().some((s) => s.state === 'ONLINE'));
    await a.until(() => a.observed.some((o) => o.fn === 'monitor' && o.state === 'ONLINE'));
    peer(false);
    try {
      await a.until(() => a.states().some((s) => s.state === 'FAULTED'));
      const fault = a.states().find((s) => s.state === 'FAULTED')!;
      expect(fault).toMatchObject({ recovery: 'move', level: 'first', reason: 'nic0: no carrier' });
      const failed = a.observed.filter((o) => o.fn === 'monitor' && !o.ok);
      expect(failed).toHaveLength(3);
    } finally {
      a.core.dispose();
      await linkUp();
    }
  });
});
