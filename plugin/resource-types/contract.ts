/**
 * The contract every resource type implements, and the context its four functions receive.
 * One file per type in this folder declares the whole type with defineType(): its name and
 * summary (what `msgha explain` lists), its attributes, the validation rules that tie them
 * together, and online/offline/monitor/clean. index.ts is the list of types.
 */
import type { ResolvedResource } from '../model/cluster-types';
import { GENERIC_ATTRIBUTES, numberAttr, type AttrDecl, type AttrName, type GenericAttributes, type TypeDescriptor } from '../model/attributes';
import type { Logger } from '../core/log';
import type { ActionResult, MonitorResult } from '../core/results';
import type { ProbePolicy } from '../../probes/registry';
import type { PlannedProbe } from './deep-probes';

export type AgentFunction = 'online' | 'offline' | 'monitor' | 'clean';

export interface AgentContext {
  resource: ResolvedResource;
  /** Shorthand for resource.attrs with defaults applied. */
  attrs: Record<string, unknown>;
  log: Logger;
  /** Aborted when the function's timeout passes or the agent is told to stop. */
  signal: AbortSignal;
  /** Decrypts a secret attribute (enc:v2:… or enc:v1:…) at the moment of use; undefined when unset. */
  secret(attribute: string): Promise<string | undefined>;
  /** This node's name in the cluster (MSGHA_NODE, else the host name: core/node-name.ts). */
  node: string;
}

export interface MonitorOptions {
  /** True when SecondLevelMonitor says this cycle is a deep one. */
  deep: boolean;
}

/** The four functions of a resource type, as the agent runs them. */
export interface ResourceType {
  name: string;
  online(ctx: AgentContext): Promise<ActionResult>;
  offline(ctx: AgentContext): Promise<ActionResult>;
  monitor(ctx: AgentContext, options: MonitorOptions): Promise<MonitorResult>;
  clean(ctx: AgentContext): Promise<ActionResult>;
  /**
   * Only for a type whose kernel state must end with the lease (IP: the address's lifetime).
   * The lease holder calls it on its renewals with the new serve deadline (CLOCK_MONOTONIC ms),
   * for each ONLINE resource of the type. It may extend what exists, never create it.
   */
  leaseRenewed?(ctx: AgentContext, serveUntilMono: number): Promise<ActionResult>;
  /**
   * After a coordinator restart resumed a held lease: put back at once what lapsed while no
   * coordinator renewed (the IP's address, after its duplicate check).
   */
  leaseResumed?(ctx: AgentContext): Promise<ActionResult>;
  /**
   * A fact of the node rather than something that runs (NIC: the link): online, offline and
   * clean change nothing, and finding it ONLINE on a node that does not hold its group is never
   * a concurrency violation — the agent runs no offline monitor for it. The coordinator's link
   * watch judges it on every node (docs/network.md).
   */
  persistent?: true;
  /**
   * For a type whose state changes without a process exiting (NIC: the carrier): calls
   * `changed` whenever it may have, while the resource's target is online; the agent then
   * monitors at once, as after a process exit. Best effort: a watch that fails only costs time.
   */
  watchChanges?(resource: ResolvedResource, changed: () => void, log: Logger): { close(): void };
  /**
   * The client services this resource offers, as probes through `host` (the group's VIP): what
   * the other nodes run as remote probes (docs/network.md). Built by the same code as the deep
   * check, with the same test account; no services (e.g. a store core): an empty plan.
   */
  clientProbes?(ctx: AgentContext, host: string): Promise<ClientProbes>;
}

/** What clientProbes returns: the plan and how its failures count, or why there is none (a secret that does not decrypt). */
export type ClientProbes = { plan: PlannedProbe[]; policy?: ProbePolicy; capMs?: number } | { problem: string };

/**
 * What a validation rule sees of one resource (config/type-rules.ts runs the rules). Only the
 * attributes the rule names: values that passed their kind check, defaults applied, so a wrong
 * value is reported once, by its kind checker, and not again by a rule.
 */
export interface RuleInput<N extends string = string> {
  attrs: Readonly<Record<N, unknown>>;
  /** Which of them the user wrote (defaults not included). */
  given: { has(attribute: N): boolean };
  error(attribute: N, message: string, hint?: string): void;
  warn(attribute: N, message: string, hint?: string): void;
  /** "did you mean X?" for a misspelt name; with `list`, else the known names; else ''. */
  suggest(name: string, known: readonly string[], list?: boolean): string;
}

/** A rule that ties several attributes of one resource together. */
export interface TypeRule<N extends string = string> {
  /** Every attribute the rule reads or reports on: declared by the type or generic. */
  attributes: readonly N[];
  check(r: RuleInput<N>): void;
}

/** A rule over `attributes`: it can read and report on those only (checked when it compiles). */
export function rule<const N extends string>(attributes: readonly N[], check: (r: RuleInput<N>) => void): TypeRule<N> {
  return { attributes, check };
}

/** A resource type, whole: what validation, `msgha explain` and the agent all read. */
export interface ResourceTypeDefinition extends ResourceType, TypeDescriptor {
  rules: readonly TypeRule[];
}

type OwnNames<D extends readonly AttrDecl[]> = AttrName<[...D, ...GenericAttributes]>;

/** Generic numeric attributes whose plain default a type may set for itself (not a derived one). */
type GenericNumber = Exclude<AttrName<GenericAttributes, 'int' | 'seconds'>, 'MonitorTimeout'>;
export type GenericDefaults = Partial<Record<GenericNumber, number>>;

/**
 * The generic declarations with this type's own defaults put in their place, so validation,
 * resolving, the readers and `msgha explain` all see them (a link is checked every second, not
 * every 10 s). A default outside its declaration's bounds is a bug in the type: it throws.
 */
function genericFor(type: string, overrides: GenericDefaults | undefined): readonly AttrDecl[] {
  if (!overrides) return GENERIC_ATTRIBUTES;
  return GENERIC_ATTRIBUTES.map((decl) => {
    const v = (overrides as Record<string, number | undefined>)[decl.name];
    if (v === undefined) return decl;
    if (decl.derivedDefault || !Number.isInteger(v) || v < (decl.min ?? -Infinity) || v > (decl.max ?? Infinity)) {
      throw new Error(`resource type ${type}: generic default ${decl.name} = ${v} is not a plain default within the declaration's bounds`);
    }
    return { ...decl, default: v };
  });
}

/**
 * Declares a type. `attributes` are the type's own (the generic ones are added here, with
 * `genericDefaults` replacing their defaults); with them written `as const`, a rule naming an
 * attribute that is not declared does not compile.
 */
export function defineType<const D extends readonly AttrDecl[]>(def: Omit<ResourceTypeDefinition, 'attributes' | 'rules'> & {
  attributes: D;
  rules?: readonly TypeRule<OwnNames<D>>[];
  genericDefaults?: GenericDefaults;
}): ResourceTypeDefinition {
  const { genericDefaults, ...rest } = def;
  return { ...rest, attributes: [...def.attributes, ...genericFor(def.name, genericDefaults)], rules: def.rules ?? [] };
}

/** A well-behaved function returns within a few ms of its abort; this bounds a badly behaved one. */
export const SETTLE_GRACE_MS = 2000;

export const TIMEOUT_ATTR = {
  online: 'OnlineTimeout', offline: 'OfflineTimeout', monitor: 'MonitorTimeout', clean: 'CleanTimeout',
} as const satisfies Record<AgentFunction, string>;

/** How long `fn` of this resource may run, in seconds: its attribute, else the declared default. */
export function timeoutSeconds(resource: ResolvedResource, fn: AgentFunction): number {
  return numberAttr(resource.attrs, TIMEOUT_ATTR[fn]);
}
