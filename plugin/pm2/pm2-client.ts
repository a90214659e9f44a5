/**
 * Promise wrappers around the PM2 API, with the gaps of its TypeScript types filled in
 * (treekill, pmx, filter_env and namespace on start; the bus; trigger results). One instance per
 * process; connect() reaches the daemon of $PM2_HOME (PM2 sets it in every app's environment).
 */
import pm2 from 'pm2';

/** Start options PM2 accepts at runtime but its types omit. */
export type AppOptions = pm2.StartOptions & {
  treekill?: boolean;
  pmx?: boolean;
  filter_env?: boolean | string | string[];
  namespace?: string;
  kill_timeout?: number;
  stop_exit_codes?: number[];
};

/** The subset of a pm2.list() entry that we read. */
export interface AppInfo {
  name: string;
  pmId: number;
  pid: number;
  status: string;
  namespace?: string;
  restartTime: number;
  env: Record<string, unknown>;
}

/** A bus packet: `process` names the app it came from. */
export interface BusPacket<T = unknown> {
  data: T;
  at?: number;
  process: { pm_id: number; name: string; namespace?: string };
}

export interface ProcessEventPacket {
  event: string;
  manually?: boolean;
  at?: number;
  process: { pm_id: number; name: string; status?: string; pid?: number; exit_code?: number; restart_time?: number; namespace?: string };
}

export interface Bus {
  on(event: string, handler: (packet: never) => void): void;
  off?(event: string, handler?: (...args: unknown[]) => void): void;
  close?(): void;
}

function cb<T>(resolve: (v: T) => void, reject: (e: Error) => void) {
  return (err: Error | null | undefined, value?: unknown): void => {
    if (err) reject(err instanceof Error ? err : new Error(String(err)));
    else resolve(value as T);
  };
}

export function connect(): Promise<void> {
  return new Promise((resolve, reject) => pm2.connect(cb(resolve, reject)));
}

/** Close the RPC client and the last bus this process opened. */
export function disconnect(): void {
  try { pm2.disconnect(); } catch { /* already gone */ }
}

export function start(options: AppOptions): Promise<void> {
  return new Promise((resolve, reject) => pm2.start(options as pm2.StartOptions, cb<void>(() => resolve(), reject)));
}

export function stop(nameOrId: string | number): Promise<void> {
  return new Promise((resolve, reject) => pm2.stop(nameOrId, cb<void>(() => resolve(), reject)));
}

export function remove(nameOrId: string | number): Promise<void> {
  return new Promise((resolve, reject) => pm2.delete(nameOrId, cb<void>(() => resolve(), reject)));
}

export async function list(): Promise<AppInfo[]> {
  const raw = await new Promise<pm2.ProcessDescription[]>((resolve, reject) => pm2.list(cb(resolve, reject)));
  return raw.map(toInfo);
}

function toInfo(p: pm2.ProcessDescription): AppInfo {
  const env = (p.pm2_env ?? {}) as Record<string, unknown>;
  return {
    name: p.name ?? '',
    pmId: p.pm_id ?? -1,
    pid: p.pid ?? 0,
    status: String(env.status ?? 'unknown'),
    namespace: typeof env.namespace === 'string' ? env.namespace : undefined,
    restartTime: Number(env.restart_time ?? 0),
    env: (env.env && typeof env.env === 'object' ? env.env : {}) as Record<string, unknown>,
  };
}

export function launchBus(): Promise<Bus> {
  return new Promise((resolve, reject) => pm2.launchBus(cb<Bus>(resolve, reject)));
}

/** Send a `process:msg` packet to one app; the app gets the whole packet on process.on('message'). */
export function sendData(pmId: number, topic: string, data: object): Promise<void> {
  const packet = { type: 'process:msg', topic, data };
  return new Promise((resolve, reject) => pm2.sendDataToProcessId(pmId, packet, cb<void>(() => resolve(), reject)));
}

/**
 * Trigger an @pm2/io action; resolves with the reply of each process that answered. PM2 opens a
 * fresh bus for each trigger and may send the command before that bus is subscribed, so under
 * load a prompt reply can be lost: callers of idempotent actions should use triggerWithRetry.
 */
export function trigger(target: string, action: string, param?: unknown): Promise<Array<{ name: string; pmId: number; value: unknown }>> {
  return new Promise((resolve, reject) => {
    pm2.trigger(target, action, param, (err: Error | null | undefined, res?: unknown) => {
      if (err) { reject(err instanceof Error ? err : new Error(String(err))); return; }
      const rows = Array.isArray(res) ? res as Array<{ process?: { name?: string; pm_id?: number }; data?: { return?: unknown } }> : [];
      resolve(rows.map((r) => ({ name: r.process?.name ?? '', pmId: r.process?.pm_id ?? -1, value: r.data?.return })));
    });
  });
}

/** trigger(), asked again when no reply came within `attemptMs` (only for idempotent actions). */
export async function triggerWithRetry(target: string, action: string, param: unknown, attemptMs: number, attempts: number): Promise<Array<{ name: string; pmId: number; value: unknown }>> {
  for (let i = 1; ; i += 1) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), attemptMs); });
    try {
      const rows = await Promise.race([trigger(target, action, param), late]);
      if (rows) return rows;
    } finally {
      clearTimeout(timer);
    }
    if (i >= attempts) throw new Error(`no reply to ${action} from ${target} after ${attempts} attempts`);
  }
}
