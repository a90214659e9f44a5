/**
 * `msgha status` from the shared directory: a node whose published view stops changing (power
 * cut) is shown as `unknown (silent N s)`, never alive, and its groups' last published states
 * are not shown as current (state UNKNOWN, not in onlineOn, not taken for the holder). On a fake
 * store and a fake clock: the reader watches the views, and stops as soon as every one moved.
 */
import { describe, expect, it } from 'vitest';
import type { ResolvedCluster } from '../../../plugin/model/cluster-types';
import { buildClusterStatus, formatClusterStatus, observeViews, readClusterStatus, watchWindowMs } from '../../../plugin/cluster/cluster-status';
import type { GroupView, LinkView, NodeView, RemoteView } from '../../../plugin/cluster/node-view';
import type { LeaseStore } from '../../../plugin/lease/store';

const cluster: ResolvedCluster = {
  file: '/etc/msgha/mail.config.js',
  settings: { name: 'mail', nodes: ['mx1', 'mx2'], sharedDir: '/shared' },
  groups: [{ name: 'mail', systemList: ['mx1', 'mx2'], autoStart: true, dependsOn: [], frozen: false, resources: [] }],
} as unknown as ResolvedCluster;

const WALL0 = Date.parse('2026-01-01T00:00:00Z');

function view(node: string, counter: number, g: Partial<GroupView>, peers: Record<string, boolean | null>, wallMs = WALL0): NodeView {
  const group: GroupView = {
    name: 'mail', state: 'OFFLINE', reason: '', role: 'follower', epoch: 7, holder: 'mx1', leaseState: 'HELD', remainingServeMs: null,
    frozen: false, frozenPersistent: false, frozenBy: '', faulted: false, contending: true, waitingFor: [], resources: [], ...g,
  };
  return { version: 1, cluster: 'mail', node, counter, monoMs: counter * 500, wallTime: new Date(wallMs).toISOString(), profile: 'fast', publishMs: 500, groups: [group], peers };
}

/** mx1 held the group and lost power at WALL0: its view never changes again; mx2 keeps publishing. */
function fakeStore(opts: { mx1Alive: boolean }) {
  let reads = 0;
  const store = {
    async readMeta(name: string) {
      reads += 1;
      const tick = Math.floor(reads / 2); // one read of each node per pass
      if (name === 'nodes/mx1.json') {
        const c = opts.mx1Alive ? 100 + tick : 100;
        return { ok: true as const, value: JSON.stringify(view('mx1', c, { state: 'ONLINE', role: 'holder' }, { mx2: true })) };
      }
      return { ok: true as const, value: JSON.stringify(view('mx2', 50 + tick, { state: 'OFFLINE', role: 'follower', holder: 'mx1' }, { mx1: true })) };
    },
    async listEpochs() { return { ok: true as const, value: [7] }; },
    async readEpoch() { return { ok: false as const, code: 'ENOENT', message: 'not in this test' }; },
    async readAdmin() { return { ok: true as const, value: null }; },
  };
  return store as unknown as LeaseStore;
}

function fakeTime() {
  let t = 0;
  const sleeps: number[] = [];
  return { now: () => t, sleep: async (ms: number) => { sleeps.push(ms); t += ms; }, sleeps, wallNow: () => WALL0 + 9_000 + t };
}

describe('msgha status: a silent node is unknown, never ONLINE', () => {
  it('a holder that stopped publishing: unknown (silent N s), its group state UNKNOWN with the last word kept apart, not online anywhere', async () => {
    const time = fakeTime();
    const s = await readClusterStatus(cluster, fakeStore({ mx1Alive: false }), time);
    // The window: two publish periods (at least 1 s each) + 0.5 s — watched in full, mx1 never moved.
    expect(time.sleeps.reduce((a, b) => a + b, 0)).toBe(watchWindowMs([view('mx1', 1, {}, {})]));
    const mx1 = s.nodes.find((n) => n.node === 'mx1')!;
    // mx2's view still says "mx1 alive" (its own judgement lags by up to L): the reader's watch wins.
    expect(mx1).toMatchObject({ stale: true, alive: null, silentS: 12 });
    expect(s.nodes.find((n) => n.node === 'mx2')).toMatchObject({ stale: false, alive: true, silentS: null });
    const g = s.groups[0]!;
    expect(g.nodes.mx1).toMatchObject({ state: 'UNKNOWN', lastState: 'ONLINE', stale: true });
    expect(g.onlineOn).toEqual([]);
    expect(s.summary).toBe('cluster mail: mail OFFLINE; silent: mx1 (12 s)');
    const text = formatClusterStatus(s, cluster.settings.nodes);
    expect(text).toMatch(/^mx1 +unknown \(silent 12 s\)/m);
    expect(text).toMatch(/^mail .*unknown \(last said ONLINE\)/m);
    expect(text).not.toMatch(/ONLINE\*/);
  });

  it('every node publishing: no node is stale and the reader stops watching as soon as each view moved', async () => {
    const time = fakeTime();
    const s = await readClusterStatus(cluster, fakeStore({ mx1Alive: true }), time);
    expect(time.sleeps).toEqual([250]);
    expect(s.nodes.map((n) => [n.node, n.stale, n.alive])).toEqual([['mx1', false, true], ['mx2', false, true]]);
    expect(s.groups[0]!.onlineOn).toEqual(['mx1']);
    expect(s.groups[0]!.nodes.mx1).toMatchObject({ state: 'ONLINE' });
    expect(formatClusterStatus(s, cluster.settings.nodes)).toMatch(/^mx1 +yes/m);
  });

  it('without watching, a node that current peers judged silent is stale; a stale judge does not count', () => {
    const views = new Map([
      ['mx1', view('mx1', 100, { state: 'ONLINE', role: 'holder' }, { mx2: true }, WALL0 - 30_000)],
      ['mx2', view('mx2', 60, { holder: '', leaseState: 'UNKNOWN' }, { mx1: false })],
    ]);
    const s = buildClusterStatus({ cluster, source: 'shared-dir', views, nowWallMs: WALL0 + 1000 });
    expect(s.nodes[0]).toMatchObject({ node: 'mx1', stale: true, alive: false, silentS: 31 });
    expect(s.groups[0]!.onlineOn).toEqual([]);
    expect(s.groups[0]!.holder).toBeNull(); // no lease record read, and the silent node's own claim is not current
  });

  it('coordinator path: two replies a window apart — a peer whose view counter did not move is stale', () => {
    const a = new Map<string, NodeView | undefined>([['mx1', view('mx1', 100, { state: 'ONLINE', role: 'holder' }, {})], ['mx2', view('mx2', 50, {}, {})]]);
    const b = new Map<string, NodeView | undefined>([['mx1', view('mx1', 100, { state: 'ONLINE', role: 'holder' }, {})], ['mx2', view('mx2', 53, {}, {})], ['mx3', undefined]]);
    const observed = observeViews(a, b, 2500);
    expect([...observed]).toEqual([['mx1', { changed: false, watchedMs: 2500 }], ['mx2', { changed: true, watchedMs: 2500 }]]);
    const s = buildClusterStatus({ cluster, source: 'coordinator', views: b, observed, nowWallMs: WALL0 + 2000 });
    expect(s.nodes[0]).toMatchObject({ stale: true, silentS: 3 });
    expect(s.groups[0]!.nodes.mx1!.state).toBe('UNKNOWN');
  });
});

describe('msgha status: links, reachability through the VIP, the holder\'s verdict', () => {
  const three = {
    ...cluster,
    settings: { ...cluster.settings, nodes: ['mx1', 'mx2', 'mx3'] },
    groups: [{ ...cluster.groups[0]!, systemList: ['mx1', 'mx2', 'mx3'] }],
  } as unknown as ResolvedCluster;
  const link = (up: boolean | null, l: Partial<LinkView> = {}): LinkView =>
    ({ group: 'mail', resource: 'nic', device: 'eth0', up, verified: up === true, reason: up === false ? 'no carrier' : '', since: '2026-01-01T00:00:05.123Z', ...l });
  const remote = (r: Partial<RemoteView>): RemoteView => ({ group: 'mail', holder: 'mx1', epoch: 7, vip: '192.0.2.10', cycles: 12, services: [], at: '2026-01-01T00:00:09Z', ...r });
  const svc = (service: string, ok: boolean, extra: Partial<RemoteView['services'][number]> = {}) =>
    ({ service, check: `${service}:143`, ok, timeout: false, failures: ok ? 0 : 3, reason: '', ...extra });
  const views = (o: { unreachable?: boolean; mx3Epoch?: number } = {}) => new Map<string, NodeView | undefined>([
    ['mx1', { ...view('mx1', 10, { state: 'ONLINE', role: 'holder', ...(o.unreachable ? { unreachable: { since: '2026-01-01T00:00:07Z', why: 'no live standby reaches imap, smtp through 192.0.2.10' } } : {}) }, { mx2: true, mx3: true }),
      links: [link(true)] }],
    ['mx2', { ...view('mx2', 20, {}, { mx1: true, mx3: true }), links: [link(true)],
      remote: [remote({ services: [svc('imap', true, { phases: { connect: 0.002, total: 0.0121 } }), svc('smtp', true, { phases: { total: 0.009 } })] })] }],
    ['mx3', { ...view('mx3', 30, {}, { mx1: true, mx2: true }), links: [link(false, { verified: false })],
      remote: [remote({ epoch: o.mx3Epoch ?? 7, services: [svc('imap', false, { timeout: true, reason: 'no greeting within 2000 ms' }), svc('smtp', false, { reason: 'connect ECONNREFUSED\n192.0.2.10:25' })] })] }],
  ]);

  it('text: one line per node\'s links, who reaches the group with each service\'s time or failure, and the node refused as a target', () => {
    const s = buildClusterStatus({ cluster: three, source: 'shared-dir', views: views(), nowWallMs: WALL0 });
    const text = formatClusterStatus(s, three.settings.nodes);
    const net = text.slice(text.indexOf('\nnetwork:\n') + 1).split('\n');
    expect(net).toEqual([
      'network:',
      '  mx1 links: eth0 up (verified)',
      '  mx2 links: eth0 up (verified)',
      '  mx3 links: eth0 DOWN: no carrier since 2026-01-01T00:00:05',
      '  mail reachable from mx2: yes (imap 12 ms, smtp 9 ms), mx3: no (imap: timeout, smtp: connect ECONNREFUSED 192.0.2.10:25)',
      '  mail: mx3 is no target: its link eth0 is down (no carrier)',
    ]);
    // Where placement's verdict shows in the table: the node's cell.
    expect(text).toMatch(/^mail +mx1 +7 +no +ONLINE\* +OFFLINE +OFFLINE\(link down\)/m);
    expect(s.summary).toBe('cluster mail: mail ONLINE on mx1 (holder mx1, epoch 7)');
  });

  it('JSON carries the same facts: links per node, reachableFrom with current/old, noTarget, unreachable', () => {
    const s = buildClusterStatus({ cluster: three, source: 'shared-dir', views: views({ unreachable: true, mx3Epoch: 6 }), nowWallMs: WALL0 });
    expect(s.nodes.map((n) => [n.node, n.links.map((l) => [l.device, l.up, l.verified])])).toEqual([
      ['mx1', [['eth0', true, true]]], ['mx2', [['eth0', true, true]]], ['mx3', [['eth0', false, false]]],
    ]);
    const g = s.groups[0]!;
    expect(g.reachableFrom.map((r) => [r.from, r.verdict, r.current, r.epoch])).toEqual([['mx2', 'yes', true, 7], ['mx3', 'no', false, 6]]);
    expect(g.reachableFrom[0]!.services.map((x) => x.check)).toEqual(['imap:143', 'smtp:143']);
    expect(g.nodes.mx3).toMatchObject({ noTarget: 'its link eth0 is down (no carrier)' });
    expect(g.nodes.mx2!.noTarget).toBeUndefined();
    expect(g.unreachable).toEqual({ node: 'mx1', since: '2026-01-01T00:00:07Z', why: 'no live standby reaches imap, smtp through 192.0.2.10' });
    expect(s.summary).toBe('cluster mail: mail ONLINE on mx1 (holder mx1, epoch 7) UNREACHABLE from the network');
    const text = formatClusterStatus(JSON.parse(JSON.stringify(s)) as typeof s, three.settings.nodes);
    expect(text).toContain('  mail reachable from mx2: yes (imap 12 ms, smtp 9 ms), mx3: no (imap: timeout, smtp: connect ECONNREFUSED 192.0.2.10:25) (old)');
    expect(text).toContain('  mail: mx1 is serving locally, UNREACHABLE from the network since 2026-01-01T00:00:07: no live standby reaches imap, smtp through 192.0.2.10');
  });

  it('a stale node\'s links and probes are not current; a cluster without network facts keeps its usual screen', () => {
    const v = views();
    const observed = new Map([['mx1', { changed: true, watchedMs: 2000 }], ['mx2', { changed: true, watchedMs: 2000 }], ['mx3', { changed: false, watchedMs: 2000 }]]);
    const s = buildClusterStatus({ cluster: three, source: 'shared-dir', views: v, observed, nowWallMs: WALL0 });
    const text = formatClusterStatus(s, three.settings.nodes);
    expect(text).toContain('  mx3 links (old): eth0 DOWN: no carrier since 2026-01-01T00:00:05');
    expect(text).toMatch(/mx3: no \(imap: timeout, [^)]*\) \(old\)$/m);
    expect(s.groups[0]!.nodes.mx3).toMatchObject({ state: 'UNKNOWN', stale: true });
    expect(s.groups[0]!.nodes.mx3!.noTarget).toBeUndefined();
    expect(text).not.toMatch(/is no target/);

    const plain = new Map([...v].map(([n, x]) => [n, { ...x!, links: undefined, remote: undefined }]));
    const p = buildClusterStatus({ cluster: three, source: 'shared-dir', views: plain, nowWallMs: WALL0 });
    expect(formatClusterStatus(p, three.settings.nodes)).not.toMatch(/network:|links|reachable/);
    expect(p.groups[0]!.reachableFrom).toEqual([]);
    expect(p.groups[0]!.unreachable).toBeNull();
    expect(p.nodes.every((n) => n.links.length === 0)).toBe(true);
  });

  it('links: a device checked by two groups shows once when they agree and per resource when they differ; not checked yet says so', () => {
    const v = views();
    v.get('mx2')!.links = [link(true), link(true, { group: 'dir', resource: 'link' }), link(null, { device: 'eth1', resource: 'nic2' })];
    v.get('mx3')!.links = [link(false), link(true, { group: 'dir', resource: 'link' })];
    const text = formatClusterStatus(buildClusterStatus({ cluster: three, source: 'shared-dir', views: v, nowWallMs: WALL0 }), three.settings.nodes);
    expect(text).toContain('  mx2 links: eth0 up (verified), eth1 not checked yet\n');
    expect(text).toContain('  mx3 links: eth0 DOWN: no carrier since 2026-01-01T00:00:05 [mail.nic], eth0 up (verified) [dir.link]\n');
  });
});
