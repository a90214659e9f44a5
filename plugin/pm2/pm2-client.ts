/**
 * Promise wrappers around the PM2 API, with the gaps of its TypeScript types filled in
 * (treekill, pmx, filter_env and namespace on start; the bus; trigger results). One instance per
 * process; connect() reaches the daemon of $PM2_HOME (PM2 sets it in every app's environment)
 * and never starts one.
 */
import * as net from 'node:net';
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

/** What connect() throws when no daemon listens in PM2_HOME: the CLI says it plainly (one exit code). */
export class NoPm2DaemonError extends Error {
  readonly code = 'MSGHA_NO_PM2_DAEMON';
  constructor(readonly pm2Home: string) {
    super(`no PM2 daemon runs on this node (PM2_HOME=${pm2Home})`);
  }
}

/** The parts of PM2's API object that connect() uses; its types do not declare them. */
interface Pm2Internals {
  pm2_home: string;
  Client: { rpc_socket_file: string; launchRPC(cb: (err?: Error | null) => void): void };
}
const internals = pm2 as unknown as Pm2Internals;

/** The PM2_HOME this process talks to (PM2 resolves it once, when it is loaded). */
export function pm2Home(): string {
  return internals.pm2_home;
}

/** Why a bound: a daemon that accepts but never answers must not hang an operator's shell. */
const CONNECT_TIMEOUT_MS = 10_000;

/** True when something accepts connections on the daemon's RPC socket. */
function daemonListens(socketFile: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(socketFile);
    const done = (alive: boolean): void => { sock.destroy(); resolve(alive); };
    sock.setTimeout(CONNECT_TIMEOUT_MS, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * Connects to the running daemon, or throws NoPm2DaemonError. Never pm2.connect(): with no
 * daemon it spawns one (in /root/.pm2 for an operator's `msgha status`), and
 * pm2.connect(true) runs a daemon inside this very process. The RPC client is opened directly,
 * so even a daemon that dies between the check and the connect cannot make PM2 start another.
 */
export async function connect(): Promise<void> {
  const socketFile = internals.Client.rpc_socket_file;
  if (!(await daemonListens(socketFile))) throw new NoPm2DaemonError(pm2Home());
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new NoPm2DaemonError(pm2Home())), CONNECT_TIMEOUT_MS);
    internals.Client.launchRPC((err) => {
      clearTimeout(timer);
      if (err) reject(new NoPm2DaemonError(pm2Home()));
      else resolve();
    });
  });
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

type Reply = BusPacket<{ return?: unknown; action_name?: string }>;
let replyBus: Promise<Bus> | undefined;
const replyWaiters = new Set<(p: Reply) => void>();

/** One bus for every trigger of this process, listening before the first command is sent. */
function repliesBus(): Promise<Bus> {
  replyBus ??= launchBus().then((bus) => {
    bus.on('axm:reply', (p: Reply) => { for (const w of [...replyWaiters]) w(p); });
    return bus;
  });
  return replyBus;
}

/**
 * Triggers an @pm2/io action; resolves with the reply of each process that received it. Not
 * pm2.trigger(): that opens a fresh bus per call and counts replies against the number of
 * receivers only once the daemon's answer to the send has come back — a reply that arrives
 * first (a quick action such as `clear` on a busy machine) is counted but never completes the
 * call, which then waits forever. Here the bus listens first and either order completes.
 */
export async function trigger(target: string, action: string, param?: unknown, signal?: AbortSignal): Promise<Array<{ name: string; pmId: number; value: unknown }>> {
  await repliesBus();
  return new Promise((resolve, reject) => {
    const got: Reply[] = [];
    let expected: number | undefined;
    const finish = (err?: Error): void => {
      replyWaiters.delete(waiter);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(got.map((r) => ({ name: r.process?.name ?? '', pmId: r.process?.pm_id ?? -1, value: r.data?.return })));
    };
    const check = (): void => { if (expected !== undefined && got.length >= expected) finish(); };
    const waiter = (p: Reply): void => {
      const pr = p.process;
      // The action's name too: two triggers in flight to one app must not take each other's reply.
      if (p.data?.action_name !== undefined && p.data.action_name !== action) return;
      if (pr && (pr.name === target || String(pr.pm_id) === target || pr.namespace === target)) { got.push(p); check(); }
    };
    const onAbort = (): void => finish(new Error(`${action} on ${target}: abandoned`));
    replyWaiters.add(waiter);
    signal?.addEventListener('abort', onAbort, { once: true });
    const cmd: Record<string, unknown> = { msg: action, ...(Number.isNaN(Number(target)) ? { name: target } : { id: Number(target) }) };
    if (param !== undefined && param !== null && param !== '') cmd.opts = param;
    (pm2 as unknown as { msgProcess(c: object, cb: (err: unknown, data?: { process_count?: number }) => void): void })
      .msgProcess(cmd, (err, data) => {
        if (err) { finish(err instanceof Error ? err : new Error(String(err))); return; }
        if (!data?.process_count) { finish(new Error(`no process named ${target} received ${action} (offline or unknown)`)); return; }
        expected = data.process_count;
        check();
      });
  });
}

/** trigger(), asked again when no reply came within `attemptMs` (only for idempotent actions). */
export async function triggerWithRetry(target: string, action: string, param: unknown, attemptMs: number, attempts: number): Promise<Array<{ name: string; pmId: number; value: unknown }>> {
  for (let i = 1; ; i += 1) {
    let timer: NodeJS.Timeout | undefined;
    const ctl = new AbortController();
    const late = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), attemptMs); });
    try {
      const rows = await Promise.race([trigger(target, action, param, ctl.signal), late]);
      if (rows) return rows;
    } finally {
      clearTimeout(timer);
      ctl.abort(); // an unanswered attempt stops listening
    }
    if (i >= attempts) throw new Error(`no reply to ${action} from ${target} after ${attempts} attempts`);
  }
}
