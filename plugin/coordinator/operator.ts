/**
 * The operator's verbs on one node, behind one interface: `LocalOperator` (below) for a cluster
 * file without a shared directory, `ClusterOperator` (plugin/cluster/cluster-operator.ts) in
 * multi-node mode. The coordinator holds one of them and forwards every verb to it.
 *
 * Guarantees: every verb resolves with {ok, reason} — a refusal says why in one sentence and
 * what to do next; nothing here throws for an unknown group or a bad parameter.
 */
import type { DrillEnv, DrillResult } from './drill';
import { drillGroup, realDrillEnv } from './drill';
import { GroupRunner, type Outcome } from './group-runner';

export interface Operator {
  /** Bring the group online (one node) or contend for its lease here (multi-node). */
  online(group: string): Promise<Outcome>;
  offline(group: string): Promise<Outcome>;
  /** `<group>[:<node>]`: move the group to another node. */
  switchGroup(param: string): Promise<Outcome>;
  /** `<group>[:persistent]`: no automatic action on the group. */
  freeze(param: string): Promise<Outcome>;
  unfreeze(group: string): Promise<Outcome>;
  /** Switch every group held here away. */
  evacuate(): Promise<Outcome>;
  /** Check, on a node where the group does not run, that it could run here. */
  drill(group: string): Promise<Outcome & { drill?: DrillResult }>;
}

/** "no group 'x' on node n (groups here: …)": the one wording of a missing group. */
export function missingGroup(name: string, node: string, known: Iterable<string>): Outcome {
  return { ok: false, reason: `no group '${name}' on node ${node} (groups here: ${[...known].join(', ') || 'none'})` };
}

/** One node, no shared directory: the groups run here or nowhere. */
export class LocalOperator implements Operator {
  constructor(private readonly groups: ReadonlyMap<string, GroupRunner>, private readonly node: string,
    private readonly drillEnv: DrillEnv = realDrillEnv) {}

  private group(name: string): GroupRunner | Outcome {
    return this.groups.get(name) ?? missingGroup(name, this.node, this.groups.keys());
  }

  private oneNode(what: string): Outcome {
    return { ok: false, reason: `${what} needs multi-node mode: this cluster file has no cluster.sharedDir, so there is no other node` };
  }

  async online(name: string): Promise<Outcome> {
    const g = this.group(name);
    return g instanceof GroupRunner ? g.online('operator request (pm2 trigger online)') : g;
  }

  async offline(name: string): Promise<Outcome> {
    const g = this.group(name);
    return g instanceof GroupRunner ? g.offline('operator request (pm2 trigger offline)') : g;
  }

  async switchGroup(): Promise<Outcome> { return this.oneNode('switch'); }

  async evacuate(): Promise<Outcome> { return this.oneNode('evacuate'); }

  async freeze(param: string): Promise<Outcome> {
    const [name = '', mode = ''] = param.split(':');
    const g = this.group(name);
    if (!(g instanceof GroupRunner)) return g;
    if (mode) return mode === 'persistent' ? this.oneNode('a persistent freeze (stored in the shared directory)') : { ok: false, reason: `unknown freeze mode '${mode}'` };
    g.frozen = true;
    return { ok: true, reason: `group ${name} frozen on ${this.node} (until unfreeze or a coordinator restart): no automatic action` };
  }

  async unfreeze(name: string): Promise<Outcome> {
    const g = this.group(name);
    if (!(g instanceof GroupRunner)) return g;
    g.frozen = false;
    return { ok: true, reason: `group ${name} unfrozen: automatic actions resume` };
  }

  async drill(name: string): Promise<Outcome & { drill?: DrillResult }> {
    const g = this.group(name);
    if (!(g instanceof GroupRunner)) return g;
    if (g.state !== 'OFFLINE' && g.state !== 'FAULTED') return { ok: false, reason: `group ${name} is ${g.state} on ${this.node}: a drill checks a node where the group does not run` };
    const d = await drillGroup(g.group, this.node, this.drillEnv);
    return { ok: d.ok, reason: d.reason, drill: d };
  }
}
