/**
 * Where a group may go and whether it may start: pure decisions over the published node views
 * (node-view.ts), so they are unit-tested without PM2 or a shared directory.
 *
 * - chooseHandoffTarget: the next node of systemList after the current one (wrapping), skipping
 *   nodes judged down, nodes FAULTED for the group, nodes where the group is frozen, and nodes
 *   whose link (a NIC resource of the group, as their view publishes it) is down; nodes not
 *   judged yet count as candidates (a handoff to a dead node costs one lease period L, after
 *   which any node claims — never two holders).
 * - checkSwitchTarget: why an operator's switch target is refused (one sentence), or undefined.
 * - dependencyGate: group dependencies (dependsOn). A parent is "up" when ONLINE or PARTIAL —
 *   online-global-*: on any node judged alive (this one included); online-local-*: on this node.
 *   Every kind waits for its parent before contending for the lease. soft: never stops the child
 *   afterwards; firm: the child goes offline when its parent is no longer up; hard: like firm,
 *   and for online-local-hard a child that faults here takes its parent along: the parent is
 *   handed to the node the child fails over to (parentsToMove), so the pair stays together.
 */
import type { GroupDependency } from '../model/cluster-types';
import type { GroupState } from '../coordinator/group-runner';
import { groupIn, type LinkView, type NodeView } from './node-view';

export interface PeerState {
  /** true alive, false silent, undefined not judged yet. */
  alive: boolean | undefined;
  view: NodeView | undefined;
}

export type Peers = ReadonlyMap<string, PeerState>;

const up = (s: GroupState | undefined): boolean => s === 'ONLINE' || s === 'PARTIAL';

export function chooseHandoffTarget(systemList: readonly string[], from: string, group: string, peers: Peers): { to: string | undefined; why: string } {
  const i = systemList.indexOf(from);
  const order = i < 0 ? [...systemList] : [...systemList.slice(i + 1), ...systemList.slice(0, i)];
  const skipped: string[] = [];
  for (const n of order) {
    if (n === from) continue;
    const refusal = targetProblem(n, group, peers);
    if (refusal) { skipped.push(`${n}: ${refusal}`); continue; }
    return { to: n, why: `next node of systemList${skipped.length ? ` (skipped ${skipped.join('; ')})` : ''}` };
  }
  return { to: undefined, why: order.length ? `no other node can take ${group} (${skipped.join('; ')})` : `${group} has no other node in its systemList` };
}

function targetProblem(node: string, group: string, peers: Peers): string | undefined {
  const p = peers.get(node);
  if (p?.alive === false) return 'looks down (its published view stopped changing)';
  const g = groupIn(p?.view, group);
  if (g?.faulted) return `${group} is FAULTED there (clear it first: msgha clear ${group})`;
  if (g && g.frozen && !g.frozenPersistent) return `${group} is frozen there`;
  const link = linkDown(p?.view, group);
  if (link) return `its link ${link.device} is down (${link.reason}, since ${link.since}); it is a target again once the link is up`;
  return undefined;
}

/** A link resource of the group that the node's view says is down (not-yet-checked links are not held against it). */
export function linkDown(view: NodeView | undefined, group: string): LinkView | undefined {
  return view?.links?.find((l) => l.group === group && l.up === false);
}

/** Refusal of a switch of `group` (held by `holder`) to `target`, or undefined when allowed. */
export function checkSwitchTarget(group: string, systemList: readonly string[], holder: string, target: string, peers: Peers): string | undefined {
  if (!systemList.includes(target)) return `node ${target} is not in the systemList of ${group} (${systemList.join(', ')})`;
  if (target === holder) return `${group} already runs on ${target}`;
  const problem = targetProblem(target, group, peers);
  return problem ? `node ${target}: ${problem}` : undefined;
}

/**
 * Extra wait before this node claims a group that nobody hands to it (start-up, or the holder
 * died): `staggerMs` per eligible node ahead of it in systemList (the previous holder left out),
 * and at least `unjudgedMs` while a node ahead has not been judged alive or down yet — so the
 * group starts on its first available node instead of on whichever node polled first. Eligible:
 * not judged down, not FAULTED for the group, not frozen there, and contending per its view.
 */
export function claimDelay(systemList: readonly string[], me: string, previousHolder: string, group: string, peers: Peers, staggerMs: number, unjudgedMs = 0): number {
  let rank = 0;
  let unjudged = false;
  for (const n of systemList) {
    if (n === me) break;
    if (n === previousHolder) continue;
    const p = peers.get(n);
    if (!p || p.alive === false) continue;
    const g = groupIn(p.view, group);
    if (g && (g.faulted || (g.frozen && !g.frozenPersistent) || !g.contending)) continue;
    if (linkDown(p.view, group)) continue;
    if (p.alive === undefined) unjudged = true;
    rank += 1;
  }
  return Math.max(rank * staggerMs, unjudged ? unjudgedMs : 0);
}

export interface DependencyGate {
  /** Every dependency holds: the group may contend for its lease. */
  ok: boolean;
  /** Dependencies that do not hold, e.g. "dir (online-global-soft)". */
  waitingFor: string[];
  /** Those among them (firm/hard) that take a running child offline. */
  stopFor: string[];
}

export function dependencyGate(
  deps: readonly GroupDependency[], localState: (group: string) => GroupState | undefined, peers: Peers,
): DependencyGate {
  const waitingFor: string[] = [];
  const stopFor: string[] = [];
  for (const d of deps) {
    const local = d.kind.startsWith('online-local');
    let holds = up(localState(d.group));
    if (!holds && !local) {
      for (const p of peers.values()) {
        if (p.alive === true && up(groupIn(p.view, d.group)?.state)) { holds = true; break; }
      }
    }
    if (holds) continue;
    const label = `${d.group} (${d.kind})`;
    waitingFor.push(label);
    if (!d.kind.endsWith('soft')) stopFor.push(label);
  }
  return { ok: waitingFor.length === 0, waitingFor, stopFor };
}

/**
 * Parents that must move with a group that faulted here: its online-local-hard parents that
 * this node holds (`heldHere`).
 */
export function parentsToMove(deps: readonly GroupDependency[], heldHere: (group: string) => boolean): string[] {
  return deps.filter((d) => d.kind === 'online-local-hard' && heldHere(d.group)).map((d) => d.group);
}
