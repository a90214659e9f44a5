/**
 * The whole cluster on one screen (`msgha status`), from the nodes' published views
 * (node-view.ts) and, when read from the shared directory, each group's lease record and admin
 * file. Used by the CLI (shared directory, through an I/O helper process) and for a local
 * multi-node coordinator's answer.
 *
 * JSON shape (stable; `msgha status --json` prints it, see ClusterStatus):
 *   { ok, source: 'shared-dir'|'coordinator', cluster, profile, summary,
 *     nodes:  [{ node, present, alive, seenAliveBy, counter, wallTime, links }],
 *     groups: [{ name, systemList, holder, epoch, leaseState, handoffTo, frozen, frozenBy,
 *                onlineOn, nodes: { <node>: { state, role, faulted, frozen, contending,
 *                waitingFor, reason, resources, noTarget? } | null }, lastFailover,
 *                reachableFrom, unreachable }] }
 * Network (docs/network.md): `links` are the node's link resources as its link watch published
 * them; `noTarget` says why placement refuses the node for the group (its link for the group is
 * down); `reachableFrom` are the other nodes' remote probes of the group through its VIP, each
 * `current` only when it is about the holder and epoch shown and its node is not stale (an old
 * one is kept, marked, never counted as current); `unreachable` is the holder's own verdict
 * ("serving locally, unreachable from the network"), or null. The text shows them in a
 * `network:` section, printed only when some view carries network facts.
 * `alive` is judged by the other nodes (each view says which peers it saw changing): true when
 * one of them saw the node alive, false when those that judged saw it silent, null when nobody
 * judged — unless the reader watched the views itself (`observed`, see readClusterStatus and
 * observeViews): then a view that changed while watched is alive, one that did not is `stale`.
 * A stale node (`stale`, `silentS`) is shown as `unknown (silent N s)`, never as alive; its groups'
 * last published states are kept only as `lastState` (state 'UNKNOWN'), never counted in
 * `onlineOn` nor taken for the holder. Wall times are for humans only (silentS uses the
 * view's wall time only to say how long, never to decide whether).
 * With the cluster's key (the CLI passes it) views, lease records and admin files are verified:
 * what does not verify is left out and named in `problems` ("view of mx2 rejected: bad MAC").
 * Guarantees: a node whose view did not change while the reader watched it for two of its publish
 * periods is never reported alive or ONLINE. Not guaranteed: a node that died less than one
 * publish period before the first read may still look alive when the reader did not watch.
 */
import type { ResolvedCluster } from '../model/cluster-types';
import { decodeRecord, trusted } from '../lease/record';
import type { LeaseStore } from '../lease/store';
import { effectiveAdmin, parseAdmin } from '../lease/admin';
import { SharedDirKey } from '../lease/shared-key';
import { linkDown } from './placement';
import { openView, parseView, viewName, type FailoverRecord, type GroupView, type LinkView, type NodeView, type RemoteServiceView } from './node-view';

export interface LeaseRead { epoch: number | null; holder: string; leaseState: 'HELD' | 'RELEASED' | 'UNKNOWN'; handoffTo: string }

export interface ClusterStatus {
  ok: boolean;
  source: 'shared-dir' | 'coordinator';
  cluster: string;
  profile: string | null;
  summary: string;
  nodes: Array<{
    node: string; present: boolean; alive: boolean | null; seenAliveBy: string[]; counter: number | null; wallTime: string | null;
    /** Its published view is not current: the reader saw it unchanged, or live peers judged it silent. */
    stale: boolean;
    /** For a stale node: about how long it has been silent (s), for humans. */
    silentS: number | null;
    /** Its link resources as it published them (empty: none, or an older view). */
    links: LinkView[];
  }>;
  groups: Array<{
    name: string; systemList: string[]; holder: string | null; epoch: number | null; leaseState: LeaseRead['leaseState'];
    handoffTo: string; frozen: boolean; frozenBy: string; onlineOn: string[];
    nodes: Record<string, NodeGroupStatus | null>;
    lastFailover: FailoverRecord | null;
    /** The other nodes' remote probes of the group through its VIP, in systemList order. */
    reachableFrom: RemoteReach[];
    /** The holder's verdict "serving locally, unreachable from the network", or null. */
    unreachable: { node: string; since: string; why: string } | null;
  }>;
  /** What was read but not trusted, one sentence each (e.g. "view of mx2 rejected: bad MAC"). */
  problems?: string[];
}

/** One group on one node; state 'UNKNOWN' (last published state in lastState) when the node is stale. */
export type NodeGroupStatus = Omit<Pick<GroupView, 'state' | 'role' | 'faulted' | 'frozen' | 'contending' | 'waitingFor' | 'reason' | 'resources'>, 'state'> & {
  state: GroupView['state'] | 'UNKNOWN';
  stale?: true;
  lastState?: GroupView['state'];
  /** Why placement refuses this node as a target for the group (its link is down). */
  noTarget?: string;
};

/** What one node's remote probes of a group through its VIP said. */
export interface RemoteReach {
  from: string;
  /** About the holder and epoch shown, from a node whose view is current. */
  current: boolean;
  holder: string;
  epoch: number;
  cycles: number;
  /** yes: every service answered; no: none; partly: some; none: nothing probed. */
  verdict: 'yes' | 'no' | 'partly' | 'none';
  services: RemoteServiceView[];
  /** Wall time of the last cycle (for humans). */
  at: string;
}

/** What the reader itself saw of a node's view while watching: did it change, and for how long it watched. */
export interface ViewObservation { changed: boolean; watchedMs: number }

export interface StatusInputs {
  cluster: ResolvedCluster;
  source: ClusterStatus['source'];
  views: Map<string, NodeView | undefined>;
  leases?: Map<string, LeaseRead>;
  admins?: Map<string, string | null>;
  /** Per node, from watching its view (absent: judged by the peers' views only). */
  observed?: Map<string, ViewObservation>;
  /** Wall clock of the reader (ms), for silentS only. */
  nowWallMs?: number;
  /** Verifies the admin files (without: read for display only, unverified). */
  key?: SharedDirKey;
  problems?: string[];
}

/** How long the reader watches the views: two publish periods plus slack, at most 5 s. */
export function watchWindowMs(views: Iterable<NodeView | undefined>): number {
  const periods = [...views].map((v) => v?.publishMs).filter((x): x is number => typeof x === 'number' && x > 0);
  return Math.min(5000, 2 * Math.max(1000, ...periods) + 500);
}

/** Compares two readings of the views `watchedMs` apart: a view whose counter or bytes moved changed. */
export function observeViews(first: Map<string, NodeView | undefined>, second: Map<string, NodeView | undefined>, watchedMs: number): Map<string, ViewObservation> {
  const out = new Map<string, ViewObservation>();
  for (const [node, a] of first) {
    const b = second.get(node);
    if (!a || !b) continue; // never published: nothing to judge
    out.set(node, { changed: a.counter !== b.counter || a.monoMs !== b.monoMs, watchedMs });
  }
  return out;
}

export function buildClusterStatus(i: StatusInputs): ClusterStatus {
  const names = i.cluster.settings.nodes;
  const present = [...i.views.values()].filter((v): v is NodeView => !!v);
  const stale = new Set<string>();
  const nodes = names.map((node) => {
    const v = i.views.get(node);
    const obs = i.observed?.get(node);
    // Only judges whose own view is current count (a dead node's last view still says "alive").
    const judges = present.filter((p) => p.node !== node && p.peers && node in p.peers && i.observed?.get(p.node)?.changed !== false);
    const seenAliveBy = judges.filter((p) => p.peers[node] === true).map((p) => p.node);
    const judgedSilent = judges.some((p) => p.peers[node] === false);
    const judged = seenAliveBy.length > 0 ? true : judgedSilent ? false : null;
    const isStale = !!v && (obs ? !obs.changed : judged === false);
    if (isStale) stale.add(node);
    const alive = obs ? (obs.changed ? true : judgedSilent ? false : null) : judged;
    const wallAgeS = v && i.nowWallMs !== undefined ? (i.nowWallMs - Date.parse(v.wallTime)) / 1000 : NaN;
    const silentS = isStale ? Math.max(Math.round((obs?.watchedMs ?? 0) / 1000), Number.isFinite(wallAgeS) ? Math.round(wallAgeS) : 0) : null;
    return { node, present: !!v, alive, seenAliveBy, counter: v?.counter ?? null, wallTime: v?.wallTime ?? null, stale: isStale, silentS, links: v?.links ?? [] };
  });
  const groups = i.cluster.groups.map((g) => {
    const perNode: ClusterStatus['groups'][number]['nodes'] = {};
    let failover: FailoverRecord | null = null;
    let seenHolder = '';
    let seenEpoch: number | null = null;
    for (const n of g.systemList) {
      const gv = i.views.get(n)?.groups.find((x) => x.name === g.name);
      const was = stale.has(n);
      perNode[n] = gv ? {
        state: was ? 'UNKNOWN' : gv.state, role: gv.role, faulted: gv.faulted, frozen: gv.frozen, contending: gv.contending, waitingFor: gv.waitingFor, reason: gv.reason, resources: gv.resources,
        // A stale node's links are not current: it is no target anyway (silent).
        ...(was ? { stale: true as const, lastState: gv.state } : linkRefusal(i.views.get(n), g.name)),
      } : null;
      if (gv?.lastFailover && (!failover || gv.lastFailover.at > failover.at)) failover = gv.lastFailover;
      if (was) continue; // what a silent node last said about the lease is not current
      if (gv?.role === 'holder') { seenHolder = n; seenEpoch = gv.epoch; }
      else if (!seenHolder && gv?.holder && gv.leaseState === 'HELD') { seenHolder = gv.holder; seenEpoch = gv.epoch; }
    }
    const lease = i.leases?.get(g.name);
    const admin = i.admins?.has(g.name) ? effectiveAdmin(parseAdmin(i.admins.get(g.name) ?? null, i.key ? { key: i.key, group: g.name } : undefined)) : undefined;
    const viewFrozen = g.systemList.map((n) => i.views.get(n)?.groups.find((x) => x.name === g.name)).find((x) => x?.frozenPersistent);
    const frozenBy = admin ? (admin.cmd === 'freeze' ? admin.why ?? 'persistent' : '') : viewFrozen?.frozenBy ?? '';
    const holder = lease ? (lease.leaseState === 'HELD' ? lease.holder : null) : seenHolder || null;
    const epoch = lease ? lease.epoch : seenEpoch;
    const holderView = holder && !stale.has(holder) ? i.views.get(holder)?.groups.find((x) => x.name === g.name) : undefined;
    return {
      name: g.name, systemList: g.systemList, holder,
      epoch, leaseState: lease?.leaseState ?? (holder ? 'HELD' as const : 'UNKNOWN' as const),
      handoffTo: lease?.handoffTo ?? '', frozen: frozenBy === 'persistent' || g.systemList.some((n) => perNode[n]?.frozen),
      frozenBy, onlineOn: g.systemList.filter((n) => perNode[n]?.state === 'ONLINE' || perNode[n]?.state === 'PARTIAL'),
      nodes: perNode, lastFailover: failover,
      reachableFrom: holder ? reachesOf(g.name, g.systemList, holder, epoch, i.views, stale) : [],
      unreachable: holder && holderView?.unreachable ? { node: holder, ...holderView.unreachable } : null,
    };
  });
  const parts = groups.map((g) => `${g.name} ${g.onlineOn.length ? `ONLINE on ${g.onlineOn.join('+')}` : 'OFFLINE'}${g.holder ? ` (holder ${g.holder}, epoch ${g.epoch})` : ''}${g.frozen ? ' frozen' : ''}${g.unreachable ? ' UNREACHABLE from the network' : ''}`);
  const down = nodes.filter((n) => n.stale || n.alive === false).map((n) => (n.silentS !== null ? `${n.node} (${n.silentS} s)` : n.node));
  return {
    ok: true, source: i.source, cluster: i.cluster.settings.name, profile: present[0]?.profile ?? null,
    summary: `cluster ${i.cluster.settings.name}: ${parts.join('; ') || 'no groups'}${down.length ? `; silent: ${down.join(', ')}` : ''}`,
    nodes, groups, ...(i.problems?.length ? { problems: i.problems } : {}),
  };
}

/** The node's refusal as a target for `group` (placement.ts linkDown: a link resource of the group is down). */
function linkRefusal(view: NodeView | undefined, group: string): { noTarget?: string } {
  const l = linkDown(view, group);
  return l ? { noTarget: `its link ${l.device} is down${l.reason ? ` (${l.reason})` : ''}` } : {};
}

/** Every other node's remote probes of `group`; current only about this holder and epoch. */
function reachesOf(group: string, systemList: readonly string[], holder: string, epoch: number | null, views: Map<string, NodeView | undefined>, stale: Set<string>): RemoteReach[] {
  const out: RemoteReach[] = [];
  for (const n of systemList) {
    if (n === holder) continue;
    const r = views.get(n)?.remote?.find((x) => x.group === group);
    if (!r) continue;
    const ok = r.services.filter((x) => x.ok).length;
    out.push({
      from: n, current: !stale.has(n) && r.holder === holder && r.epoch === epoch, holder: r.holder, epoch: r.epoch, cycles: r.cycles,
      verdict: !r.services.length ? 'none' : ok === r.services.length ? 'yes' : ok === 0 ? 'no' : 'partly', services: r.services, at: r.at,
    });
  }
  return out;
}

export interface ReadOptions {
  /** How long to watch the views (default watchWindowMs); 0: do not watch, judge by the peers only. */
  watchMs?: number;
  /** Injected for tests. */
  sleep?(ms: number): Promise<void>;
  now?(): number;
  wallNow?(): number;
  /** The cluster's shared-directory key: views, records and admin files are verified with it. */
  key?: SharedDirKey;
}

/**
 * The newest epoch of a group whose record verifies (the 8 newest files at most; without the
 * cluster's key none does); `rejected` hears of each newer file that did not.
 */
export async function readLease(store: Pick<LeaseStore, 'readEpoch'>, key: SharedDirKey, group: string, epochs: number[], rejected?: (epoch: number, why: string) => void): Promise<LeaseRead> {
  const ctx = { key, group };
  for (const e of epochs.slice(-8).reverse()) {
    const r = await store.readEpoch(group, e);
    const d = r.ok ? decodeRecord(r.value.bytes, e, ctx) : undefined;
    const rec = d ? trusted(d, ctx) : undefined;
    if (rec) return { epoch: e, holder: rec.state === 'HELD' ? rec.holder : '', leaseState: rec.state, handoffTo: rec.handoffTo };
    rejected?.(e, !r.ok ? r.message : d?.kind === 'invalid' ? d.why : 'lease format 1 (unsigned, written by an older pm2-messaging-ha)');
  }
  return { epoch: epochs.length ? Math.max(...epochs) : null, holder: '', leaseState: 'UNKNOWN', handoffTo: '' };
}

/** How often the views are re-read while watching. */
const WATCH_POLL_MS = 250;

/**
 * Reads every node's view — watching them until each changed or the window passed, so a node
 * that stopped publishing (power cut) shows as stale — then every group's newest lease record
 * and admin file.
 */
export async function readClusterStatus(cluster: ResolvedCluster, store: LeaseStore, o: ReadOptions = {}): Promise<ClusterStatus> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = o.now ?? (() => performance.now());
  const problems = new Map<string, string>();
  const readViews = async (): Promise<Map<string, NodeView | undefined>> => {
    const m = new Map<string, NodeView | undefined>();
    for (const n of cluster.settings.nodes) {
      const r = await store.readMeta(viewName(n));
      if (!o.key) { m.set(n, r.ok ? parseView(r.value) : undefined); continue; }
      const v = r.ok ? openView(r.value, n, o.key) : r.code === 'REJECTED' ? { rejected: r.message } : undefined;
      if (v && 'rejected' in v) problems.set(`view ${n}`, `view of ${n} rejected: ${v.rejected}`);
      else problems.delete(`view ${n}`);
      m.set(n, v && 'view' in v ? v.view : undefined);
    }
    return m;
  };
  const first = await readViews();
  let views = first;
  let observed: Map<string, ViewObservation> | undefined;
  const windowMs = o.watchMs ?? watchWindowMs(first.values());
  if (windowMs > 0) {
    const t0 = now();
    const changed = new Set<string>();
    const published = [...first].filter(([, v]) => v).map(([n]) => n);
    while (changed.size < published.length && now() - t0 < windowMs) {
      await sleep(Math.min(WATCH_POLL_MS, Math.max(1, windowMs - (now() - t0))));
      views = await readViews();
      for (const [n, ob] of observeViews(first, views, 0)) if (ob.changed) changed.add(n);
    }
    const watched = now() - t0;
    observed = new Map(published.map((n) => [n, { changed: changed.has(n), watchedMs: watched }]));
  }
  const leases = new Map<string, LeaseRead>();
  const admins = new Map<string, string | null>();
  for (const g of cluster.groups) {
    const l = await store.listEpochs(g.name);
    const read = await readLease(store, o.key ?? SharedDirKey.ephemeral(cluster.settings.name), g.name, l.ok ? l.value : [],
      (e, why) => { if (o.key) problems.set(`epoch ${g.name} ${e}`, `epoch.${e} of ${g.name} rejected: ${why}`); });
    leases.set(g.name, read);
    const a = await store.readAdmin(g.name);
    if (a.ok) admins.set(g.name, a.value);
    else if (a.code === 'REJECTED') problems.set(`admin ${g.name}`, `admin file of ${g.name} rejected: ${a.message}`);
    if (a.ok && o.key && parseAdmin(a.value, { key: o.key, group: g.name }).cmd === 'rejected') problems.set(`admin ${g.name}`, `admin file of ${g.name} rejected: ${parseAdmin(a.value, { key: o.key, group: g.name }).problem ?? ''}`);
  }
  return buildClusterStatus({ cluster, source: 'shared-dir', views, leases, admins, observed, nowWallMs: (o.wallNow ?? Date.now)(), ...(o.key ? { key: o.key } : {}), problems: [...problems.values()] });
}

const pad = (rows: string[][]): string => {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(w[i]!) : c)).join('  ').trimEnd()).join('\n');
};

/** One screen: nodes, then group × node with the holder, epoch, freeze and last failover. */
export function formatClusterStatus(s: ClusterStatus, allNodes: string[]): string {
  const out: string[] = [s.summary, ''];
  const aliveText = (n: ClusterStatus['nodes'][number]): string =>
    n.stale ? `unknown (silent ${n.silentS ?? '?'} s)` : n.alive === null ? '?' : n.alive ? 'yes' : 'NO';
  out.push(pad([['NODE', 'ALIVE', 'VIEW WRITTEN (wall, for humans)'], ...s.nodes.map((n) => [n.node, aliveText(n), n.wallTime ?? (n.present ? '' : 'never published')])]));
  out.push('');
  const head = ['GROUP', 'HOLDER', 'EPOCH', 'FROZEN', ...allNodes, 'LAST FAILOVER'];
  const rows = s.groups.map((g) => [
    g.name, g.holder ?? (g.leaseState === 'RELEASED' ? `-(released${g.handoffTo ? `→${g.handoffTo}` : ''})` : '-'), g.epoch === null ? '-' : String(g.epoch),
    g.frozenBy || (g.frozen ? 'local' : 'no'),
    ...allNodes.map((n) => {
      if (!g.systemList.includes(n)) return '';
      const v = g.nodes[n];
      if (!v) return '?';
      if (v.stale) return `unknown (last said ${v.lastState})`;
      return `${v.state}${v.role === 'holder' ? '*' : ''}${v.faulted ? '!' : ''}${v.waitingFor.length ? '(waiting)' : ''}${v.noTarget ? '(link down)' : ''}`;
    }),
    g.lastFailover ? `${g.lastFailover.at.slice(0, 19)} ${g.lastFailover.from}→${g.lastFailover.to || 'any'}: ${g.lastFailover.why}` : '',
  ]);
  out.push(pad([head, ...rows]));
  out.push('(* holds the lease, ! FAULTED on that node until cleared; unknown: the node\'s view is stale, its last word is not current)');
  out.push(...formatNetwork(s));
  for (const p of s.problems ?? []) out.push(`warning: ${p} (ignored; see docs/lease.md, Who may write the shared directory)`);
  return out.join('\n');
}

/**
 * The `network:` section: each node's links, then per group who reaches it through its VIP, the
 * holder's verdict and the nodes refused as targets. Nothing when no view carries network facts,
 * so a cluster without link resources or remote probes keeps its usual screen.
 */
function formatNetwork(s: ClusterStatus): string[] {
  const lines: string[] = [];
  for (const n of s.nodes) {
    if (n.links.length) lines.push(`  ${n.node} links${n.stale ? ' (old)' : ''}: ${linksText(n.links)}`);
  }
  for (const g of s.groups) {
    if (g.reachableFrom.length) lines.push(`  ${g.name} reachable from ${g.reachableFrom.map(reachText).join(', ')}`);
    if (g.unreachable) lines.push(`  ${g.name}: ${g.unreachable.node} is serving locally, UNREACHABLE from the network since ${g.unreachable.since.slice(0, 19)}${g.unreachable.why ? `: ${g.unreachable.why}` : ''}`);
    for (const n of g.systemList) {
      const why = g.nodes[n]?.noTarget;
      if (why) lines.push(`  ${g.name}: ${n} is no target: ${why}`);
    }
  }
  return lines.length ? ['network:', ...lines] : [];
}

/** "eth0 up (verified), eth1 DOWN: no carrier since …"; one entry per device unless two verdicts differ. */
function linksText(links: readonly LinkView[]): string {
  const one = (l: LinkView): string => {
    if (l.up === null) return `${l.device} not checked yet`;
    if (l.up) return `${l.device} up (${l.verified ? 'verified' : 'carrier only'})`;
    return `${l.device} DOWN${l.reason ? `: ${l.reason}` : ''} since ${l.since.slice(0, 19)}`;
  };
  const texts = links.map(one);
  return links.map((l, i) => {
    const t = texts[i]!;
    const differs = links.some((o, j) => o.device === l.device && texts[j] !== t);
    return differs ? `${t} [${l.group}.${l.resource}]` : t;
  }).filter((t, i, all) => all.indexOf(t) === i).join(', ');
}

/** "mx2: yes (imap 12 ms, smtp 9 ms)" / "mx3: no (imap: timeout)"; " (old)" when not about the current holder and epoch. */
function reachText(r: RemoteReach): string {
  const service = (x: RemoteServiceView): string => {
    if (x.ok) {
      const t = x.phases?.total;
      return typeof t === 'number' ? `${x.service} ${t < 0.001 ? '<1' : Math.round(t * 1000)} ms` : x.service;
    }
    const why = x.timeout ? 'timeout' : x.reason.replace(/\s+/g, ' ').trim() || 'failed';
    return `${x.service}: ${why.length > 60 ? `${why.slice(0, 59)}…` : why}`;
  };
  const detail = r.services.length ? ` (${r.services.map(service).join(', ')})` : '';
  return `${r.from}: ${r.verdict === 'none' ? 'nothing probed' : r.verdict}${detail}${r.current ? '' : ' (old)'}`;
}
