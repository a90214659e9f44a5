/**
 * Resource type name → implementation of its four functions, loaded on first use.
 *
 * Guarantees: `getResourceType(name)` is synchronous and cheap — it returns a small stand-in
 * whose functions load the type's module at their first call and then delegate to it, so an
 * agent app holds only its own type's code (and, through it, only the probes it calls); IP and
 * Mount are real agents too (ip.ts, mount.ts), reading their lease through lease/hooks.ts. A
 * module that fails to load becomes a failed result (recovery 'move': this node cannot run the
 * code), never an exception. Validation uses catalog.ts, which loads no agent code at all.
 */
import type { ActionResult, MonitorResult } from '../core/results';
import type { AgentContext, MonitorOptions, ResourceType } from './contract';

/*
 * Dynamic import rather than require(): TypeScript compiles it to a require() for the CommonJS
 * build, and vitest can still follow it to the .ts source. Each loader is one literal path so
 * that the compiler checks it.
 */
const LOADERS: Readonly<Record<string, () => Promise<ResourceType>>> = {
  SunJESMsg: async () => (await import('./sunjes-msg')).SunJESMsg,
  SunJESAdm: async () => (await import('./sunjes-adm')).SunJESAdm,
  SunJESLDAP: async () => (await import('./sunjes-ldap')).SunJESLDAP,
  NetscapeMsg: async () => (await import('./netscape-msg')).NetscapeMsg,
  Application: async () => (await import('./application')).Application,
  IP: async () => (await import('./ip')).ipType,
  Mount: async () => (await import('./mount')).mountType,
};

function loadFailure(name: string, err: unknown): string {
  return `the code of resource type ${name} cannot be loaded: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
}

/** A stand-in for type `name` that loads the implementation at the first call of any function. */
function lazyType(name: string, load: () => Promise<ResourceType>): ResourceType {
  let loading: Promise<ResourceType> | undefined;
  const impl = (): Promise<ResourceType> => {
    loading ??= load().catch((err: unknown) => {
      loading = undefined; // a later call may try again (e.g. after the package was repaired)
      throw err;
    });
    return loading;
  };
  const action = (fn: 'online' | 'offline' | 'clean') => async (ctx: AgentContext): Promise<ActionResult> => {
    let t: ResourceType;
    try { t = await impl(); } catch (err) { return { ok: false, recovery: 'move', reason: loadFailure(name, err) }; }
    return t[fn](ctx);
  };
  return {
    name,
    online: action('online'),
    offline: action('offline'),
    clean: action('clean'),
    monitor: async (ctx: AgentContext, options: MonitorOptions): Promise<MonitorResult> => {
      let t: ResourceType;
      try { t = await impl(); } catch (err) { return { state: 'UNKNOWN', recovery: 'move', reason: loadFailure(name, err) }; }
      return t.monitor(ctx, options);
    },
  };
}

const TYPES: Readonly<Record<string, ResourceType>> = Object.fromEntries(
  Object.entries(LOADERS).map(([name, load]) => [name, lazyType(name, load)]),
);

export function getResourceType(name: string): ResourceType | undefined {
  return Object.prototype.hasOwnProperty.call(TYPES, name) ? TYPES[name] : undefined;
}

export const RESOURCE_TYPE_NAMES: readonly string[] = Object.keys(TYPES);
