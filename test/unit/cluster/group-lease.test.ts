/**
 * GroupLease: the elector wired to the group runner, the fence and the guard file — on a fake
 * clock, an in-memory lease store, a fake fence and fake agents. Checks the order the safety
 * argument needs: guard and fence armed before any resource starts; pids adopted; renewals
 * extend the fence; a loss stops the group before the fence is disarmed; a refused fence keeps
 * the group offline.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResolvedGroup, ResolvedResource } from '../../../plugin/model/cluster-types';
import { createLogger } from '../../../plugin/core/log';
import type { AgentPort } from '../../../plugin/coordinator/apps/app-registry';
import { GroupRunner } from '../../../plugin/coordinator/group-runner';
import { GroupLease, type FencePort } from '../../../plugin/cluster/group-lease';
import { FakeClock } from '../../../plugin/lease/fake-clock';
import { MemoryDirectory, MemoryStoreView } from '../../../plugin/lease/memory-store';
import { PROFILES } from '../../../plugin/lease/profiles';
import { readGuard } from '../../../plugin/lease/guard';
import type { FenceReply } from '../../../plugin/fence/protocol';

const quiet = createLogger('test', 'coordinator', 'ERROR');
const T = PROFILES.fast.timings;
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgha-gl-'));
afterAll(() => fs.rmSync(runDir, { recursive: true, force: true }));

const res = (name: string, type: string, requires: string[] = []): ResolvedResource => ({
  id: `g.${name}`, group: 'g', name, type, requires, attrs: { RestartLimit: 0, OnlineTimeout: 5, OfflineTimeout: 5, CleanTimeout: 5 },
});

function setup(opts: { armOk?: boolean; appOfflineMs?: number; vipRefreshMs?: number } = {}) {
  const log: string[] = [];
  const port: AgentPort = {
    async request(id, command) {
      if (command.cmd === 'offline' && id === 'g.app' && opts.appOfflineMs) await clock.sleep(opts.appOfflineMs);
      const g = readGuard(runDir, 'g');
      log.push(`${id}:${command.cmd}${command.cmd === 'online' ? ` guard=${g?.epoch ?? 'none'}` : ''}`);
      return { resource: id, fn: command.cmd, ok: true, state: 'ONLINE', reason: 'fine', pid: 1 };
    },
  };
  const fence: FencePort = {
    arm: async (group, epoch): Promise<FenceReply> => { log.push(`fence:arm ${epoch}`); return opts.armOk === false ? { ok: false, reason: 'already fired' } : { ok: true }; },
    renew: async (): Promise<FenceReply> => { log.push('fence:renew'); return { ok: true }; },
    disarm: async (group, epoch): Promise<FenceReply> => { log.push(`fence:disarm ${epoch}`); return { ok: true }; },
    adopt: async (group, pid): Promise<FenceReply> => { log.push(`fence:adopt ${pid}`); return { ok: true }; },
    fireNow: async (): Promise<FenceReply> => { log.push('fence:fire'); return { ok: true }; },
  };
  const group: ResolvedGroup = { name: 'g', systemList: ['a', 'b'], autoStart: true, dependsOn: [], frozen: false, resources: [res('app', 'Application', ['vip']), res('vip', 'IP'), res('disk', 'Mount')] };
  const runner = new GroupRunner(group, { agents: port, log: quiet, restartApp: async () => true });
  const clock = new FakeClock();
  const store = new MemoryStoreView(new MemoryDirectory(), clock, T.ioTimeoutMs);
  /** Serve time each VIP refresh was given, measured from the renewal that asked for it. */
  const vips: number[] = [];
  const lease = new GroupLease({
    runner, node: 'a', store, clock, profile: PROFILES.fast, fence, runDir, incarnation: 1, log: quiet,
    leaseBound: {
      follows: (r) => r.type === 'IP',
      renewed: async (_r, until) => {
        vips.push(until - clock.now());
        log.push('vip:refresh');
        if (opts.vipRefreshMs) { await clock.sleep(opts.vipRefreshMs); log.push('vip:refreshed'); }
      },
      resumed: async () => undefined,
    },
  });
  return { log, runner, clock, lease, vips };
}

describe('GroupLease', () => {
  it('acquire: guard and fence first, then Mount → IP → services; renewals extend the fence; pids adopted', async () => {
    const { log, runner, clock, lease, vips } = setup();
    lease.start();
    await clock.advance(3 * T.pollMs);
    expect(lease.holding).toBe(true);
    await clock.settle(20);
    expect(runner.state).toBe('ONLINE');
    const epoch = lease.status().epoch;
    expect(log.filter((l) => l !== 'fence:renew' && !l.startsWith('vip:')).slice(0, 4)).toEqual([`fence:arm ${epoch}`, `g.disk:online guard=${epoch}`, `g.vip:online guard=${epoch}`, `g.app:online guard=${epoch}`]);
    runner.onReport({ resource: 'g.app', fn: 'pids', state: 'ONLINE', reason: 'processes', pid: 1, pids: [4242] });
    await lease.adoptPids([4242]);
    await lease.adoptPids([4242]);
    expect(log.filter((l) => l === 'fence:adopt 4242')).toHaveLength(1);
    await clock.advance(5 * T.renewMs);
    expect(log.filter((l) => l === 'fence:renew').length).toBeGreaterThanOrEqual(3);
    expect(vips.length).toBeGreaterThan(0);
    // an absolute deadline on the lease clock: one serve period after the renewal
    expect(vips.every((ms) => ms === T.fenceStartMs)).toBe(true);
    expect(readGuard(runDir, 'g')?.epoch).toBe(epoch);
  });

  it('release: services stop in reverse before the fence is disarmed and the guard removed', async () => {
    const { log, runner, clock, lease } = setup();
    lease.start();
    await clock.advance(3 * T.pollMs);
    await clock.settle(20);
    log.length = 0;
    const epoch = lease.status().epoch;
    const done = lease.release('b', 'switch', 'test');
    await clock.advance(T.renewMs);
    expect((await done).ok).toBe(true);
    const offline = log.filter((l) => l.endsWith(':offline'));
    // The service first; the address and the disk (independent of each other) after it.
    expect(offline[0]).toBe('g.app:offline');
    expect(offline.slice(1).sort()).toEqual(['g.disk:offline', 'g.vip:offline']);
    expect(log.indexOf(`fence:disarm ${epoch}`)).toBeGreaterThan(log.indexOf('g.disk:offline'));
    expect(runner.state).toBe('OFFLINE');
    expect(readGuard(runDir, 'g')).toBeUndefined();
    expect(lease.lastFailover).toMatchObject({ from: 'a', to: 'b', kind: 'switch' });
  });

  it('a fence that refuses to arm keeps the group offline (the lease is given up)', async () => {
    const { log, runner, clock, lease } = setup({ armOk: false });
    lease.start();
    await clock.advance(3 * T.pollMs);
    await clock.settle(20);
    expect(log.some((l) => l.includes(':online'))).toBe(false);
    expect(runner.state).toBe('OFFLINE');
    expect(lease.holding).toBe(false);
  });

  it('a planned release keeps the VIP refreshed while the services stop; the IP offline waits for a refresh in flight', async () => {
    const { log, clock, lease } = setup({ appOfflineMs: 2000, vipRefreshMs: 150 });
    lease.start();
    await clock.advance(3 * T.pollMs);
    await clock.settle(20);
    log.length = 0;
    const done = lease.release('b', 'switch', 'test');
    for (let t = 0; t < 3000 && !log.includes('g.vip:offline'); t += 50) await clock.advance(50);
    expect((await done).ok).toBe(true);
    const appOff = log.indexOf('g.app:offline');
    const vipOff = log.indexOf('g.vip:offline');
    // the service took 2 s to stop (beyond the VIP's 1 s lifetime): the address was kept alive
    expect(log.slice(0, appOff).filter((l) => l === 'vip:refresh').length).toBeGreaterThanOrEqual(3);
    // never a refresh in flight when the address is removed, and none after
    expect(log.lastIndexOf('vip:refresh')).toBeLessThan(vipOff);
    expect(log.lastIndexOf('vip:refreshed')).toBeLessThan(vipOff);
    const pairs = log.filter((l) => l.startsWith('vip:')).join(' ').replace(/^vip:refreshed ?/, ''); // one may have been in flight at the start
    expect(pairs).toMatch(/^(vip:refresh vip:refreshed ?)+$/);
  });
});
