/**
 * Custom metrics for `pm2 show <app>`, `pm2 monit` and `pm2 jlist` (pm2_env.axm_monitor) without
 * loading @pm2/io: the PM2 daemon stores whatever an app sends as `{type:'axm:monitor', data}`
 * over its IPC channel (pm2 lib/Daemon.js merges `data` into axm_monitor), which is all that
 * @pm2/io's metrics do on the wire. Used by the agent apps, of which a node runs many.
 *
 * Why not @pm2/io in agents: it adds ~5 MB RSS to every agent, and its IPC transport calls
 * process.exit(1) as soon as a send fails on a closed channel — an agent must instead outlive
 * the death of the PM2 daemon and keep its resource as it is (agent-app.ts; docs/architecture.md).
 *
 * Guarantees: values are read once per interval; only numbers, strings and booleans are sent
 * (undefined hides a metric, as with @pm2/io); a message is sent only when a value changed, or
 * every `refreshMs` anyway; nothing is sent while the IPC channel is closed, and nothing here
 * ever exits the process or keeps it alive (the timer is unref'd). A metric that throws is
 * left out of that round.
 */
import type { Pm2IoLike } from '../metrics/pm2-io';

export interface AxmPublisherOptions {
  /** How often values are read (default 1000 ms, as @pm2/io). */
  intervalMs?: number;
  /** Resend unchanged values this often (default 60 s), in case the daemon lost them. */
  refreshMs?: number;
  /** Defaults to process.send while process.connected. */
  send?: (message: { type: 'axm:monitor'; data: Record<string, AxmValue> }) => void;
}

export interface AxmValue { value: number | string | boolean; unit?: string; type: string; historic: boolean }

export interface AxmPublisher extends Pm2IoLike {
  /** Read every metric now and send if anything changed (or `force`). */
  flush(force?: boolean): void;
  stop(): void;
}

interface Entry { name: string; unit?: string; value: () => unknown }

function defaultSend(message: { type: 'axm:monitor'; data: Record<string, AxmValue> }): void {
  if (typeof process.send !== 'function' || !process.connected) return;
  try { process.send(message); } catch { /* channel closed between the check and the send */ }
}

export function createAxmPublisher(options: AxmPublisherOptions = {}): AxmPublisher {
  const entries: Entry[] = [];
  const send = options.send ?? defaultSend;
  const refreshMs = options.refreshMs ?? 60_000;
  let last = '';
  let lastSentAt = 0;

  const flush = (force = false): void => {
    const data: Record<string, AxmValue> = {};
    for (const e of entries) {
      let v: unknown;
      try { v = e.value(); } catch { continue; }
      const ok = typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
      if (!ok) continue;
      data[e.name] = { value: v as AxmValue['value'], type: 'metric', historic: true, ...(e.unit ? { unit: e.unit } : {}) };
    }
    const text = JSON.stringify(data);
    const now = Date.now();
    if (!force && text === last && now - lastSentAt < refreshMs) return;
    if (text === '{}' && last === '') return;
    last = text;
    lastSentAt = now;
    send({ type: 'axm:monitor', data });
  };

  const timer = setInterval(() => flush(), options.intervalMs ?? 1000);
  timer.unref();

  return {
    metric(opts) {
      if (!opts.name || typeof opts.value !== 'function') return undefined;
      entries.push({ name: opts.name, unit: opts.unit, value: opts.value });
      return undefined;
    },
    flush,
    stop: () => clearInterval(timer),
  };
}
