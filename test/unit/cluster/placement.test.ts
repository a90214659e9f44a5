/**
 * Placement decisions over published node views: handoff target choice, switch refusals,
 * dependency gating (soft / firm / hard, global / local), and liveness judged by change.
 */
import { describe, expect, it } from 'vitest';
import type { GroupDependency } from '../../../plugin/model/cluster-types';
import type { GroupState } from '../../../plugin/coordinator/group-runner';
import { PeerTracker, type GroupView, type NodeView } from '../../../plugin/cluster/node-view';
import { checkSwitchTarget, chooseHandoffTarget, claimDelay, dependencyGate, parentsToMove, type PeerState } from '../../../plugin/cluster/placement';

function gv(name: string, over: Partial<GroupView> = {}): GroupView {
  return {
    name, state: 'OFFLINE', reason: '', role: 'follower', epoch: 1, holder: '', leaseState: 'HELD', remainingServeMs: null,
    frozen: false, frozenPersistent: false, frozenBy: '', faulted: false, contending: true, waitingFor: [], resources: [], ...over,
  };
}

function view(node: string, groups: GroupView[]): NodeView {
  return { version: 1, cluster: 'c', node, counter: 1, monoMs: 0, wallTime: '', profile: 'fast', publishMs: 500, groups, peers: {} };
}

function peers(entries: Array<[string, boolean | undefined, GroupView[]?]>): Map<string, PeerState> {
  return new Map(entries.map(([n, alive, groups]) => [n, { alive, view: groups ? view(n, groups) : undefined }]));
}

describe('chooseHandoffTarget', () => {
  const list = ['a', 'b', 'c', 'd'];
  it.each([
    ['next node after the holder', 'b', peers([['a', true], ['c', true], ['d', true]]), 'c'],
    ['wraps around', 'd', peers([['a', true], ['b', true], ['c', true]]), 'a'],
    ['skips a silent node', 'a', peers([['b', false], ['c', true], ['d', true]]), 'c'],
    ['skips a node FAULTED for the group', 'a', peers([['b', true, [gv('g', { faulted: true })]], ['c', true], ['d', true]]), 'c'],
    ['skips a node where the group is frozen locally', 'a', peers([['b', true, [gv('g', { frozen: true })]], ['c', true]]), 'c'],
    ['a node not judged yet is a candidate', 'a', peers([['b', undefined], ['c', true]]), 'b'],
  ])('%s', (_what, from, p, want) => {
    expect(chooseHandoffTarget(list, from, 'g', p).to).toBe(want);
  });

  it('says why when no node can take the group', () => {
    const r = chooseHandoffTarget(['a', 'b'], 'a', 'g', peers([['b', true, [gv('g', { faulted: true })]]]));
    expect(r.to).toBeUndefined();
    expect(r.why).toMatch(/b: g is FAULTED there/);
  });
});

describe('claimDelay (start-up and takeover placement by systemList order)', () => {
  const list = ['a', 'b', 'c', 'd'];
  it.each([
    ['first node: no wait', 'a', '', peers([['b', true], ['c', true], ['d', true]]), 0],
    ['one live node ahead', 'b', '', peers([['a', true], ['c', true], ['d', true]]), 600],
    ['the previous holder does not count', 'b', 'a', peers([['a', true], ['c', true]]), 0],
    ['a node judged down does not count', 'c', '', peers([['a', false], ['b', true]]), 600],
    ['a node FAULTED for the group does not count', 'c', '', peers([['a', true, [gv('g', { faulted: true })]], ['b', true]]), 600],
    ['a node not contending does not count', 'c', '', peers([['a', true, [gv('g', { contending: false })]], ['b', true]]), 600],
    ['a node ahead not judged yet: wait until it is', 'b', '', peers([['a', undefined]]), 5000],
    ['last of four', 'd', '', peers([['a', true], ['b', true], ['c', true]]), 1800],
  ])('%s', (_what, me, prev, p, want) => {
    expect(claimDelay(list, me, prev, 'g', p, 600, 5000)).toBe(want);
  });
});

describe('checkSwitchTarget', () => {
  const p = peers([['b', true], ['c', false], ['d', true, [gv('g', { faulted: true })]]]);
  it.each([
    ['b', undefined],
    ['zz', /not in the systemList of g \(a, b, c, d\)/],
    ['a', /already runs on a/],
    ['c', /looks down/],
    ['d', /FAULTED there.*msgha clear g/],
  ])('target %s', (target, refusal) => {
    const r = checkSwitchTarget('g', ['a', 'b', 'c', 'd'], 'a', target, p);
    if (refusal === undefined) expect(r).toBeUndefined();
    else expect(r).toMatch(refusal);
  });
});

describe('a node whose link is down (its view publishes its NIC resources)', () => {
  const linkView = (node: string, up: boolean | null, group = 'g'): NodeView => ({
    ...view(node, [gv('g')]), links: [{ group, resource: 'link', device: 'eth0', up, verified: up === true, reason: up === false ? 'eth0: no carrier' : 'ok', since: '2026-12-06T12:00:00Z' }],
  });
  const withLinks = (entries: Array<[string, boolean | null, string?]>): Map<string, PeerState> =>
    new Map(entries.map(([n, up, group]) => [n, { alive: true, view: linkView(n, up, group) }]));

  it('is no handoff target; the next node with its link up is', () => {
    const r = chooseHandoffTarget(['a', 'b', 'c'], 'a', 'g', withLinks([['b', false], ['c', true]]));
    expect(r.to).toBe('c');
    expect(r.why).toMatch(/skipped b: its link eth0 is down \(eth0: no carrier, since/);
  });

  it('is refused as a switch target with the reason, and accepted once its link is up', () => {
    expect(checkSwitchTarget('g', ['a', 'b'], 'a', 'b', withLinks([['b', false]]))).toMatch(/node b: its link eth0 is down.*target again once the link is up/);
    expect(checkSwitchTarget('g', ['a', 'b'], 'a', 'b', withLinks([['b', true]]))).toBeUndefined();
  });

  it('a link not checked yet, or a link of another group, is not held against it', () => {
    expect(checkSwitchTarget('g', ['a', 'b'], 'a', 'b', withLinks([['b', null]]))).toBeUndefined();
    expect(checkSwitchTarget('g', ['a', 'b'], 'a', 'b', withLinks([['b', false, 'other']]))).toBeUndefined();
  });

  it('does not count ahead of others when a group is claimed', () => {
    expect(claimDelay(['a', 'b', 'c'], 'c', '', 'g', withLinks([['a', false], ['b', true]]), 600, 5000)).toBe(600);
  });
});

describe('dependencyGate', () => {
  const dep = (kind: GroupDependency['kind']): GroupDependency[] => [{ group: 'dir', kind }];
  const none = (): GroupState | undefined => undefined;
  it.each([
    ['global soft, parent online on an alive peer', dep('online-global-soft'), none, peers([['b', true, [gv('dir', { state: 'ONLINE' })]]]), true, 0],
    ['global soft, parent offline everywhere: wait, never stop', dep('online-global-soft'), none, peers([['b', true, [gv('dir')]]]), false, 0],
    ['global firm, parent only on a silent peer: wait and stop', dep('online-global-firm'), none, peers([['b', false, [gv('dir', { state: 'ONLINE' })]]]), false, 1],
    ['global hard, parent PARTIAL here', dep('online-global-hard'), (): GroupState => 'PARTIAL', peers([]), true, 0],
    ['global firm, parent on a peer not judged yet: wait', dep('online-global-firm'), none, peers([['b', undefined, [gv('dir', { state: 'ONLINE' })]]]), false, 1],
    ['local firm, parent online on a peer only: wait', dep('online-local-firm'), none, peers([['b', true, [gv('dir', { state: 'ONLINE' })]]]), false, 1],
    ['local soft, parent online here', dep('online-local-soft'), (g: string): GroupState | undefined => (g === 'dir' ? 'ONLINE' : undefined), peers([]), true, 0],
  ])('%s', (_what, deps, local, p, ok, stops) => {
    const g = dependencyGate(deps, local, p);
    expect(g.ok).toBe(ok);
    expect(g.stopFor.length).toBe(stops);
    if (!ok) expect(g.waitingFor[0]).toMatch(/^dir \(online-/);
  });
});

describe('PeerTracker (liveness by change, on the reader\'s clock)', () => {
  it('not judged, then alive on change, then silent after staleMs without change', () => {
    let t = 0;
    const tr = new PeerTracker(1000, () => t);
    tr.observe('b', 'v1');
    expect(tr.alive('b')).toBeUndefined();
    t = 400; tr.observe('b', 'v2');
    expect(tr.alive('b')).toBe(true);
    t = 1300; tr.observe('b', 'v2');
    expect(tr.alive('b')).toBe(true);
    t = 1401; tr.observe('b', 'v2');
    expect(tr.alive('b')).toBe(false);
    t = 1500; tr.observe('b', 'v3');
    expect(tr.alive('b')).toBe(true);
  });

  it('a view that never changes is judged silent after staleMs; a missing file never counts as alive', () => {
    let t = 0;
    const tr = new PeerTracker(1000, () => t);
    tr.observe('b', JSON.stringify(view('b', [])));
    tr.observe('c', null);
    t = 1001;
    expect(tr.alive('b')).toBe(false);
    expect(tr.alive('c')).toBe(false);
    expect(tr.view('b')?.node).toBe('b');
  });
});

describe('parentsToMove (online-local-hard: a faulted child takes its parent along)', () => {
  const deps: GroupDependency[] = [
    { group: 'dir', kind: 'online-local-hard' }, { group: 'adm', kind: 'online-local-firm' }, { group: 'mmp', kind: 'online-global-hard' }, { group: 'far', kind: 'online-local-hard' },
  ];
  it('moves only local-hard parents held here', () => {
    expect(parentsToMove(deps, (g) => g !== 'far')).toEqual(['dir']);
    expect(parentsToMove(deps, () => false)).toEqual([]);
  });
});
