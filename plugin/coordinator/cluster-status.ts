/**
 * The whole cluster on one screen (`msgha status`), from the nodes' published views
 * (node-view.ts) and, when read from the shared directory, each group's lease record and admin
 * file. Used by the CLI (shared directory, through an I/O helper process) and for a local
 * multi-node coordinator's answer.
 *
 * JSON shape (stable; `msgha status --json` prints it, see ClusterStatus):
 *   { ok, source: 'shared-dir'|'coordinator', cluster, profile, summary,
 *     nodes:  [{ node, present, alive, seenAliveBy, counter, wallTime }],
 *     groups: [{ name, systemList, holder, epoch, leaseState, handoffTo, frozen, frozenBy,
 *                onlineOn, nodes: { <node>: { state, role, faulted, frozen, contending,
 *                waitingFor, reason, resources } | null }, lastFailover }] }
 * `alive` is judged by the other nodes (each view says which peers it saw changing): true when
 * one of them saw the node alive, false when those that judged saw it silent, null when nobody
 * judged. Wall times are for humans only.
 */
import type { ResolvedCluster } from '../config/cluster-types';
import { decodeRecord } from '../lease/record';
import type { LeaseStore } from '../lease/store';
import { parseAdminText } from './cluster-node';
import { parseView, viewName, type FailoverRecord, type GroupView, type NodeView } from './node-view';

export interface LeaseRead { epoch: number | null; holder: string; leaseState: 'HELD' | 'RELEASED' | 'UNKNOWN'; handoffTo: string }

export interface ClusterStatus {
  ok: boolean;
  source: 'shared-dir' | 'coordinator';
  cluster: string;
  profile: string | null;
  summary: string;
  nodes: Array<{ node: string; present: boolean; alive: boolean | null; seenAliveBy: string[]; counter: number | null; wallTime: string | null }>;
  groups: Array<{
    name: string; systemList: string[]; holder: string | null; epoch: number | null; leaseState: LeaseRead['leaseState'];
    handoffTo: string; frozen: boolean; frozenBy: string; onlineOn: string[];
    nodes: Record<string, Pick<GroupView, 'state' | 'role' | 'faulted' | 'frozen' | 'contending' | 'waitingFor' | 'reason' | 'resources'> | null>;
    lastFailover: FailoverRecord | null;
  }>;
}

export interface StatusInputs {
  cluster: ResolvedCluster;
  source: ClusterStatus['source'];
  views: Map<string, NodeView | undefined>;
  leases?: Map<string, LeaseRead>;
  admins?: Map<string, string | null>;
}

export function buildClusterStatus(i: StatusInputs): ClusterStatus {
  const names = i.cluster.settings.nodes;
  const present = [...i.views.values()].filter((v): v is NodeView => !!v);
  const nodes = names.map((node) => {
    const v = i.views.get(node);
    const judges = present.filter((p) => p.node !== node && p.peers && node in p.peers);
    const seenAliveBy = judges.filter((p) => p.peers[node] === true).map((p) => p.node);
    const alive = seenAliveBy.length > 0 ? true : judges.some((p) => p.peers[node] === false) ? false : null;
    return { node, present: !!v, alive, seenAliveBy, counter: v?.counter ?? null, wallTime: v?.wallTime ?? null };
  });
  const groups = i.cluster.groups.map((g) => {
    const perNode: ClusterStatus['groups'][number]['nodes'] = {};
    let failover: FailoverRecord | null = null;
    let seenHolder = '';
    let seenEpoch: number | null = null;
    for (const n of g.systemList) {
      const gv = i.views.get(n)?.groups.find((x) => x.name === g.name);
      perNode[n] = gv ? { state: gv.state, role: gv.role, faulted: gv.faulted, frozen: gv.frozen, contending: gv.contending, waitingFor: gv.waitingFor, reason: gv.reason, resources: gv.resources } : null;
      if (gv?.lastFailover && (!failover || gv.lastFailover.at > failover.at)) failover = gv.lastFailover;
      if (gv?.role === 'holder') { seenHolder = n; seenEpoch = gv.epoch; }
      else if (!seenHolder && gv?.holder && gv.leaseState === 'HELD') { seenHolder = gv.holder; seenEpoch = gv.epoch; }
    }
    const lease = i.leases?.get(g.name);
    const admin = i.admins?.has(g.name) ? parseAdminText(i.admins.get(g.name) ?? null) : undefined;
    const viewFrozen = g.systemList.map((n) => i.views.get(n)?.groups.find((x) => x.name === g.name)).find((x) => x?.frozenPersistent);
    const frozenBy = admin ? (admin.cmd === 'freeze' ? admin.why ?? 'persistent' : '') : viewFrozen?.frozenBy ?? '';
    const holder = lease ? (lease.leaseState === 'HELD' ? lease.holder : null) : seenHolder || null;
    return {
      name: g.name, systemList: g.systemList, holder,
      epoch: lease ? lease.epoch : seenEpoch, leaseState: lease?.leaseState ?? (holder ? 'HELD' as const : 'UNKNOWN' as const),
      handoffTo: lease?.handoffTo ?? '', frozen: frozenBy === 'persistent' || g.systemList.some((n) => perNode[n]?.frozen),
      frozenBy, onlineOn: g.systemList.filter((n) => perNode[n]?.state === 'ONLINE' || perNode[n]?.state === 'PARTIAL'),
      nodes: perNode, lastFailover: failover,
    };
  });
  const parts = groups.map((g) => `${g.name} ${g.onlineOn.length ? `ONLINE on ${g.onlineOn.join('+')}` : 'OFFLINE'}${g.holder ? ` (holder ${g.holder}, epoch ${g.epoch})` : ''}${g.frozen ? ' frozen' : ''}`);
  const down = nodes.filter((n) => n.alive === false).map((n) => n.node);
  return {
    ok: true, source: i.source, cluster: i.cluster.settings.name, profile: present[0]?.profile ?? null,
    summary: `cluster ${i.cluster.settings.name}: ${parts.join('; ') || 'no groups'}${down.length ? `; silent: ${down.join(', ')}` : ''}`,
    nodes, groups,
  };
}

/** Reads every node's view, and every group's newest lease record and admin file. */
export async function readClusterStatus(cluster: ResolvedCluster, store: LeaseStore): Promise<ClusterStatus> {
  const views = new Map<string, NodeView | undefined>();
  for (const n of cluster.settings.nodes) {
    const r = await store.readMeta(viewName(n));
    views.set(n, r.ok ? parseView(r.value) : undefined);
  }
  const leases = new Map<string, LeaseRead>();
  const admins = new Map<string, string | null>();
  for (const g of cluster.groups) {
    const l = await store.listEpochs(g.name);
    const max = l.ok && l.value.length ? Math.max(...l.value) : undefined;
    let read: LeaseRead = { epoch: max ?? null, holder: '', leaseState: 'UNKNOWN', handoffTo: '' };
    if (max !== undefined) {
      const r = await store.readEpoch(g.name, max);
      const d = r.ok ? decodeRecord(r.value, max) : undefined;
      if (d?.valid) read = { epoch: max, holder: d.record.state === 'HELD' ? d.record.holder : '', leaseState: d.record.state, handoffTo: d.record.handoffTo };
    }
    leases.set(g.name, read);
    const a = await store.readAdmin(g.name);
    if (a.ok) admins.set(g.name, a.value);
  }
  return buildClusterStatus({ cluster, source: 'shared-dir', views, leases, admins });
}

const pad = (rows: string[][]): string => {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(w[i]!) : c)).join('  ').trimEnd()).join('\n');
};

/** One screen: nodes, then group × node with the holder, epoch, freeze and last failover. */
export function formatClusterStatus(s: ClusterStatus, allNodes: string[]): string {
  const out: string[] = [s.summary, ''];
  out.push(pad([['NODE', 'ALIVE', 'VIEW WRITTEN (wall, for humans)'], ...s.nodes.map((n) => [n.node, n.alive === null ? '?' : n.alive ? 'yes' : 'NO', n.wallTime ?? (n.present ? '' : 'never published')])]));
  out.push('');
  const head = ['GROUP', 'HOLDER', 'EPOCH', 'FROZEN', ...allNodes, 'LAST FAILOVER'];
  const rows = s.groups.map((g) => [
    g.name, g.holder ?? (g.leaseState === 'RELEASED' ? `-(released${g.handoffTo ? `→${g.handoffTo}` : ''})` : '-'), g.epoch === null ? '-' : String(g.epoch),
    g.frozenBy || (g.frozen ? 'local' : 'no'),
    ...allNodes.map((n) => {
      if (!g.systemList.includes(n)) return '';
      const v = g.nodes[n];
      if (!v) return '?';
      return `${v.state}${v.role === 'holder' ? '*' : ''}${v.faulted ? '!' : ''}${v.waitingFor.length ? '(waiting)' : ''}`;
    }),
    g.lastFailover ? `${g.lastFailover.at.slice(0, 19)} ${g.lastFailover.from}→${g.lastFailover.to || 'any'}: ${g.lastFailover.why}` : '',
  ]);
  out.push(pad([head, ...rows]));
  out.push('(* holds the lease, ! FAULTED on that node until cleared)');
  return out.join('\n');
}
