/**
 * Progress of a long operator verb (`online`, `offline`, `switch`, `evacuate`, `clear` with
 * --wait): each resource's and node's transitions as they happen, with the time since the verb
 * started, then the final state. While the coordinator's action runs, the agents' reports come
 * from the PM2 bus (a second trigger to the same app meanwhile could take the action's reply);
 * after its reply, the coordinator's `status` is polled every 250 ms (multi-node: with every
 * node's published view, so a switch is followed to the node that takes the group).
 */
import type { StatusReply } from '../../coordinator/status-reply';
import type { ClusterStatusReply } from '../../cluster/multi-node';
import type { ResolvedCluster } from '../../model/cluster-types';
import type { CoordinatorLink } from './coordinator-link';

export type Reply = StatusReply & Partial<Pick<ClusterStatusReply, 'view' | 'peers'>>;
export type WaitVerb = 'online' | 'offline' | 'switch' | 'evacuate' | 'clear';

export const POLL_MS = 250;
/** Added to the summed timeouts: agent start-up, PM2, the coordinator's own steps. */
const SLACK_S = 30;

export interface Goal {
  verb: WaitVerb;
  /** The groups the verb acts on (evacuate: those the reply says were switched). */
  groups: string[];
  /** clear <group>.<resource>. */
  resource?: string;
  /** switch <group>:<node>. */
  to?: string;
}

export interface Transition { atMs: number; what: string; from: string; to: string }
export interface WaitOutcome { reached: boolean; timedOut: boolean; final: string; elapsedMs: number; transitions: Transition[] }

const BUSY = new Set(['STARTING', 'STOPPING', 'RESTARTING']);

/** Every state the verb's progress shows: `node group` and `node group.resource` → state. */
function snapshot(r: Reply, groups: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  const local = r.view ? [] : r.groups.filter((g) => groups.includes(g.name));
  for (const g of local) {
    m.set(`${r.node} ${g.name}`, g.state);
    for (const x of g.resources) m.set(`${r.node} ${x.id}`, x.state);
  }
  const views = [...(r.view ? [r.view] : []), ...(r.peers ?? []).flatMap((p) => (p.view ? [p.view] : []))];
  for (const v of views) {
    for (const g of v.groups.filter((x) => groups.includes(x.name))) {
      m.set(`${v.node} ${g.name}`, `${g.state}${g.role === 'holder' ? ' (holder)' : ''}`);
      for (const x of g.resources) m.set(`${v.node} ${x.id}`, x.state);
    }
  }
  return m;
}

/** Where the goal stands in a status reply: reached, failed (final, not the wanted state) or pending. */
export function judge(goal: Goal, r: Reply): { done: boolean; ok: boolean; final: string } {
  const views = [...(r.view ? [r.view] : []), ...(r.peers ?? []).flatMap((p) => (p.view ? [p.view] : []))];
  const finals: string[] = [];
  let done = true;
  let ok = true;
  for (const name of goal.groups) {
    const here = r.groups.find((g) => g.name === name);
    const holderView = views.find((v) => v.groups.some((g) => g.name === name && g.role === 'holder' && g.state === 'ONLINE'));
    const onlineAt = holderView?.node ?? (here?.state === 'ONLINE' ? r.node : undefined);
    const state = here?.state ?? 'UNKNOWN';
    let d = false;
    let good = false;
    switch (goal.verb) {
      case 'online':
        good = onlineAt !== undefined;
        d = good || state === 'FAULTED' || state === 'PARTIAL';
        finals.push(good ? `${name} ONLINE on ${onlineAt}` : `${name} ${state} on ${r.node}`);
        break;
      case 'offline':
        good = state === 'OFFLINE';
        d = good || state === 'FAULTED';
        finals.push(`${name} ${state} on ${r.node}`);
        break;
      case 'switch': case 'evacuate':
        good = onlineAt !== undefined && onlineAt !== r.node && (goal.to === undefined || onlineAt === goal.to);
        d = good;
        finals.push(onlineAt ? `${name} ONLINE on ${onlineAt}` : `${name} not online anywhere yet (${state} on ${r.node})`);
        break;
      case 'clear': {
        const res = goal.resource ? here?.resources.find((x) => x.name === goal.resource) : undefined;
        const s = res?.state ?? state;
        good = s !== 'FAULTED' && !BUSY.has(state) && !BUSY.has(s);
        d = good;
        finals.push(goal.resource ? `${name}.${goal.resource} ${s} on ${r.node}` : `${name} ${state} on ${r.node}`);
        break;
      }
    }
    done &&= d;
    ok &&= good;
  }
  return { done, ok: done && ok, final: finals.join(', ') };
}

/** The default --timeout: the group's summed timeouts for the verb, plus slack and (multi-node) a takeover. */
export function defaultTimeoutS(goal: Goal, cluster: ResolvedCluster | undefined, resourceCounts: Map<string, number>, takeoverS: number): number {
  const fns: Array<'OnlineTimeout' | 'OfflineTimeout'> = goal.verb === 'offline' ? ['OfflineTimeout']
    : goal.verb === 'switch' || goal.verb === 'evacuate' ? ['OfflineTimeout', 'OnlineTimeout'] : ['OnlineTimeout'];
  // Loaded lazily: only a wait needs the attribute table.
  const { numberAttr } = require('../../model/attributes') as typeof import('../../model/attributes');
  let sum = 0;
  for (const name of goal.groups) {
    const g = cluster?.groups.find((x) => x.name === name);
    for (const fn of fns) {
      sum += g ? g.resources.reduce((s, r) => s + numberAttr(r.attrs, fn), 0) : (resourceCounts.get(name) ?? 1) * numberAttr({}, fn);
    }
  }
  return sum + SLACK_S + (goal.verb === 'offline' || goal.verb === 'clear' ? 0 : takeoverS);
}

/** Prints and records transitions as they come. */
export class Watch {
  readonly transitions: Transition[] = [];
  private readonly known = new Map<string, string>();

  constructor(private readonly t0: number, private readonly print: ((line: string) => void) | undefined) {}

  elapsed(): number { return performance.now() - this.t0; }

  stamp(ms = this.elapsed()): string { return `+${(ms / 1000).toFixed(1)}s`.padStart(8); }

  /** Sets what is known without printing (the state before the verb). */
  seed(m: Map<string, string>): void { for (const [k, v] of m) this.known.set(k, v); }

  see(what: string, to: string, note = ''): void {
    const from = this.known.get(what) ?? '?';
    if (from === to) return;
    this.known.set(what, to);
    const atMs = Math.round(this.elapsed());
    this.transitions.push({ atMs, what, from, to });
    this.print?.(`${this.stamp(atMs)}  ${what.padEnd(24)} ${from} → ${to}${note ? `  ${note}` : ''}`);
  }

  seeAll(m: Map<string, string>): void { for (const [k, v] of m) this.see(k, v); }
}

interface AgentPacket { data?: { resource?: string; fn?: string; ok?: boolean; state?: string; reason?: string }; process?: { name?: string } }

/** Agents' reports on the bus while the action runs: `online`/`offline` results and state changes. */
export async function followBus(link: CoordinatorLink, node: string, groups: readonly string[], watch: Watch): Promise<void> {
  const bus = await link.bus();
  const mine = (id: string | undefined): id is string => !!id && groups.some((g) => id.startsWith(`${g}.`));
  const onPacket = (p: AgentPacket): void => {
    const d = p.data;
    if (!mine(d?.resource)) return;
    const reason = d.reason ? d.reason.slice(0, 100) : '';
    if (d.fn === 'online' || d.fn === 'offline') {
      const to = d.ok ? (d.fn === 'online' ? 'ONLINE' : 'OFFLINE') : `${d.fn} failed`;
      watch.see(`${node} ${d.resource}`, to, d.ok ? '' : reason);
    } else if (d.state && (d.fn === 'monitor' || d.fn === 'state' || d.fn === 'lapsed')) {
      watch.see(`${node} ${d.resource}`, d.state, d.state === 'ONLINE' ? '' : reason);
    }
  };
  bus.on('msgha:result', onPacket as (p: never) => void);
  bus.on('msgha:state', onPacket as (p: never) => void);
}

/** Polls status until the goal is reached, failed, or the deadline passes. */
export async function pollUntil(link: CoordinatorLink, goal: Goal, watch: Watch, deadlineMs: number): Promise<WaitOutcome> {
  let last: ReturnType<typeof judge> = { done: false, ok: false, final: 'no status from the coordinator' };
  for (;;) {
    const r = await link.status(2500, 1) as Reply | undefined;
    if (r?.groups) {
      watch.seeAll(snapshot(r, goal.groups));
      last = judge(goal, r);
      if (last.done) return { reached: last.ok, timedOut: false, final: last.final, elapsedMs: Math.round(watch.elapsed()), transitions: watch.transitions };
    }
    if (watch.elapsed() >= deadlineMs) return { reached: false, timedOut: true, final: last.final, elapsedMs: Math.round(watch.elapsed()), transitions: watch.transitions };
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
}

export { snapshot };
