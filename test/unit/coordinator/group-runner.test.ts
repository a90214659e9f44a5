/**
 * GroupRunner against a fake AgentPort: online in requires order, restart in place within the
 * budget, group FAULTED and offline in reverse beyond it, non-critical faults, clear.
 */
import { describe, expect, it } from 'vitest';
import type { ResolvedGroup, ResolvedResource } from '../../../plugin/model/cluster-types';
import { createLogger } from '../../../plugin/core/log';
import type { AgentPort } from '../../../plugin/coordinator/apps/app-registry';
import { GroupRunner } from '../../../plugin/coordinator/group-runner';
import type { AgentReport } from '../../../plugin/pm2/protocol';

function res(name: string, requires: string[] = [], attrs: Record<string, unknown> = {}): ResolvedResource {
  return { id: `g.${name}`, group: 'g', name, type: 'Fake', requires, attrs: { RestartLimit: 1, ConfInterval: 600, Critical: true, OnlineTimeout: 5, OfflineTimeout: 5, CleanTimeout: 5, ...attrs } };
}

function group(resources: ResolvedResource[]): ResolvedGroup {
  return { name: 'g', systemList: ['n1'], autoStart: true, dependsOn: [], frozen: false, resources };
}

function fakePort(fail: Set<string> = new Set()) {
  const calls: string[] = [];
  const port: AgentPort = {
    async request(id, command) {
      calls.push(`${id}:${command.cmd}`);
      const ok = !fail.has(`${id}:${command.cmd}`);
      return { resource: id, fn: command.cmd, ok, state: ok ? 'ONLINE' : 'OFFLINE', reason: ok ? 'fine' : 'broken', pid: 1 };
    },
  };
  return { port, calls };
}

const quiet = createLogger('test', 'coordinator', 'ERROR');
const fault = (id: string): AgentReport => ({ resource: id, fn: 'monitor', state: 'FAULTED', reason: 'daemon gone', recovery: 'restartable', pid: 1 });
const settle = () => new Promise((r) => setTimeout(r, 10));
/** Polls (real time, for the runner's fixed 300 ms retry pause) until `done`, at most 5 s. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('GroupRunner', () => {
  it('brings resources online in requires order and offline in reverse', async () => {
    const { port, calls } = fakePort();
    const g = new GroupRunner(group([res('ldap'), res('core', ['ldap']), res('imap', ['core'])]), { agents: port, log: quiet, restartApp: async () => true });
    expect((await g.online('test')).ok).toBe(true);
    expect(g.state).toBe('ONLINE');
    expect(calls).toEqual(['g.ldap:online', 'g.core:online', 'g.imap:online']);
    calls.length = 0;
    await g.offline('test');
    expect(calls).toEqual(['g.imap:offline', 'g.core:offline', 'g.ldap:offline']);
    expect(g.state).toBe('OFFLINE');
  });

  it('watches the processes an ONLINE resource reported and tells its agent at once when one exits', async () => {
    const { port, calls } = fakePort();
    const watches: Array<{ pids: number[]; onExit: (pid: number) => void; stopped: boolean }> = [];
    const g = new GroupRunner(group([res('ldap'), res('imap', ['ldap'])]), {
      agents: port, log: quiet, restartApp: async () => true,
      watchPids: (pids, onExit) => { const w = { pids, onExit, stopped: false }; watches.push(w); return { stop: () => { w.stopped = true; } }; },
    });
    await g.online('test');
    g.onReport({ resource: 'g.imap', fn: 'pids', state: 'ONLINE', reason: 'processes 77', pid: 1, pids: [77] });
    expect(watches.map((w) => w.pids)).toEqual([[77]]);
    // A new set replaces the old watch.
    g.onReport({ resource: 'g.imap', fn: 'pids', state: 'ONLINE', reason: 'processes 78', pid: 1, pids: [78] });
    expect(watches[0]!.stopped).toBe(true);
    calls.length = 0;
    watches[1]!.onExit(78);
    await settle();
    expect(calls).toEqual(['g.imap:exited']);
    expect(watches[1]!.stopped).toBe(true);
    // Leaving ONLINE stops the watch.
    g.onReport({ resource: 'g.imap', fn: 'pids', state: 'ONLINE', reason: 'processes 79', pid: 1, pids: [79] });
    await g.offline('test');
    expect(watches[2]!.stopped).toBe(true);
  });

  it('a restart whose online fails at once (the crashed instance still exiting) is tried once more in the same attempt', async () => {
    const calls: string[] = [];
    let onlineFailures = 0;
    const port: AgentPort = {
      async request(id, command) {
        calls.push(`${id}:${command.cmd}`);
        const fail = command.cmd === 'online' && id === 'g.imap' && onlineFailures-- > 0;
        return { resource: id, fn: command.cmd, ok: !fail, state: fail ? 'OFFLINE' : 'ONLINE', reason: fail ? 'Dovecot is already running?' : 'fine', pid: 1 };
      },
    };
    const g = new GroupRunner(group([res('ldap'), res('imap', ['ldap'])]), { agents: port, log: quiet, restartApp: async () => true });
    await g.online('test');
    calls.length = 0;
    onlineFailures = 1;
    g.onReport(fault('g.imap'));
    await new Promise((r) => setTimeout(r, 500));
    expect(calls).toEqual(['g.imap:clean', 'g.imap:online', 'g.imap:clean', 'g.imap:online']);
    expect(g.state).toBe('ONLINE');
    expect(g.status().resources[1]!.restarts).toBe(1);
  });

  it('restarts a faulted critical resource in place, then faults the group beyond RestartLimit', async () => {
    const { port, calls } = fakePort();
    const g = new GroupRunner(group([res('ldap'), res('imap', ['ldap'])]), { agents: port, log: quiet, restartApp: async () => true });
    await g.online('test');
    calls.length = 0;
    g.onReport(fault('g.imap'));
    await settle();
    expect(calls).toEqual(['g.imap:clean', 'g.imap:online']);
    expect(g.state).toBe('ONLINE');
    expect(g.status().resources[1]!.restarts).toBe(1);
    calls.length = 0;
    g.onReport(fault('g.imap'));
    await settle();
    expect(g.state).toBe('FAULTED');
    expect(calls).toEqual(['g.imap:offline', 'g.ldap:offline']);
    expect((await g.online('again')).ok).toBe(false);
    expect((await g.clear()).ok).toBe(true);
    expect(g.state).toBe('OFFLINE');
    // A retried clear (PM2 lost the first reply) answers like the first.
    expect(await g.clear()).toMatchObject({ ok: true, reason: expect.stringMatching(/already cleared/) });
  });

  it('a non-critical resource beyond its budget faults only itself', async () => {
    const { port } = fakePort();
    const g = new GroupRunner(group([res('ldap'), res('http', ['ldap'], { Critical: false, RestartLimit: 0 })]), { agents: port, log: quiet, restartApp: async () => true });
    await g.online('test');
    g.onReport(fault('g.http'));
    await settle();
    expect(g.state).toBe('PARTIAL');
    expect(g.status().resources.map((r) => r.state)).toEqual(['ONLINE', 'FAULTED']);
  });

  it('a failed online of a critical resource faults the group; dependents are not started', async () => {
    const { port, calls } = fakePort(new Set(['g.core:online']));
    const g = new GroupRunner(group([res('ldap'), res('core', ['ldap']), res('imap', ['core'])]), { agents: port, log: quiet, restartApp: async () => true });
    const o = await g.online('test');
    expect(o.ok).toBe(false);
    expect(g.state).toBe('FAULTED');
    expect(calls).not.toContain('g.imap:online');
  });
});

describe('GroupRunner: freeze, early resources', () => {
  it('frozen: a fault is recorded, nothing is done about it', async () => {
    const { port, calls } = fakePort();
    const g = new GroupRunner(group([res('ldap'), res('imap', ['ldap'])]), { agents: port, log: quiet, restartApp: async () => true });
    await g.online('test');
    g.frozen = true;
    calls.length = 0;
    g.onReport(fault('g.imap'));
    await settle();
    expect(calls).toEqual([]);
    expect(g.status().resources[1]!.state).toBe('FAULTED');
    expect(g.status().resources[1]!.reason).toMatch(/frozen: no automatic action/);
    expect(g.state).toBe('PARTIAL');
    expect(g.status().frozen).toBe(true);
  });

  it('Mount then IP first; onFaulted is told when the group faults (multi-node failover)', async () => {
    const { port, calls } = fakePort();
    const faulted: string[] = [];
    const rs = [res('app', ['vip']), { ...res('vip'), type: 'IP' }, { ...res('disk'), type: 'Mount' }];
    const g = new GroupRunner(group(rs), { agents: port, log: quiet, restartApp: async () => true, onFaulted: (r) => faulted.push(r) });
    await g.online('test');
    expect(calls).toEqual(['g.disk:online', 'g.vip:online', 'g.app:online']);
    g.onReport(fault('g.app'));
    g.onReport(fault('g.app'));
    await settle();
    await settle();
    expect(g.state).toBe('FAULTED');
    expect(faulted).toHaveLength(1);
    expect(faulted[0]).toMatch(/critical resource app faulted/);
  });
});

/** A scripted agent port: `script(id, cmd)` returns false to fail that call; every call is logged. */
function scriptedPort(script: (id: string, cmd: string) => boolean | { ok: boolean; recovery?: 'configuration' | 'restartable' | 'move' }) {
  const calls: string[] = [];
  const port: AgentPort = {
    async request(id, command) {
      calls.push(`${id}:${command.cmd}`);
      const s = script(id, command.cmd);
      const { ok, recovery } = typeof s === 'boolean' ? { ok: s, recovery: undefined } : s;
      return { resource: id, fn: command.cmd, ok, state: ok ? 'ONLINE' : 'OFFLINE', reason: ok ? 'fine' : 'agent app exited before replying', pid: 1, ...(recovery ? { recovery } : {}) };
    },
  };
  return { port, calls };
}

describe('OnlineRetryLimit: a failed first online is cleaned and tried again', () => {
  it('default 1: one failure is cleaned and retried, the group comes ONLINE, RestartLimit untouched', async () => {
    let failures = 1;
    const { port, calls } = scriptedPort((id, cmd) => !(id === 'g.imap' && cmd === 'online' && failures-- > 0));
    const g = new GroupRunner(group([res('ldap'), res('imap', ['ldap'])]), { agents: port, log: quiet, restartApp: async () => true });
    expect((await g.online('test')).ok).toBe(true);
    expect(calls).toEqual(['g.ldap:online', 'g.imap:online', 'g.imap:clean', 'g.imap:online']);
    expect(g.state).toBe('ONLINE');
    expect(g.status().resources[1]).toMatchObject({ state: 'ONLINE', restarts: 0, reason: expect.stringMatching(/after 1 OnlineRetryLimit retry/) });
  });

  it('beyond OnlineRetryLimit (here 2) the critical resource faults the group: 3 onlines, each cleaned', async () => {
    const { port, calls } = scriptedPort((id, cmd) => !(id === 'g.imap' && cmd === 'online'));
    const g = new GroupRunner(group([res('ldap'), res('imap', ['ldap'], { OnlineRetryLimit: 2 })]), { agents: port, log: quiet, restartApp: async () => true });
    const o = await g.online('test');
    expect(o.ok).toBe(false);
    expect(g.state).toBe('FAULTED');
    expect(calls.filter((c) => c.startsWith('g.imap:'))).toEqual(['g.imap:online', 'g.imap:clean', 'g.imap:online', 'g.imap:clean', 'g.imap:online', 'g.imap:clean', 'g.imap:offline']);
    expect(g.status().resources[1]!.reason).toMatch(/3 attempts, OnlineRetryLimit 2/);
  });

  it('OnlineRetryLimit 0, or a configuration error, is not retried', async () => {
    for (const [attrs, answer] of [[{ OnlineRetryLimit: 0 }, false], [{}, { ok: false, recovery: 'configuration' as const }]] as const) {
      const { port, calls } = scriptedPort((id, cmd) => (id === 'g.imap' && cmd === 'online' ? answer : true));
      const g = new GroupRunner(group([res('imap', [], attrs)]), { agents: port, log: quiet, restartApp: async () => true });
      expect((await g.online('test')).ok).toBe(false);
      expect(calls.filter((c) => c === 'g.imap:online')).toHaveLength(1);
      expect(g.state).toBe('FAULTED');
    }
  });
});

describe('a fault met while the lease is being lost never marks the node FAULTED', () => {
  // GroupLease.leaseSettled: false while the elector is fencing (its lost() offline runs), true
  // for a holder whose renewals are current.
  const withLease = (port: AgentPort, settled: () => Promise<boolean>) => {
    const g = new GroupRunner(group([res('disk'), res('dovecot', ['disk']), res('postfix', ['disk'])]), { agents: port, log: quiet, restartApp: async () => true });
    g.leaseSettled = settled;
    return g;
  };

  it('after a thaw (fencing): "could not stop dovecot" leaves the group OFFLINE, not FAULTED; offline says not ok (→ the fence kills); the node can take the group again', async () => {
    let broken = true;
    const { port } = scriptedPort((id, cmd) => !(broken && id === 'g.dovecot' && (cmd === 'offline' || cmd === 'clean')));
    let fencing = false;
    const g = withLease(port, async () => !fencing);
    await g.online('lease epoch 1 acquired');
    fencing = true;
    const off = await g.offline('lease fenced');
    expect(off.ok).toBe(false);
    expect(off.reason).toMatch(/could not stop dovecot .*not FAULTED/);
    expect(g.state).toBe('OFFLINE');
    expect(g.status().resources.find((r) => r.name === 'dovecot')!.state).toBe('UNKNOWN');
    // Eligible: a later acquisition brings it online without `msgha clear`.
    fencing = false;
    broken = false;
    expect((await g.online('lease epoch 3 acquired')).ok).toBe(true);
    expect(g.state).toBe('ONLINE');
  });

  it('the same failed stop on a holder whose renewals are current is a genuine fault: FAULTED', async () => {
    const { port } = scriptedPort((id, cmd) => !(id === 'g.dovecot' && (cmd === 'offline' || cmd === 'clean')));
    const g = withLease(port, async () => true);
    await g.online('lease epoch 1 acquired');
    expect((await g.offline('operator offline')).ok).toBe(false);
    expect(g.state).toBe('FAULTED');
  });

  it('a fault beyond RestartLimit on a healthy holder faults the group (failover); the same fault met while renewals fail and the lease is lost does not', async () => {
    const { port } = scriptedPort(() => true);
    const faulted: string[] = [];
    const healthy = new GroupRunner(group([res('disk'), res('dovecot', ['disk'], { RestartLimit: 0 })]), { agents: port, log: quiet, restartApp: async () => true, onFaulted: (r) => faulted.push(r) });
    healthy.leaseSettled = async () => true;
    await healthy.online('acquired');
    healthy.onReport(fault('g.dovecot'));
    await settle();
    expect(healthy.state).toBe('FAULTED');
    expect(faulted).toHaveLength(1);

    // Renewals stale (a paused holder): leaseSettled waits for the outcome — here, the loss.
    let lose: (ok: boolean) => void = () => {};
    const losing = new GroupRunner(group([res('disk'), res('dovecot', ['disk'], { RestartLimit: 0 })]), { agents: port, log: quiet, restartApp: async () => true, onFaulted: (r) => faulted.push(r) });
    losing.leaseSettled = async () => true;
    await losing.online('acquired');
    losing.leaseSettled = () => new Promise<boolean>((resolve) => { lose = resolve; });
    losing.onReport(fault('g.dovecot'));
    await settle();
    lose(false);
    await settle();
    expect(losing.state).not.toBe('FAULTED');
    expect(faulted).toHaveLength(1);
    expect(losing.status().resources[1]!.reason).toMatch(/lease lost: not restarted/);
  });

  it('the lease is lost during a restart in place: no further budget spent, the group is not FAULTED', async () => {
    let settledAnswer = true;
    let armed = false;
    const { port, calls } = scriptedPort((id, cmd) => {
      // The restart's online fails because the lease went meanwhile (e.g. Mount refuses the epoch).
      if (armed && id === 'g.dovecot' && cmd === 'online') { settledAnswer = false; return false; }
      return true;
    });
    const g = new GroupRunner(group([res('disk'), res('dovecot', ['disk'], { RestartLimit: 3 })]), { agents: port, log: quiet, restartApp: async () => true, now: () => 0 });
    g.leaseSettled = async () => settledAnswer;
    await g.online('acquired');
    armed = true;
    calls.length = 0;
    g.onReport(fault('g.dovecot'));
    await until(() => g.status().resources[1]!.state === 'UNKNOWN');
    // One attempt (no quick retry: the lease is being lost), then nothing more.
    expect(calls).toEqual(['g.dovecot:clean', 'g.dovecot:online']);
    expect(g.status().resources[1]).toMatchObject({ state: 'UNKNOWN', restarts: 1, reason: expect.stringMatching(/lease being lost/) });
    expect(g.state).not.toBe('FAULTED');
  });
});

describe('adoption after a coordinator restart', () => {
  const running = (ids: string[]): Map<string, AgentReport> => new Map(ids.map((id) => [id, { resource: id, fn: 'state', state: 'ONLINE', target: 'online', reason: 'running', pid: 1 } as AgentReport]));
  const deepFault = (id: string): AgentReport => ({ ...fault(id), level: 'second', reason: 'imap probe through 10.88.0.50: connection refused' });

  it('a deep-check failure within the adoption grace that passes when checked again restarts nothing (the VIP was just put back)', async () => {
    let now = 1_000_000;
    const { port, calls } = scriptedPort(() => true);
    const g = new GroupRunner(group([res('disk'), res('dovecot', ['disk'], { RestartLimit: 1, MonitorInterval: 10, SecondLevelMonitor: 1, MonitorTimeout: 8 })]), { agents: port, log: quiet, restartApp: async () => true, now: () => now });
    await g.adopt(running(['g.disk', 'g.dovecot']));
    now += 5_000;
    g.onReport(deepFault('g.dovecot'));
    await settle();
    expect(calls).toEqual(['g.dovecot:monitor']);
    expect(g.state).toBe('ONLINE');
    expect(g.status().resources[1]!.restarts).toBe(0);
  });

  it('a deep-check failure within the adoption grace that still fails is restarted without using RestartLimit (once); later ones count', async () => {
    let now = 1_000_000;
    const { port, calls } = scriptedPort((_id, cmd) => cmd !== 'monitor');
    const g = new GroupRunner(group([res('disk'), res('dovecot', ['disk'], { RestartLimit: 1, MonitorInterval: 10, SecondLevelMonitor: 1, MonitorTimeout: 8 })]), { agents: port, log: quiet, restartApp: async () => true, now: () => now });
    await g.adopt(running(['g.disk', 'g.dovecot']));
    expect(g.state).toBe('ONLINE');
    expect(calls).toEqual([]); // adoption restarts nothing

    now += 5_000; // the first deep check after the restart, through the lapsed VIP
    g.onReport(deepFault('g.dovecot'));
    await settle();
    expect(calls).toEqual(['g.dovecot:monitor', 'g.dovecot:clean', 'g.dovecot:online']);
    expect(g.state).toBe('ONLINE');
    expect(g.status().resources[1]!.restarts).toBe(1);
    expect(g.last?.reason ?? g.reason).toMatch(/restarted in place/);

    // The budget is whole: one counted restart is still allowed, the next one faults.
    g.onReport(deepFault('g.dovecot'));
    await settle();
    expect(g.state).toBe('ONLINE');
    g.onReport(deepFault('g.dovecot'));
    await settle();
    expect(g.state).toBe('FAULTED');
  });

  it('the grace is one deep-check period (MonitorInterval × SecondLevelMonitor + MonitorTimeout, at most 120 s) and covers only deep checks', async () => {
    const { adoptionGraceMs } = await import('../../../plugin/coordinator/group-runner');
    expect(adoptionGraceMs(res('a', [], { MonitorInterval: 10, SecondLevelMonitor: 2, MonitorTimeout: 8 }))).toBe(28_000);
    expect(adoptionGraceMs(res('a', [], { MonitorInterval: 60, SecondLevelMonitor: 5, MonitorTimeout: 8 }))).toBe(120_000);

    let now = 1_000_000;
    const { port } = scriptedPort(() => true);
    const mk = () => new GroupRunner(group([res('dovecot', [], { RestartLimit: 0, MonitorInterval: 10, SecondLevelMonitor: 1, MonitorTimeout: 8 })]), { agents: port, log: quiet, restartApp: async () => true, now: () => now });
    // After the grace: counted (RestartLimit 0 → FAULTED).
    const late = mk();
    await late.adopt(running(['g.dovecot']));
    now += 18_001;
    late.onReport(deepFault('g.dovecot'));
    await settle();
    expect(late.state).toBe('FAULTED');
    // A process exit (first level) within the grace: counted as always.
    const exit = mk();
    await exit.adopt(running(['g.dovecot']));
    exit.onReport({ ...fault('g.dovecot'), level: 'first' });
    await settle();
    expect(exit.state).toBe('FAULTED');
    // Not adopted (started by this coordinator): counted.
    const fresh = mk();
    await fresh.online('test');
    fresh.onReport(deepFault('g.dovecot'));
    await settle();
    expect(fresh.state).toBe('FAULTED');
  });
});

describe('a thawed holder stays eligible (GroupRunner under a real GroupLease, fake clock)', () => {
  it('paused past its serve deadline, then thawed: the offline fails ("agent app exited before replying"), the fence kills, the group is not FAULTED and comes back here', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { GroupLease } = await import('../../../plugin/cluster/group-lease');
    const { FakeClock } = await import('../../../plugin/lease/fake-clock');
    const { MemoryDirectory, MemoryStoreView } = await import('../../../plugin/lease/memory-store');
    const { PROFILES } = await import('../../../plugin/lease/profiles');
    const T = PROFILES.fast.timings;
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgha-thaw-'));
    try {
      let thawed = false;
      // After the thaw the agents self-fence at once; the Mount clean killed the dovecot agent.
      const { port, calls } = scriptedPort((id, cmd) => !(thawed && id === 'g.dovecot' && (cmd === 'offline' || cmd === 'clean')));
      const fenceLog: string[] = [];
      const ok = async () => ({ ok: true as const });
      const fence = { arm: ok, renew: ok, disarm: ok, adopt: ok, fireNow: async () => { fenceLog.push('fire'); return { ok: true as const }; } };
      const rs = [{ ...res('disk'), type: 'Mount', attrs: { ...res('disk').attrs, MountPoint: '/srv/mail' } }, res('dovecot', ['disk'])];
      const runner = new GroupRunner(group(rs), { agents: port, log: quiet, restartApp: async () => true });
      const clock = new FakeClock();
      const lease = new GroupLease({
        runner, node: 'n1', store: new MemoryStoreView(new MemoryDirectory(), clock, T.ioTimeoutMs), clock,
        profile: PROFILES.fast, fence, runDir, incarnation: 1, log: quiet,
      });
      lease.start();
      await clock.advance(3 * T.pollMs);
      await clock.settle(20);
      expect(runner.state).toBe('ONLINE');

      // SIGSTOP of every process for 3 × L: time passes, no timer runs. Then SIGCONT.
      (clock as unknown as { t: number }).t += 3 * T.leaseMs;
      thawed = true;
      calls.length = 0;
      await clock.advance(1);
      await clock.settle(50);
      expect(calls).toContain('g.dovecot:clean');
      expect(fenceLog).toEqual(['fire']);
      expect(runner.state).not.toBe('FAULTED');
      expect(runner.state).toBe('OFFLINE');

      // Eligible: nobody else holds the group, so this node claims it again — no `msgha clear`.
      thawed = false;
      for (let i = 0; i < 20 && runner.state !== 'ONLINE'; i++) { await clock.advance(T.pollMs); await clock.settle(20); }
      expect(lease.holding).toBe(true);
      expect(runner.state).toBe('ONLINE');
    } finally {
      fs.rmSync(runDir, { recursive: true, force: true });
    }
  });
});

describe('GroupRunner: the apps mirror the components', () => {
  /** A port that records prepare and retire, and answers like fakePort. */
  function appPort() {
    const f = fakePort();
    const prepared: string[] = [];
    const retired: Array<{ id: string; why: string }> = [];
    const port: AgentPort = { ...f.port, prepare: (ids) => { prepared.push(...ids); }, retire: (id, why) => { retired.push({ id, why }); } };
    return { port, calls: f.calls, prepared, retired };
  }

  it('online prepares every app at once; offline retires them all once the group is down', async () => {
    const p = appPort();
    const runner = new GroupRunner(group([res('a'), res('b', ['a'])]), { agents: p.port, log: quiet, restartApp: async () => true });
    await runner.online('test');
    expect(p.prepared).toEqual(['g.a', 'g.b']);
    expect(p.retired).toEqual([]);
    await runner.offline('test');
    await settle();
    expect(p.retired.map((r) => r.id).sort()).toEqual(['g.a', 'g.b']);
    expect(p.retired[0]!.why).toMatch(/OFFLINE here \(group g OFFLINE\)/);
  });

  it('a non-critical resource beyond its budget is retired; the rest keep their apps', async () => {
    const p = appPort();
    const runner = new GroupRunner(group([res('a'), res('b', [], { Critical: false, RestartLimit: 0 })]), { agents: p.port, log: quiet, restartApp: async () => true });
    await runner.online('test');
    runner.onReport(fault('g.b'));
    await until(() => p.retired.length > 0);
    expect(p.retired.map((r) => r.id)).toEqual(['g.b']);
    expect(runner.wantsApp('g.a')).toBe(true);
  });

  it('a pm2 start where the group does not run is refused with the reason; an expected start (ours) is only retired as idle', async () => {
    const p = appPort();
    const runner = new GroupRunner(group([res('a')]), { agents: p.port, log: quiet, restartApp: async () => true });
    runner.onReport({ resource: 'g.a', fn: 'hello', state: 'UNKNOWN', reason: 'agent started', pid: 9 }, true);
    await until(() => p.retired.length > 0);
    expect(p.retired[0]!.why).not.toMatch(/its apps run only where/);
    p.retired.length = 0;
    runner.onReport({ resource: 'g.a', fn: 'hello', state: 'UNKNOWN', reason: 'agent started', pid: 9 });
    await until(() => p.retired.length > 0);
    expect(p.retired[0]!.why).toMatch(/not started: group g is OFFLINE on this node; its apps run only where the group runs/);
  });

  it('the holder went silent: the apps start ahead of a takeover and are retired when it lives again', async () => {
    const p = appPort();
    const runner = new GroupRunner(group([res('a'), res('b')]), { agents: p.port, log: quiet, restartApp: async () => true });
    runner.expectTakeover(true, 'holder silent');
    expect(p.prepared).toEqual(['g.a', 'g.b']);
    runner.retireIdle();
    expect(p.retired).toEqual([]);
    runner.expectTakeover(false, 'observed-change');
    expect(p.retired.map((r) => r.id)).toEqual(['g.a', 'g.b']);
  });
});
