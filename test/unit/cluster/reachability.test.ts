/**
 * The holder's rule over its standbys' remote probes (plugin/cluster/reachability.ts): when
 * "serving locally, unreachable from the network" moves the group, and every case where it must
 * not — a standby that reaches a service, one that has not probed this epoch yet, standbys whose
 * own link is down or unverified (an island without the client network), witnesses that cannot
 * reach each other.
 */
import { describe, expect, it } from 'vitest';
import type { LinkView, NodeView, RemoteView } from '../../../plugin/cluster/node-view';
import { judgeReachability, type ReachabilityInput, type StandbyFacts } from '../../../plugin/cluster/reachability';

const N = 3;

function remote(over: Partial<RemoteView> = {}, failures = N, ok = false): RemoteView {
  return {
    group: 'mail', holder: 'mx1', epoch: 7, vip: '10.0.0.50', cycles: 5, at: '',
    services: [
      { service: 'imap', check: 'imap:143', ok, timeout: !ok, failures: ok ? 0 : failures, reason: ok ? 'ok' : 'timeout' },
      { service: 'smtp', check: 'smtp:25', ok: false, timeout: true, failures, reason: 'timeout' },
    ],
    ...over,
  };
}

function link(over: Partial<LinkView> = {}): LinkView {
  return { group: 'mail', resource: 'link', device: 'eth0', up: true, verified: true, reason: '', since: '', ...over };
}

function standby(node: string, o: { alive?: boolean | undefined; remote?: RemoteView | null; link?: LinkView | null; reach?: Record<string, boolean | null> } = {}): StandbyFacts {
  const view: NodeView = {
    version: 1, cluster: 'c', node, counter: 1, monoMs: 0, wallTime: '', profile: 'fast', publishMs: 500, groups: [], peers: {},
    links: o.link === null ? [] : [o.link ?? link()],
    remote: o.remote === null ? [] : [o.remote ?? remote()],
    reach: o.reach ?? { mx2: true, mx3: true },
  };
  return { node, alive: 'alive' in o ? o.alive : true, view };
}

function input(standbys: StandbyFacts[], over: Partial<ReachabilityInput> = {}): ReachabilityInput {
  return { group: 'mail', holder: 'mx1', epoch: 7, systemList: ['mx1', 'mx2', 'mx3'], localOk: true, failuresNeeded: N, vipDevice: 'eth0', standbys, ...over };
}

describe('judgeReachability: the group moves', () => {
  it('every live standby fails every service for N cycles, both have verified links and reach each other → the next witness in systemList', () => {
    const r = judgeReachability(input([standby('mx2'), standby('mx3')]));
    expect(r.unreachable).toBe(true);
    if (r.unreachable) {
      expect(r.to).toBe('mx2');
      expect(r.witnesses).toEqual(['mx2', 'mx3']);
      expect(r.why).toMatch(/serving locally, unreachable from the network/);
    }
  });

  it('systemList order after the holder picks the target (wraps)', () => {
    const reach = { mx1: true, mx2: true };
    const r = judgeReachability(input([standby('mx1', { remote: remote({ holder: 'mx3' }), reach }), standby('mx2', { remote: remote({ holder: 'mx3' }), reach })], { holder: 'mx3' }));
    expect(r.unreachable && r.to).toBe('mx1');
  });

  it('a silent standby is left out; the one live witness decides (two-node case included)', () => {
    expect(judgeReachability(input([standby('mx2'), standby('mx3', { alive: false, remote: remote({}, 0, true) })])).unreachable).toBe(true);
    expect(judgeReachability(input([standby('mx2')], { systemList: ['mx1', 'mx2'] })).unreachable).toBe(true);
  });

  it('a live standby with a broken link fails too, but only the verified one is a witness and the target', () => {
    const r = judgeReachability(input([standby('mx2', { link: link({ up: false }) }), standby('mx3')]));
    expect(r.unreachable && r.to).toBe('mx3');
    expect(r.unreachable && r.witnesses).toEqual(['mx3']);
  });
});

describe('judgeReachability: the group stays', () => {
  it.each<[string, ReachabilityInput, RegExp]>([
    ['the holder itself is failing: its local checks decide', input([standby('mx2'), standby('mx3')], { localOk: false }), /local checks decide/],
    ['no live standby', input([standby('mx2', { alive: false }), standby('mx3', { alive: undefined })]), /no live standby/],
    ['one standby reaches one service', input([standby('mx2'), standby('mx3', { remote: remote({}, N, true) })]), /reachable from mx3 \(imap\)/],
    ['not enough cycles yet', input([standby('mx2', { remote: remote({}, N - 1) }), standby('mx3')]), /failed 2 of 3/],
    ['a standby probed another epoch (results about the previous holder)', input([standby('mx2', { remote: remote({ epoch: 6 }) }), standby('mx3')]), /has not probed mail on mx1 \(epoch 7\)/],
    ['a standby probed another holder', input([standby('mx2'), standby('mx3', { remote: remote({ holder: 'mx2' }) })]), /mx3 has not probed/],
    ['a standby has no results at all', input([standby('mx2'), standby('mx3', { remote: null })]), /mx3 has not probed/],
    ['no client service to probe', input([standby('mx2', { remote: remote({ services: [] }) })]), /no client service/],
    ['every standby has its own link down (their ports cut)', input([standby('mx2', { link: link({ up: false }) }), standby('mx3', { link: link({ up: false }) })]), /none proves it reaches the client network/],
    ['standbys on an island: carrier up, their ping hosts silent (unverified)', input([standby('mx2', { link: link({ verified: false }) }), standby('mx3', { link: link({ verified: false }) })]), /not verified by a ping host/],
    ['standbys without a link resource', input([standby('mx2', { link: null }), standby('mx3', { link: null })]), /no link resource/],
    ['a link not checked yet is no proof', input([standby('mx2', { link: link({ up: null }) })], { systemList: ['mx1', 'mx2'] }), /is down/],
    ['the witnesses do not reach each other', input([standby('mx2', { reach: { mx3: false } }), standby('mx3')]), /witnesses mx2 and mx3 do not reach each other/],
    ['a witness never pinged the other', input([standby('mx2'), standby('mx3', { reach: { mx2: null } })]), /do not reach each other/],
  ])('%s', (_what, i, why) => {
    const r = judgeReachability(i);
    expect(r.unreachable).toBe(false);
    expect(r.why).toMatch(why);
  });

  it('only the link on the VIP device counts: a verified link on another device proves nothing', () => {
    const other = link({ device: 'eth1' });
    const r = judgeReachability(input([standby('mx2', { link: other })], { systemList: ['mx1', 'mx2'] }));
    expect(r.unreachable).toBe(false);
  });
});
