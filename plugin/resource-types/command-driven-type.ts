/**
 * The shape shared by every type that is driven by start/stop programs: the four functions come
 * from the lifecycle flows and the layered monitor, fed by the type's LifecycleSpec. The monitor
 * remembers the processes it finds, for offline and clean (lifecycle.ts).
 */
import { cleanFlow, monitorRemembering, offlineFlow, onlineFlow, type LifecycleSpec } from './lifecycle';
import { runMonitor } from './monitor-levels';
import type { AgentContext, ResourceType } from './contract';

export function commandDrivenType(name: string, spec: (ctx: AgentContext) => LifecycleSpec): ResourceType {
  return {
    name,
    online: (ctx) => onlineFlow(ctx, spec(ctx)),
    offline: (ctx) => offlineFlow(ctx, spec(ctx)),
    clean: (ctx) => cleanFlow(ctx, spec(ctx)),
    monitor: (ctx, options) => {
      const s = spec(ctx);
      return monitorRemembering(ctx, () => runMonitor(ctx, options, { first: s.first, second: s.deep }));
    },
  };
}
