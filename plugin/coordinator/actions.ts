/**
 * `pm2 trigger <coordinator> <action> [param]` handlers, registered with @pm2/io (the app runs
 * with pmx:false so that our own @pm2/io is loaded rather than PM2's injected copy).
 *
 * Guarantees: every action replies exactly once, also on refusal or internal error (the pm2 CLI
 * waits for the reply); replies are JSON with `ok`, a one-line human `summary`, and details.
 * Handlers are plain `(reply)` / `(param, reply)` functions: @pm2/io decides by arity whether a
 * param is passed, so no default or rest parameters here.
 *
 * Actions (stable: the CLI and the cluster test harness use them):
 *   status · online <group> · offline <group> · switch <group>[:<node>] · freeze <group>[:persistent]
 *   · unfreeze <group> · clear <group>|<group>.<resource> · probe <group>.<resource> · evacuate
 *   · drill <group>
 * Reply: {ok, summary: "ok: …" | "refused/failed: …", reason, …details}.
 */
import type { Outcome } from './group-runner';
import type { StatusReply } from './status-reply';

export interface ActionTarget {
  status(): StatusReply;
  online(group: string): Promise<Outcome>;
  offline(group: string): Promise<Outcome>;
  clear(target: string): Promise<Outcome>;
  probe(resource: string): Promise<Outcome & { report?: unknown }>;
  switchGroup(param: string): Promise<Outcome>;
  freeze(param: string): Promise<Outcome>;
  unfreeze(group: string): Promise<Outcome>;
  evacuate(): Promise<Outcome>;
  drill(group: string): Promise<Outcome & { drill?: unknown }>;
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

function withParam(what: string, run: (p: string) => Promise<Outcome & { report?: unknown }>, note?: (param: string) => void) {
  return (param: unknown, reply: Reply): void => {
    const p = paramString(param);
    if (!p) { reply({ ok: false, summary: `refused: give ${what}`, reason: `missing parameter: ${what}` }); return; }
    note?.(p);
    run(p).then(
      (o) => reply({ ...o, summary: `${o.ok ? 'ok' : 'refused/failed'}: ${o.reason}` }),
      (err: unknown) => reply({ ok: false, summary: `error: ${String(err)}`, reason: String(err) }),
    );
  };
}

/** `log`: one line per operator request that changes something (who asked what, and when). */
export function registerActions(io: PmxLike, target: () => ActionTarget | { error: string }, log?: (line: string) => void): void {
  const said = (verb: string) => (p: string): void => log?.(`operator request: ${verb} ${p}`);
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
  io.action('online', withParam('a group name', guard((t, g) => t.online(g)), said('online')));
  io.action('offline', withParam('a group name', guard((t, g) => t.offline(g)), said('offline')));
  io.action('clear', withParam('<group> or <group>.<resource>', guard((t, x) => t.clear(x)), said('clear')));
  io.action('probe', withParam('<group>.<resource>', guard((t, r) => t.probe(r))));
  io.action('switch', withParam('<group>[:<node>]', guard((t, x) => t.switchGroup(x)), said('switch')));
  io.action('freeze', withParam('<group>[:persistent]', guard((t, x) => t.freeze(x)), said('freeze')));
  io.action('unfreeze', withParam('a group name', guard((t, g) => t.unfreeze(g)), said('unfreeze')));
  io.action('drill', withParam('a group name', guard((t, g) => t.drill(g)), said('drill')));
  io.action('evacuate', (reply: Reply) => {
    const t = target();
    if ('error' in t) { reply({ ok: false, summary: `refused/failed: ${t.error}`, reason: t.error }); return; }
    log?.('operator request: evacuate');
    t.evacuate().then(
      (o) => reply({ ...o, summary: `${o.ok ? 'ok' : 'refused/failed'}: ${o.reason}` }),
      (err: unknown) => reply({ ok: false, summary: `error: ${String(err)}`, reason: String(err) }),
    );
  });
}
