/**
 * The view each node publishes into the shared directory, `<sharedDir>/.cluster/<cluster>/nodes/<node>.json`
 * (written through the I/O helper store, never with sync fs on the coordinator's event loop), and
 * how a reader judges whether another node is alive.
 *
 * The file is a signed envelope (format 2): `{"v":2,"body":"<the view as JSON text>","mac":"<hex>"}`,
 * the MAC (lease/shared-key.ts, domain view\0<node>\0) over the body. The view (NodeView
 * below, version 1) is the stable interface of `msgha status` and of the cluster test harness.
 * `incarnation` (the writer's start, wall ms) and `counter` (+1 on every write) order one node's
 * views; `monoMs` is the writer's own CLOCK_MONOTONIC — neither may be compared with another
 * node's clock. `wallTime` is for humans only.
 *
 * Guarantees: openView and parseView never throw. openView accepts a view only when its MAC
 * verifies with the cluster's key, the view names the node of its file name and that node is in
 * cluster.nodes (an unsigned version-1 view only with acceptUnsigned); anything else is
 * rejected with the reason, counted and logged. PeerTracker judges liveness like the lease does,
 * on the reader's own monotonic clock: life is an accepted view newer (incarnation, counter) than
 * any accepted before — a replay or a forgery is never life; alive once life was seen within
 * `staleMs`, dead after `staleMs` without, undefined (not judged yet) before either.
 */
import type { FailoverReason } from '../metrics/snapshot';
import type { Phases } from '../core/results';
import type { GroupState, ResState, Transition } from '../coordinator/group-runner';
import { domains, type SharedDirKey } from '../lease/shared-key';

export const VIEW_VERSION = 1;
/** The signed envelope around a view. */
export const VIEW_FILE_VERSION = 2;

export interface FailoverRecord {
  /** Wall time, ISO (for humans). */
  at: string;
  from: string;
  /** '' when nobody was named (any node may claim). */
  to: string;
  why: string;
  kind: FailoverReason;
  epoch?: number;
}

export interface ResourceView {
  id: string; name: string; type: string; state: ResState; reason: string; since: string; restarts: number;
  violation?: string;
}

/** One link resource (NIC) of this node, as its link watch last judged it (docs/network.md). */
export interface LinkView {
  group: string;
  /** The NIC resource's name in its group. */
  resource: string;
  device: string;
  /** true up; false down (more than ToleranceLimit checks in a row failed); null not checked yet. */
  up: boolean | null;
  /** A ping host answered in the last check (false: carrier only, or no host answered). */
  verified: boolean;
  reason: string;
  /** When `up` last changed (ISO wall time, for humans). */
  since: string;
}

/** One client service of a group, probed by this node through the group's VIP (remote probe). */
export interface RemoteServiceView {
  service: string;
  /** As the local deep check names it, e.g. 'imap:143'. */
  check: string;
  ok: boolean;
  /** The last failure was a timeout (ProbeFailurePolicy timeout-only counts only those). */
  timeout: boolean;
  /** Consecutive failed cycles that count under the resource's ProbeFailurePolicy (0 after a success). */
  failures: number;
  reason: string;
  phases?: Phases;
}

/** This node's remote probes of one group held by another node. */
export interface RemoteView {
  group: string;
  /** The holder and epoch probed: results about another holder or epoch are never counted. */
  holder: string;
  epoch: number;
  vip: string;
  /** Remote cycles completed against this holder and epoch. */
  cycles: number;
  services: RemoteServiceView[];
  /** Wall time of the last cycle, ISO (for humans). */
  at: string;
}

export interface GroupView {
  name: string;
  /** This node's group state machine. */
  state: GroupState;
  reason: string;
  /** This node's elector: holder, follower, fencing, or stopped (not contending here). */
  role: 'holder' | 'follower' | 'fencing' | 'stopped';
  /** Epoch held (holder) or observed (follower); null before discovery. */
  epoch: number | null;
  /** The holder as this node last read it ('' when released or unknown). */
  holder: string;
  leaseState: 'HELD' | 'RELEASED' | 'UNKNOWN';
  /** ms this node may still serve (holder only). */
  remainingServeMs: number | null;
  /** No automatic action here (local freeze or persistent freeze). */
  frozen: boolean;
  /** The admin file holds a freeze (persistent freeze, or an operator offline). */
  frozenPersistent: boolean;
  /** 'persistent' | 'offline' when the admin file holds a freeze, else ''. */
  frozenBy: string;
  /** This node is FAULTED for the group (until `clear`). */
  faulted: boolean;
  /** This node contends for the lease (autoStart or operator online, not faulted, dependencies hold). */
  contending: boolean;
  /** Dependencies that do not hold now (e.g. "dir (online-global-soft)"). */
  waitingFor: string[];
  lastTransition?: Transition;
  lastFailover?: FailoverRecord;
  /** The holder's verdict: local checks pass but no live standby reaches the group (docs/network.md). */
  unreachable?: { since: string; why: string };
  resources: ResourceView[];
}

export interface NodeView {
  version: number;
  cluster: string;
  node: string;
  /** +1 on every write. */
  counter: number;
  /** The writer's start (wall ms): orders views across its restarts (absent in older views: 0). */
  incarnation?: number;
  /** The writer's CLOCK_MONOTONIC ms: only for the writer itself. */
  monoMs: number;
  /** Wall time of the write, ISO: for humans only, never for a decision. */
  wallTime: string;
  profile: string;
  /** Publishing period, so readers can size their staleness window. */
  publishMs: number;
  groups: GroupView[];
  /** How this node judges the others (true alive, false silent, null not judged yet). */
  peers: Record<string, boolean | null>;
  /** Link resources (NIC) of the groups this node may run (absent in older views). */
  links?: LinkView[];
  /** Remote probes of groups held by other nodes (absent in older views). */
  remote?: RemoteView[];
  /** IPv4 addresses of this node on the devices of its link resources (other nodes ping them). */
  addresses?: Record<string, string[]>;
  /** Whether this node's last ping reached each other node's published address (null: not tried). */
  reach?: Record<string, boolean | null>;
}

export function viewName(node: string): string {
  return `nodes/${node}.json`;
}

export function parseView(text: string | null | undefined): NodeView | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<NodeView>;
    if (v.version !== VIEW_VERSION || typeof v.node !== 'string' || !Array.isArray(v.groups)) return undefined;
    return v as NodeView;
  } catch {
    return undefined;
  }
}

export function groupIn(view: NodeView | undefined, group: string): GroupView | undefined {
  return view?.groups.find((g) => g.name === group);
}

/**
 * Staleness window: three missed writes plus an I/O deadline, and never shorter than the lease
 * period L. A loaded node publishes late; judging it down too early refuses switches to it and
 * stops firm dependants, while a node that really died loses its groups after about L anyway.
 */
export function staleAfterMs(publishMs: number, ioTimeoutMs: number, leaseMs = 0): number {
  return Math.max(3 * publishMs + ioTimeoutMs, leaseMs);
}

/** The signed file text of a view (written by its node only). */
export function sealView(view: NodeView, key: SharedDirKey): string {
  const body = JSON.stringify(view);
  return JSON.stringify({ v: VIEW_FILE_VERSION, body, mac: key.mac(domains.view(view.node), body).toString('hex') });
}

export type ViewRead = { view: NodeView } | { rejected: string };

/**
 * Opens `nodes/<node>.json` (see the header); a rejection is counted and logged through the key.
 * Null text (no file): undefined.
 */
export function openView(text: string | null | undefined, node: string, key: SharedDirKey): ViewRead | undefined {
  if (text === null || text === undefined) return undefined;
  const reject = (why: string): ViewRead => { key.reject('view', viewName(node), why); return { rejected: why }; };
  let env: { v?: unknown; body?: unknown; mac?: unknown } | undefined;
  try { env = JSON.parse(text) as typeof env; } catch { return reject('not JSON'); }
  let body: string;
  if (env && env.v === VIEW_FILE_VERSION && typeof env.body === 'string' && typeof env.mac === 'string') {
    if (!key.verify(domains.view(node), env.body, Buffer.from(env.mac, 'hex'))) return reject(`bad MAC (not written with this cluster's key by ${node})`);
    body = env.body;
  } else if (key.acceptUnsigned) {
    body = text;
  } else {
    return reject('not signed (format 1, written by an older pm2-messaging-ha, or by someone without the cluster key)');
  }
  const v = parseView(body);
  if (!v) return reject('not a node view');
  if (v.node !== node) return reject(`the view names node '${v.node}', not ${node}`);
  if (!key.isMember(node)) return reject(`${node} is not in cluster.nodes`);
  return { view: v };
}

interface Seen {
  raw: string | null; changedAt: number; firstAt: number; changed: boolean; view: NodeView | undefined;
  /** The newest accepted (incarnation, counter); life is a view beyond it. */
  mark: [number, number] | undefined;
  /** Why the last read was rejected ('' when it was accepted). */
  rejected: string;
}

export class PeerTracker {
  private readonly seen = new Map<string, Seen>();

  /**
   * With `key` (the coordinator, always): views are verified and life is a newer accepted view.
   * Without (a tool that has no key): display only, life is any change of the bytes.
   */
  constructor(readonly staleMs: number, private readonly now: () => number, private readonly key?: SharedDirKey) {}

  /** One read of a node's file: its text, or null when absent. Failed reads are not observations. */
  observe(node: string, raw: string | null): void {
    const t = this.now();
    let s = this.seen.get(node);
    const first = !s;
    if (!s) { s = { raw: null, changedAt: t, firstAt: t, changed: false, view: undefined, mark: undefined, rejected: '' }; this.seen.set(node, s); }
    if (!this.key) {
      if (first || s.raw !== raw) {
        if (!first) { s.changedAt = t; s.changed = true; }
        s.raw = raw;
        s.view = parseView(raw);
      }
      return;
    }
    s.raw = raw;
    const r = openView(raw, node, this.key);
    if (!r) { s.view = undefined; s.rejected = ''; return; } // no file: no life
    if ('rejected' in r) { s.rejected = r.rejected; return; } // the last accepted view stands
    s.rejected = '';
    const mark: [number, number] = [r.view.incarnation ?? 0, r.view.counter];
    const newer = !s.mark || mark[0] > s.mark[0] || (mark[0] === s.mark[0] && mark[1] > s.mark[1]);
    if (!newer) return;
    if (s.mark) { s.changedAt = t; s.changed = true; }
    s.mark = mark;
    s.view = r.view;
  }

  alive(node: string): boolean | undefined {
    const s = this.seen.get(node);
    if (!s) return undefined;
    const t = this.now();
    if (s.changed && (this.key ? !!s.view : s.raw !== null) && t - s.changedAt <= this.staleMs) return true;
    if (t - s.changedAt > this.staleMs) return false;
    return undefined;
  }

  view(node: string): NodeView | undefined {
    return this.seen.get(node)?.view;
  }

  /** Why the last read of the node's view was rejected, or '' (msgha status). */
  rejected(node: string): string {
    return this.seen.get(node)?.rejected ?? '';
  }

  nodes(): string[] {
    return [...this.seen.keys()];
  }
}
