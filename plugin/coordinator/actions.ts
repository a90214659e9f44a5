/**
 * `pm2 trigger <coordinator> <action> [param]` handlers, registered with @pm2/io (the app runs
 * with pmx:false so that our own @pm2/io is loaded rather than PM2's injected copy).
 *
 * Guarantees: every action replies exactly once, also on refusal or internal error (the pm2 CLI
 * waits for the reply); replies are JSON with `ok`, a one-line human `summary`, and details.
 * Handlers are plain `(reply)` / `(param, reply)` functions: @pm2/io decides by arity whether a
 * param is passed, so no default or rest parameters here.
 */
import type { Outcome } from './group-runner';
import type { StatusReply } from './coordinator';

export interface ActionTarget {
  status(): StatusReply;
  online(group: string): Promise<Outcome>;
  offline(group: string): Promise<Outcome>;
  clear(target: string): Promise<Outcome>;
  probe(resource: string): Promise<Outcome & { report?: unknown }>;
}

type Reply = (data: unknown) => void;

interface PmxLike {
  action(name: string, fn: (...args: never[]) => void): void;
}

/** The CLI always passes a string; the API may pass anything. */
function paramString(param: unknown): string {
  if (typeof param === 'string') return param.trim();
  if (param && typeof param === 'object' && 'name' in param) return String((param as { name: unknown }).name).trim();
  return '';
}

function withParam(what: string, run: (p: string) => Promise<Outcome & { report?: unknown }>) {
  return (param: unknown, reply: Reply): void => {
    const p = paramString(param);
    if (!p) { reply({ ok: false, summary: `refused: give ${what}`, reason: `missing parameter: ${what}` }); return; }
    run(p).then(
      (o) => reply({ ...o, summary: `${o.ok ? 'ok' : 'refused/failed'}: ${o.reason}` }),
      (err: unknown) => reply({ ok: false, summary: `error: ${String(err)}`, reason: String(err) }),
    );
  };
}

export function registerActions(io: PmxLike, target: () => ActionTarget | { error: string }): void {
  const guard = (run: (t: ActionTarget, p: string) => Promise<Outcome & { report?: unknown }>) =>
    async (p: string): Promise<Outcome & { report?: unknown }> => {
      const t = target();
      if ('error' in t) return { ok: false, reason: t.error };
      return run(t, p);
    };

  io.action('status', (reply: Reply) => {
    try {
      const t = target();
      if ('error' in t) { reply({ ok: false, error: t.error, summary: `not running: ${t.error}` }); return; }
      reply({ ok: true, ...t.status() });
    } catch (err) {
      reply({ ok: false, summary: `error: ${String(err)}`, error: String(err) });
    }
  });
  io.action('online', withParam('a group name', guard((t, g) => t.online(g))));
  io.action('offline', withParam('a group name', guard((t, g) => t.offline(g))));
  io.action('clear', withParam('<group> or <group>.<resource>', guard((t, x) => t.clear(x))));
  io.action('probe', withParam('<group>.<resource>', guard((t, r) => t.probe(r))));
}
