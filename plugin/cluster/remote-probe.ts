/**
 * Remote probes of one group, run by a node that does not hold it (docs/network.md): the client
 * services of the group's resources probed through the group's VIP with the probes of their own
 * deep checks (each type's `clientProbes`), and the book of consecutive counted failures per
 * service that this node publishes in its view (`remote`, node-view.ts RemoteView).
 *
 * Guarantees: probeThroughVip never throws; every probe of a cycle starts at once and ends
 * within timeoutMs, or when o.signal aborts (a probe cut short is a timeout: callers abort at
 * the cycle's deadline, and one that aborts to stop does not record); a secret is decrypted at
 * the moment of use, in the resource's place (group, resource, attribute), and is never logged
 * or returned — a secret that does not decrypt is a problem naming the attribute that never
 * counts. A failure counts only under the resource's ProbeFailurePolicy ('any': every failure;
 * 'timeout-only': timeouts only) and never when the probe blames the configuration (test
 * credentials refused: the server answered through the VIP). The book ties counts to (holder,
 * epoch): a new holder or epoch starts again from zero, and a success resets its service.
 */
import type { ResolvedResource } from '../model/cluster-types';
import type { Phases } from '../core/results';
import type { Logger } from '../core/log';
import { nodeName } from '../core/node-name';
import { timeoutSignal } from '../core/deadline';
import { actsOn, type ProbePolicy } from '../../probes/registry';
import type { SecretResolver } from '../secrets';
import { getResourceType } from '../resource-types';
import type { AgentContext, ClientProbes } from '../resource-types/contract';
import { budgetClock, runProbesEach } from '../resource-types/deep-probes';
import type { NamedProbe } from '../resource-types/monitor-levels';
import { serviceOfCheck } from '../metrics/snapshot';
import type { RemoteServiceView, RemoteView } from './node-view';

/** A group to probe: its VIP and its resources (those without a `clientProbes` type are skipped). */
export interface RemoteTarget { group: string; vip: string; resources: ResolvedResource[] }

/** One client service's result in one remote cycle. */
export interface ServiceOutcome {
  /** The service's name, e.g. 'imap' (the resource's name for a resource that could not be probed). */
  service: string;
  /** As the local deep check names it, e.g. 'imap:143'. */
  check: string;
  ok: boolean;
  timeout: boolean;
  /** This failure counts under the resource's ProbeFailurePolicy (false when ok). */
  counts: boolean;
  reason: string;
  phases?: Phases;
}

export interface ProbeThroughVipOptions {
  /** The whole cycle's bound: every probe ends within it. */
  timeoutMs: number;
  signal: AbortSignal;
  log: Logger;
  /** Decrypts a secret attribute in its place (secrets/index.ts createSecretResolver). */
  resolveSecret: SecretResolver;
}

/** Runs one remote cycle of `target`: every client probe of every resource, in parallel. */
export async function probeThroughVip(target: RemoteTarget, o: ProbeThroughVipOptions): Promise<ServiceOutcome[]> {
  const remaining = budgetClock(o.timeoutMs);
  const done = new AbortController();
  const signal = timeoutSignal(o.timeoutMs, o.signal, done.signal);
  const log = o.log.child('remote-probe');
  try {
    const each = await Promise.all(target.resources.map((r) => probeResource(r, target.vip, remaining, signal, log, o.resolveSecret)));
    const outcomes = each.flat();
    log.trace(`${target.group} through ${target.vip}: ${outcomes.map((x) => `${x.check} ${x.ok ? 'ok' : x.timeout ? 'timed out' : 'failed'}`).join(', ') || 'no client service'}`);
    return outcomes;
  } finally {
    done.abort(); // ends the cycle's timer and its listener on o.signal
  }
}

async function probeResource(resource: ResolvedResource, vip: string, remaining: () => number, signal: AbortSignal,
  log: Logger, resolveSecret: SecretResolver): Promise<ServiceOutcome[]> {
  const type = getResourceType(resource.type);
  if (!type?.clientProbes) return [];
  // The context the agent builds (resource-types/function-runner.ts): secrets bound to this group, resource, attribute.
  const ctx: AgentContext = {
    resource,
    attrs: resource.attrs,
    log,
    signal,
    secret: (attribute) => resolveSecret(resource.attrs[attribute], { group: resource.group, resource: resource.name, attribute }),
    node: nodeName(),
  };
  let probes: ClientProbes;
  try {
    probes = await type.clientProbes(ctx, vip);
  } catch (err) {
    // A type must return values; an exception is a bug in it, reported like a problem.
    probes = { problem: `clientProbes of type ${resource.type} threw: ${err instanceof Error ? err.message : String(err)}` };
  }
  if ('problem' in probes) {
    return [{ service: resource.name, check: resource.name, ok: false, timeout: false, counts: false, reason: `resource ${resource.id}: ${probes.problem}` }];
  }
  const results = await runProbesEach(probes.plan, { budgetMs: remaining(), signal, capMs: probes.capMs, attrs: resource.attrs });
  return results.map((p) => outcomeOf(p, probes.policy ?? 'any'));
}

function outcomeOf(p: NamedProbe, policy: ProbePolicy): ServiceOutcome {
  const r = p.result;
  const ok = r.outcome === 'ok';
  return {
    service: serviceOfCheck(p.check),
    check: p.check,
    ok,
    timeout: r.outcome === 'timeout',
    counts: !ok && actsOn(r, policy) && !r.configurationError,
    reason: r.reason ?? (ok ? 'ok' : r.outcome),
    ...(Object.keys(r.phases).length > 0 ? { phases: r.phases } : {}),
  };
}

/**
 * This node's remote results, one RemoteView per group: cycles done and, per service (by its
 * check name), the consecutive cycles whose failure counted. A failure that does not count
 * (timeout-only: a refusal) breaks the run like a success does.
 */
export class RemoteProbeBook {
  private readonly byGroup = new Map<string, RemoteView>();

  /** One finished cycle of `group` (held by `holder` at `epoch`); returns the group's view. */
  record(group: string, holder: string, epoch: number, vip: string, outcomes: readonly ServiceOutcome[], wallIso: string): RemoteView {
    const before = this.byGroup.get(group);
    // Results about another holder, epoch or address are never carried over.
    const same = before && before.holder === holder && before.epoch === epoch && before.vip === vip ? before : undefined;
    const previous = new Map((same?.services ?? []).map((s) => [s.check, s.failures]));
    const services: RemoteServiceView[] = outcomes.map((x) => ({
      service: x.service,
      check: x.check,
      ok: x.ok,
      timeout: x.timeout,
      failures: x.counts ? (previous.get(x.check) ?? 0) + 1 : 0,
      reason: x.reason,
      ...(x.phases ? { phases: { ...x.phases } } : {}),
    }));
    const view: RemoteView = { group, holder, epoch, vip, cycles: (same?.cycles ?? 0) + 1, services, at: wallIso };
    this.byGroup.set(group, view);
    return copy(view);
  }

  /** Nothing is known of the group any more (not held elsewhere, not ONLINE, left the configuration). */
  forget(group: string): void {
    this.byGroup.delete(group);
  }

  get(group: string): RemoteView | undefined {
    const v = this.byGroup.get(group);
    return v ? copy(v) : undefined;
  }

  /** Every group's view, by group name (what the node view publishes as `remote`). */
  views(): RemoteView[] {
    return [...this.byGroup.values()].sort((a, b) => a.group.localeCompare(b.group)).map(copy);
  }
}

function copy(v: RemoteView): RemoteView {
  return { ...v, services: v.services.map((s) => ({ ...s, ...(s.phases ? { phases: { ...s.phases } } : {}) })) };
}
