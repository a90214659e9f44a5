/**
 * The four functions of every type that is driven by start/stop programs: the lifecycle flows
 * and the layered monitor, fed by the type's LifecycleSpec. The monitor remembers the processes
 * it finds, for offline and clean (lifecycle.ts). A resource missing a required attribute (only
 * possible when it bypassed config loading) is a configuration problem: nothing is started,
 * and there is nothing to stop.
 */
import { cleanFlow, monitorRemembering, offlineFlow, onlineFlow, type LifecycleSpec } from './lifecycle';
import { runMonitor } from './monitor-levels';
import type { AgentContext, ResourceType } from './contract';

export function commandDriven(attr: { missing(ctx: AgentContext): string | undefined }, spec: (ctx: AgentContext) => LifecycleSpec): Omit<ResourceType, 'name'> {
  return {
    online: async (ctx) => {
      const missing = attr.missing(ctx);
      return missing ? { ok: false, recovery: 'configuration', reason: missing } : onlineFlow(ctx, spec(ctx));
    },
    offline: async (ctx) => {
      const missing = attr.missing(ctx);
      return missing ? { ok: true, reason: `${missing}: nothing to stop` } : offlineFlow(ctx, spec(ctx));
    },
    clean: async (ctx) => {
      const missing = attr.missing(ctx);
      return missing ? { ok: true, reason: `${missing}: nothing to clean` } : cleanFlow(ctx, spec(ctx));
    },
    monitor: async (ctx, options) => {
      const missing = attr.missing(ctx);
      if (missing) return { state: 'UNKNOWN', recovery: 'configuration', reason: missing };
      const s = spec(ctx);
      return monitorRemembering(ctx, () => runMonitor(ctx, options, { first: s.first, second: s.deep }));
    },
  };
}
