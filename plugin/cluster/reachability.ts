/**
 * Is the group the holder serves unreachable from the network? The holder's rule over the remote
 * probes its standbys publish (node-view.ts `remote`, `links`, `reach`): pure, so the table test
 * covers it without a network (test/unit/cluster/reachability.test.ts). docs/network.md says the
 * same in words.
 *
 * Unreachable — the group leaves this node — only when ALL of:
 *   1. the holder's own checks pass (the group is ONLINE here): a local failure has its own path;
 *   2. at least one standby is alive (its view is fresh);
 *   3. every live standby probed this holder at this epoch, and on every service its last
 *      `failuresNeeded` cycles failed in a way that counts (ProbeFailurePolicy): one standby
 *      that reaches one service vetoes;
 *   4. at least one live standby is a witness: its own link to the client network is up AND
 *      verified — a ping host (the gateway, or PingHosts) answered its last check. A standby
 *      with a dead or unverified link proves nothing about the holder;
 *   5. the witnesses reach each other (each one's last ping of the other's address answered).
 * Then the group goes to a witness (the first after the holder in systemList). A standby cut
 * off with its own port, or a partition that leaves standbys on an island without the client
 * network (their ping hosts silent), can therefore never pull the group away; in a two-node
 * cluster the one standby must verify its link through a ping host to count.
 */
import type { LinkView, NodeView } from './node-view';

export interface StandbyFacts {
  node: string;
  /** PeerTracker's judgement: true alive, false silent, undefined not judged yet. */
  alive: boolean | undefined;
  view: NodeView | undefined;
}

export interface ReachabilityInput {
  group: string;
  holder: string;
  epoch: number;
  systemList: readonly string[];
  /** The group is ONLINE here and no resource of it is failing. */
  localOk: boolean;
  /** Consecutive counted failures each service needs (cluster.remoteProbes.failures). */
  failuresNeeded: number;
  /** The device the group's VIP is on: a witness's link on that device must be up and verified. */
  vipDevice: string | undefined;
  standbys: readonly StandbyFacts[];
}

export type Reachability =
  | { unreachable: false; why: string }
  | { unreachable: true; why: string; witnesses: string[]; to: string };

const no = (why: string): Reachability => ({ unreachable: false, why });

/** The standby's own link on `device` (any NIC of the group on it; without a device: any of the group). */
function linkOf(view: NodeView, group: string, device: string | undefined): LinkView | undefined {
  const links = (view.links ?? []).filter((l) => l.group === group && (device === undefined || l.device === device));
  return links.find((l) => l.up !== true || !l.verified) ?? links[0];
}

export function judgeReachability(i: ReachabilityInput): Reachability {
  if (!i.localOk) return no('local checks decide (the group is not healthy here)');
  const live = i.standbys.filter((s) => s.alive === true && s.view);
  if (live.length === 0) return no('no live standby to ask');
  const failing: string[] = [];
  for (const s of live) {
    const r = s.view!.remote?.find((x) => x.group === i.group);
    if (!r || r.holder !== i.holder || r.epoch !== i.epoch) return no(`${s.node} has not probed ${i.group} on ${i.holder} (epoch ${i.epoch}) yet`);
    if (r.services.length === 0) return no(`${s.node} has no client service of ${i.group} to probe`);
    const reached = r.services.find((x) => x.ok);
    if (reached) return no(`reachable from ${s.node} (${reached.service})`);
    const short = r.services.find((x) => x.failures < i.failuresNeeded);
    if (short) return no(`${s.node}: ${short.service} failed ${short.failures} of ${i.failuresNeeded} cycles needed`);
    failing.push(s.node);
  }
  const witnesses: string[] = [];
  const refused: string[] = [];
  for (const s of live) {
    const link = linkOf(s.view!, i.group, i.vipDevice);
    if (!link) refused.push(`${s.node}: no link resource of ${i.group}`);
    else if (link.up !== true) refused.push(`${s.node}: its link ${link.device} is down`);
    else if (!link.verified) refused.push(`${s.node}: its link ${link.device} is not verified by a ping host`);
    else witnesses.push(s.node);
  }
  if (witnesses.length === 0) return no(`every live standby fails to reach ${i.group}, but none proves it reaches the client network (${refused.join('; ')})`);
  for (const a of witnesses) {
    for (const b of witnesses) {
      if (a !== b && live.find((s) => s.node === a)!.view!.reach?.[b] !== true) return no(`witnesses ${a} and ${b} do not reach each other`);
    }
  }
  const k = i.systemList.indexOf(i.holder);
  const order = k < 0 ? [...i.systemList] : [...i.systemList.slice(k + 1), ...i.systemList.slice(0, k)];
  const to = order.find((n) => witnesses.includes(n)) ?? witnesses[0]!;
  return {
    unreachable: true, witnesses, to,
    why: `serving locally, unreachable from the network: ${failing.join(', ')} failed to reach every service of ${i.group} through its VIP for ${i.failuresNeeded} cycles (witnesses with a verified link: ${witnesses.join(', ')})`,
  };
}
