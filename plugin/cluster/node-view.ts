/**
 * The view each node publishes into the shared directory, `<sharedDir>/.cluster/<cluster>/nodes/<node>.json`
 * (written through the I/O helper store, never with sync fs on the coordinator's event loop), and
 * how a reader judges whether another node is alive.
 *
 * The file (version 1) is the stable interface of `msgha status` and of the cluster test
 * harness: see NodeView below. `counter` grows with every write and `monoMs` is the writer's
 * own CLOCK_MONOTONIC — neither may be compared with another node's clock. `wallTime` is for
 * humans only.
 *
 * Guarantees: parseView never throws (undefined on anything malformed); PeerTracker judges
 * liveness like the lease does — only by whether the bytes change, timed on the reader's own
 * monotonic clock: alive once a change was seen within `staleMs`, dead after `staleMs` without
 * a change, undefined (not judged yet) before either.
 */
import type { FailoverReason } from '../metrics/snapshot';
import type { GroupState, ResState, Transition } from '../coordinator/group-runner';

export const VIEW_VERSION = 1;

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
  resources: ResourceView[];
}

export interface NodeView {
  version: number;
  cluster: string;
  node: string;
  /** +1 on every write. */
  counter: number;
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

interface Seen { raw: string | null; changedAt: number; firstAt: number; changed: boolean; view: NodeView | undefined }

export class PeerTracker {
  private readonly seen = new Map<string, Seen>();

  constructor(readonly staleMs: number, private readonly now: () => number) {}

  /** One read of a node's file: its text, or null when absent. Failed reads are not observations. */
  observe(node: string, raw: string | null): void {
    const t = this.now();
    const s = this.seen.get(node);
    if (!s) { this.seen.set(node, { raw, changedAt: t, firstAt: t, changed: false, view: parseView(raw) }); return; }
    if (s.raw !== raw) {
      s.raw = raw;
      s.changedAt = t;
      s.changed = true;
      s.view = parseView(raw);
    }
  }

  alive(node: string): boolean | undefined {
    const s = this.seen.get(node);
    if (!s) return undefined;
    const t = this.now();
    if (s.changed && s.raw !== null && t - s.changedAt <= this.staleMs) return true;
    if (t - s.changedAt > this.staleMs) return false;
    return undefined;
  }

  view(node: string): NodeView | undefined {
    return this.seen.get(node)?.view;
  }

  nodes(): string[] {
    return [...this.seen.keys()];
  }
}
