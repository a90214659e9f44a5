/**
 * GroupRunner against a fake AgentPort: online in requires order, restart in place within the
 * budget, group FAULTED and offline in reverse beyond it, non-critical faults, clear.
 */
import { describe, expect, it } from 'vitest';
import type { ResolvedGroup, ResolvedResource } from '../../../plugin/config/cluster-types';
import { createLogger } from '../../../plugin/log';
import type { AgentPort } from '../../../plugin/coordinator/app-registry';
import { GroupRunner } from '../../../plugin/coordinator/group-runner';
import { RestartBudget } from '../../../plugin/coordinator/restart-budget';
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

describe('RestartBudget', () => {
  it('allows RestartLimit restarts within ConfInterval and forgets older ones', () => {
    let now = 0;
    const b = new RestartBudget(2, 1000, () => now);
    expect([b.take(), b.take(), b.take()]).toEqual([true, true, false]);
    now = 1001;
    expect(b.take()).toBe(true);
    expect(b.used()).toBe(1);
  });

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
