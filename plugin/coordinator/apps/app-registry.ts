/**
 * The agent apps of this node: how each is registered with PM2 (`<group>:<resource>`, namespace
 * the group), which pm_id and pid it has now, whether its agent runs (said hello, not exited),
 * starting and retiring it, and request/reply with it over the bus.
 *
 * Guarantees: every request resolves (never rejects, never hangs): with the agent's reply, or
 * with a failure when the agent exits, cannot be reached, or does not answer in time. Bus events
 * are hints; `refresh()` (called by the reconcile timer) re-reads the truth from pm2.list(). One
 * start and one retire per app at a time: a start waits for a retire in progress to end.
 */
import * as path from 'node:path';
import type { ResolvedResource } from '../../model/cluster-types';
import type { Logger } from '../../core/log';
import * as client from '../../pm2/pm2-client';
import type { AppInfo, AppOptions } from '../../pm2/pm2-client';
import { RETIRED_EXIT_CODE, TOPIC, type AgentCommand, type AgentReport } from '../../pm2/protocol';
import { timeoutSeconds } from '../../resource-types/contract';

/** What the group runner needs from the agents (agent-router.ts routes them). */
export interface AgentPort {
  request(resourceId: string, command: AgentRequest, timeoutMs: number): Promise<AgentReport>;
  /** Start these resources' apps now, in parallel, without waiting (a group about to start). */
  prepare?(resourceIds: readonly string[]): void;
  /** This resource's app is not needed here now: let it end (PM2 shows it stopped). */
  retire?(resourceId: string, why: string): void;
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
export type AgentRequest = DistributiveOmit<AgentCommand, 'reqId'>;

/** The PM2 app of a resource: `mail.imap` → `mail:imap` (PM2 reads a dotted name as a file). */
export function appNameOf(resourceId: string): string {
  return resourceId.replace('.', ':');
}

/** The resource of a PM2 app name, or the id itself (`mail:imap` or `mail.imap` → `mail.imap`). */
export function resourceIdOf(name: string): string {
  return name.replace(':', '.');
}

/** Agent app restarts PM2 may do in a row before it gives up (status 'errored'). */
const AGENT_MAX_RESTARTS = 10;
/** An agent that lived this long is "stable" and its crash counter restarts. */
const AGENT_MIN_UPTIME_MS = 5000;
/** How long a freshly started agent may take to load its code and say hello. */
export const HELLO_TIMEOUT_MS = 30_000;
/** Environment variables passed through to agents (everything else is filtered out). */
const PASSED_ENV = ['PATH', 'HOME', 'LANG', 'TZ', 'MSGHA_KEY_FILE'];

export function agentScript(): string {
  // dist/plugin/coordinator/apps → dist/plugin/agent/agent-app.js (also inside an installed module).
  return path.resolve(__dirname, '..', '..', 'agent', 'agent-app.js');
}

/**
 * `extraEnv`: set by a multi-node coordinator — MSGHA_LEASE=1 and MSGHA_RUN_DIR (where the agent
 * reads its group's guard file: epoch and serve deadline).
 */
export function agentAppOptions(resource: ResolvedResource, clusterFile: string, node: string, extraEnv: Readonly<Record<string, string>> = {}): AppOptions {
  const env: Record<string, string> = {};
  for (const k of PASSED_ENV) if (process.env[k]) env[k] = process.env[k] as string;
  if (!env.PATH) env.PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  Object.assign(env, extraEnv, { MSGHA_CLUSTER_FILE: clusterFile, MSGHA_RESOURCE: resource.id, MSGHA_NODE: node, MSGHA_PID_WATCH: 'coordinator' });
  const stopBudgetMs = (timeoutSeconds(resource, 'offline') + timeoutSeconds(resource, 'clean')) * 1000 + 5000;
  return {
    name: appNameOf(resource.id),
    namespace: resource.group,
    script: agentScript(),
    // An agent idles most of its life (a node may run a hundred): V8's memory reducer would wake
    // it for a GC every few seconds long after its last allocation — measured: most of what
    // idle agents cost. Its heap is small; the collections that allocation triggers still run.
    node_args: ['--no-memory-reducer'],
    cwd: path.dirname(clusterFile),
    // treekill:false: PM2 must signal only the agent, which then stops its daemons itself (offline).
    treekill: false,
    pmx: false,
    autorestart: true,
    // A retired agent ends with this code: PM2 marks the app stopped instead of restarting it.
    stop_exit_codes: [RETIRED_EXIT_CODE],
    max_restarts: AGENT_MAX_RESTARTS,
    min_uptime: AGENT_MIN_UPTIME_MS,
    kill_timeout: stopBudgetMs,
    // Only the variables above: the coordinator's environment must not leak into agents. PM2
    // tests `filter_env.length`, so `true` does nothing; [''] drops every inherited key (each
    // contains ''). It matters beyond hygiene: inherited keys such as `namespace` and
    // `kill_timeout` (PM2 puts the coordinator's own app options in its env) would override ours.
    filter_env: [''],
    env,
  };
}

interface Pending {
  resourceId: string;
  resolve(report: AgentReport): void;
  timer: NodeJS.Timeout;
}

/** How long a retired agent may take to exit before a start goes ahead anyway. */
const RETIRE_EXIT_MS = 5000;

export class AppRegistry {
  /** By resource id (the bus names processes by app name: resourceIdOf). */
  private readonly pmIds = new Map<string, number>();
  /** Resources whose agent said hello and has not exited since. */
  private readonly up = new Set<string>();
  private readonly starting = new Map<string, Promise<boolean>>();
  private readonly retiring = new Map<string, Promise<void>>();
  private readonly exitWaiters = new Map<string, Array<() => void>>();
  private readonly helloAt = new Map<string, number>();
  private helloWaiters: Array<{ name: string; since: number; resolve(ok: boolean): void }> = [];
  private readonly pending = new Map<number, Pending>();
  private nextReqId = 1;

  /** `agentEnv`: read at each registration (multi-node mode adds its variables once it exists). */
  constructor(private readonly log: Logger, private readonly agentEnv: () => Readonly<Record<string, string>> = () => ({})) {}

  /** Record what pm2.list() says. */
  refresh(apps: AppInfo[]): void {
    for (const a of apps) {
      const id = resourceIdOf(a.name);
      if (a.pmId >= 0) this.pmIds.set(id, a.pmId);
      if (a.status !== 'online' && a.status !== 'launching' && !this.starting.has(id)) this.up.delete(id);
    }
  }

  /** True while the resource's agent runs (said hello, not exited, not retiring). */
  isUp(resourceId: string): boolean {
    return this.up.has(resourceId) && !this.retiring.has(resourceId);
  }

  /** A running agent answered the coordinator's state query at start-up (adoption). */
  adopted(resourceId: string): void {
    this.up.add(resourceId);
  }

  /** True while the coordinator itself is starting this app (its hello is expected). */
  isStarting(resourceId: string): boolean {
    return this.starting.has(resourceId);
  }

  /** The agent runs, or is started now (one start at a time; a retire in progress ends first). */
  ensureUp(resource: ResolvedResource, clusterFile: string, node: string): Promise<boolean> {
    if (this.isUp(resource.id)) return Promise.resolve(true);
    let start = this.starting.get(resource.id);
    if (!start) {
      start = (async () => {
        await this.retiring.get(resource.id);
        try { return await this.register(resource, clusterFile, node); } finally { this.starting.delete(resource.id); }
      })();
      this.starting.set(resource.id, start);
    }
    return start;
  }

  /** Ask the agent to end (see the 'retire' command); resolves once it exited or refused. */
  retire(resourceId: string, why: string): Promise<void> {
    if (!this.up.has(resourceId) || this.starting.has(resourceId)) return Promise.resolve();
    let done = this.retiring.get(resourceId);
    if (!done) {
      done = (async () => {
        const exited = this.waitExit(resourceId, RETIRE_EXIT_MS);
        const rep = await this.request(resourceId, { cmd: 'retire', why }, RETIRE_EXIT_MS);
        if (rep.ok) await exited;
        else this.log.info(`${appNameOf(resourceId)}: kept running (${rep.reason})`);
      })().finally(() => this.retiring.delete(resourceId));
      this.retiring.set(resourceId, done);
    }
    return done;
  }

  private waitExit(resourceId: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const list = this.exitWaiters.get(resourceId) ?? [];
      list.push(() => { clearTimeout(timer); resolve(); });
      this.exitWaiters.set(resourceId, list);
    });
  }

  /** Register (or re-register) the app of a resource and wait until its agent says hello. */
  async register(resource: ResolvedResource, clusterFile: string, node: string): Promise<boolean> {
    const since = Date.now();
    const hello = this.waitHello(resource.id, since, HELLO_TIMEOUT_MS);
    try {
      await client.start(agentAppOptions(resource, clusterFile, node, this.agentEnv()));
    } catch (err) {
      this.log.error(`cannot start agent app ${appNameOf(resource.id)}: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
    const ok = await hello;
    if (!ok) this.log.error(`agent app ${appNameOf(resource.id)} did not say hello within ${HELLO_TIMEOUT_MS / 1000}s`);
    return ok;
  }

  waitHello(name: string, since: number, timeoutMs: number): Promise<boolean> {
    if ((this.helloAt.get(name) ?? 0) >= since) return Promise.resolve(true);
    return new Promise((resolve) => {
      const entry = { name, since, resolve: (ok: boolean) => { clearTimeout(timer); resolve(ok); } };
      const timer = setTimeout(() => {
        this.helloWaiters = this.helloWaiters.filter((w) => w !== entry);
        resolve(false);
      }, timeoutMs);
      this.helloWaiters.push(entry);
    });
  }

  /** A state report arrived on the bus (hello included). */
  noteReport(report: AgentReport, pmId: number): void {
    this.pmIds.set(report.resource, pmId);
    if (report.fn === 'hello') {
      this.up.add(report.resource);
      const now = Date.now();
      this.helloAt.set(report.resource, now);
      const ready = this.helloWaiters.filter((w) => w.name === report.resource && w.since <= now);
      this.helloWaiters = this.helloWaiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.resolve(true);
    }
  }

  /** A reply arrived on the bus. */
  noteResult(report: AgentReport, pmId: number): void {
    this.pmIds.set(report.resource, pmId);
    if (report.reqId === undefined) return;
    const p = this.pending.get(report.reqId);
    if (!p) return;
    this.pending.delete(report.reqId);
    clearTimeout(p.timer);
    p.resolve(report);
  }

  /** The app exited (crash, stop, kill, retire): its outstanding requests fail now, not at their timeout. */
  noteExit(resourceId: string): void {
    this.up.delete(resourceId);
    for (const w of this.exitWaiters.get(resourceId) ?? []) w();
    this.exitWaiters.delete(resourceId);
    for (const [reqId, p] of this.pending) {
      if (p.resourceId !== resourceId) continue;
      this.pending.delete(reqId);
      clearTimeout(p.timer);
      p.resolve(failure(resourceId, 'agent app exited before replying'));
    }
  }

  async request(resourceId: string, command: AgentRequest, timeoutMs: number): Promise<AgentReport> {
    const reqId = this.nextReqId++;
    const pmId = this.pmIds.get(resourceId);
    if (pmId === undefined) return failure(resourceId, 'agent app is not registered with PM2');
    const answer = new Promise<AgentReport>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqId);
        resolve(failure(resourceId, `agent did not answer ${command.cmd} within ${Math.round(timeoutMs / 1000)}s`));
      }, timeoutMs);
      this.pending.set(reqId, { resourceId, resolve, timer });
    });
    try {
      await client.sendData(pmId, TOPIC, { ...command, reqId });
    } catch (err) {
      const p = this.pending.get(reqId);
      if (p) { clearTimeout(p.timer); this.pending.delete(reqId); }
      return failure(resourceId, `cannot reach the agent app: ${err instanceof Error ? err.message : String(err)}`);
    }
    return answer;
  }

  close(): void {
    for (const [, p] of this.pending) { clearTimeout(p.timer); p.resolve(failure(p.resourceId, 'coordinator stopping')); }
    this.pending.clear();
    for (const w of this.helloWaiters) w.resolve(false);
    this.helloWaiters = [];
  }
}

export function failure(resource: string, reason: string): AgentReport {
  return { resource, fn: 'state', ok: false, state: 'UNKNOWN', reason, recovery: 'restartable', pid: 0 };
}
