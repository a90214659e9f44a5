/**
 * The contract every resource type implements (one file per type in this folder) and the
 * context its four functions receive.
 */
import type { ResolvedResource } from '../model/cluster-types';
import { numberAttr } from '../model/attributes';
import type { Logger } from '../core/log';
import type { ActionResult, MonitorResult } from '../core/results';

export type AgentFunction = 'online' | 'offline' | 'monitor' | 'clean';

export interface AgentContext {
  resource: ResolvedResource;
  /** Shorthand for resource.attrs with defaults applied. */
  attrs: Record<string, unknown>;
  log: Logger;
  /** Aborted when the function's timeout passes or the agent is told to stop. */
  signal: AbortSignal;
  /** Decrypts a secret attribute (enc:v1:…) at the moment of use; undefined when unset. */
  secret(attribute: string): Promise<string | undefined>;
}

export interface MonitorOptions {
  /** True when SecondLevelMonitor says this cycle is a deep one. */
  deep: boolean;
}

/**
 * What a resource type implements (one file per type in plugin/agents/). Its attributes are
 * declared in `<type>.attrs.ts` and listed in catalog.ts, so validation never loads agent code;
 * rules that tie several attributes together live in config/type-rules.ts.
 */
export interface ResourceType {
  name: string;
  online(ctx: AgentContext): Promise<ActionResult>;
  offline(ctx: AgentContext): Promise<ActionResult>;
  monitor(ctx: AgentContext, options: MonitorOptions): Promise<MonitorResult>;
  clean(ctx: AgentContext): Promise<ActionResult>;
}

/** A well-behaved function returns within a few ms of its abort; this bounds a badly behaved one. */
export const SETTLE_GRACE_MS = 2000;

export const TIMEOUT_ATTR: Record<AgentFunction, string> = {
  online: 'OnlineTimeout', offline: 'OfflineTimeout', monitor: 'MonitorTimeout', clean: 'CleanTimeout',
};

/** How long `fn` of this resource may run, in seconds: its attribute, else the declared default. */
export function timeoutSeconds(resource: ResolvedResource, fn: AgentFunction): number {
  return numberAttr(resource.attrs, TIMEOUT_ATTR[fn]);
}
