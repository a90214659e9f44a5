/**
 * Resources whose kernel state must end with the lease (today the IP type: the address's
 * lifetime), as the lease holder drives them. The type's own file (resource-types/ip.ts) is the
 * only code that touches the address; the lease only says when (every renewal, and once after a
 * coordinator restart resumed the lease), through the type's leaseRenewed / leaseResumed.
 */
import type { ResolvedResource } from '../model/cluster-types';
import type { Logger } from '../core/log';
import { nodeName } from '../core/node-name';
import type { ActionResult } from '../core/results';
import { getResourceType } from '../resource-types';
import type { AgentContext, ResourceType } from '../resource-types/contract';

export interface LeaseBound {
  /** True when the resource's type follows the lease (has leaseRenewed). */
  follows(resource: ResolvedResource): boolean;
  /** Extend to the serve deadline `serveUntilMono` (CLOCK_MONOTONIC ms); never creates. */
  renewed(resource: ResolvedResource, serveUntilMono: number): Promise<void>;
  /** Put back what lapsed while no coordinator renewed. */
  resumed(resource: ResolvedResource): Promise<void>;
}

const contextOf = (res: ResolvedResource, log: Logger, what: string): AgentContext =>
  ({ resource: res, attrs: res.attrs, log: log.child(`${res.id} ${what}`), signal: new AbortController().signal, secret: async () => undefined, node: nodeName() });

/** The lease-bound hooks of the real resource types. */
export function leaseBoundTypes(log: Logger): LeaseBound {
  const typeOf = (res: ResolvedResource): ResourceType | undefined => getResourceType(res.type);
  const run = async (res: ResolvedResource, what: string, fn: (t: ResourceType, ctx: AgentContext) => Promise<ActionResult> | undefined): Promise<ActionResult | undefined> => {
    const t = typeOf(res);
    return t ? fn(t, contextOf(res, log, what)) : undefined;
  };
  return {
    follows: (res) => !!typeOf(res)?.leaseRenewed,
    async renewed(res, serveUntilMono) {
      const r = await run(res, 'lifetime', (t, ctx) => t.leaseRenewed?.(ctx, serveUntilMono));
      if (r && !r.ok) log.warn(`${res.id}: cannot follow the lease renewal: ${r.reason}`);
    },
    async resumed(res) {
      const r = await run(res, 'resume', (t, ctx) => t.leaseResumed?.(ctx));
      if (r && !r.ok) log.warn(`${res.id}: could not put it back after the coordinator restart: ${r.reason}`);
      else if (r && / added to /.test(r.reason)) log.warn(`${res.id}: it had lapsed during the coordinator restart: ${r.reason}`);
    },
  };
}
