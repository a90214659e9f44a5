/**
 * The messages between the coordinator and its agent apps, over PM2's bus.
 *
 * Coordinator → agent: `pm2.sendDataToProcessId(pm_id, {type:'process:msg', topic:'msgha', data: AgentCommand})`,
 * received whole by the agent's `process.on('message')`. Agent → coordinator:
 * `process.send({type:'msgha:result'|'msgha:state', data})`, which PM2 re-emits on the bus under
 * that type (a packet with both `type` and `data`). Every command carries a `reqId`; the agent
 * answers each one exactly once with a `msgha:result` carrying it back.
 * Unsolicited `msgha:state` reports: fn 'hello' (agent started), 'monitor' (state change),
 * 'shutdown' (PM2 stop), 'pids' (process set changed), 'lapsed' (the lease's serve deadline
 * passed without renewal and the agent cleaned its resource by itself — docs/lease.md, "The layers
 * that stop a holder", layer 2). The command 'retire' ends an agent whose resource is offline
 * here (RETIRED_EXIT_CODE, which PM2 records as stopped).
 */
import type { CheckReport, RecoveryClass, ResourceState } from '../core/results';
import type { AgentFunction } from '../resource-types/contract';

export const TOPIC = 'msgha';
export const RESULT_EVENT = 'msgha:result';
export const STATE_EVENT = 'msgha:state';
/** One per agent function run, for metrics only: never a reply, never acted on. */
export const OBSERVE_EVENT = 'msgha:observed';

/** What the agent aims for: keep the resource online here, keep it off (standby), or nothing yet. */
export type AgentTarget = 'online' | 'offline' | 'none';

/**
 * The state an agent reports. FAULTED: monitoring found the resource down beyond ToleranceLimit
 * (or online failed) and the agent waits for the coordinator; STOPPING: shutting down on a signal.
 */
export type AgentState = ResourceState | 'FAULTED' | 'STOPPING';

export type AgentCommand =
  | { cmd: 'online' | 'offline' | 'clean'; reqId: number }
  | { cmd: 'monitor'; reqId: number; deep?: boolean }
  | { cmd: 'target'; reqId: number; target: 'online' | 'offline' }
  | { cmd: 'state'; reqId: number }
  /** The coordinator's pid watch saw one of the processes this agent reported exit. */
  | { cmd: 'exited'; reqId: number; pid: number }
  /**
   * The coordinator needs this app no longer (its resource is offline here): after the reply the
   * agent exits with RETIRED_EXIT_CODE, which PM2 records as `stopped` (stop_exit_codes). `why`
   * goes to the agent's own log (what `pm2 logs <app>` shows after a refused `pm2 start`).
   * Refused while the agent keeps its resource online or is running a function.
   */
  | { cmd: 'retire'; reqId: number; why: string };

/** The exit code of a retired agent: listed in the app's stop_exit_codes, so PM2 does not restart it. */
export const RETIRED_EXIT_CODE = 64;

/** An agent's answer to a retire it accepts (sent just before it exits). */
export function retiredReply(resource: string, reqId: number, state: AgentState, target?: AgentTarget): OutgoingMessage {
  return { type: RESULT_EVENT, data: { resource, pid: process.pid, fn: 'retire', reqId, ok: true, state, ...(target ? { target } : {}), reason: 'retired' } };
}

/** `fn` of a reply: an agent function, or the pseudo-functions of the protocol. */
export type ReplyFn = AgentFunction | 'target' | 'state' | 'exited' | 'retire' | 'hello' | 'shutdown' | 'disconnect' | 'pids' | 'lapsed';

export interface AgentReport {
  /** `<group>.<resource>` */
  resource: string;
  fn: ReplyFn;
  reqId?: number;
  /** For online/offline/clean/target: did it succeed. */
  ok?: boolean;
  /** For monitor and state reports: the resource's state. */
  state?: AgentState;
  target?: AgentTarget;
  reason: string;
  recovery?: RecoveryClass;
  durationMs?: number;
  checks?: CheckReport[];
  /** The agent process's pid: lets the coordinator tell a fresh agent from an old one. */
  pid: number;
  /** A standby found the resource running here. */
  violation?: boolean;
  /** Monitor cycles run since the target was last set (for status). */
  cycle?: number;
  /** For monitor results: the level that decided (first = processes, second = probes, program). */
  level?: 'first' | 'second' | 'program';
  /** The function did not finish within its timeout. */
  timedOut?: boolean;
  /**
   * fn 'pids': the resource's processes as first-level monitoring found them (sent when the set
   * changes while ONLINE), so the coordinator can hand them to the fence.
   */
  pids?: number[];
}

/**
 * What the agent tells the coordinator after every function it ran to the end (monitor loops
 * included, which send no reply): how long it took and what the checks found. Runs cut short by
 * a pre-emption or a stop are not observed: their duration and checks would mislead.
 */
export interface Observation {
  resource: string;
  fn: AgentFunction;
  durationMs: number;
  ok: boolean;
  state?: ResourceState;
  timedOut?: boolean;
  checks?: CheckReport[];
  pid: number;
}

/** Observations travel in batches (one message every few seconds per agent, not one per run). */
export interface ObservedMessage {
  type: typeof OBSERVE_EVENT;
  data: Observation[];
}

/** How often an agent sends its batch of observations. */
export const OBSERVE_FLUSH_MS = 5000;

export interface OutgoingMessage {
  type: typeof RESULT_EVENT | typeof STATE_EVENT;
  data: AgentReport;
}

/** Narrow an incoming IPC packet to a command of ours (anything else is ignored). */
export function parseCommand(packet: unknown): AgentCommand | undefined {
  if (!packet || typeof packet !== 'object') return undefined;
  const p = packet as { topic?: unknown; data?: unknown };
  if (p.topic !== TOPIC || !p.data || typeof p.data !== 'object') return undefined;
  const d = p.data as Record<string, unknown>;
  if (typeof d.reqId !== 'number') return undefined;
  switch (d.cmd) {
    case 'online': case 'offline': case 'clean': return { cmd: d.cmd, reqId: d.reqId };
    case 'monitor': return { cmd: 'monitor', reqId: d.reqId, deep: d.deep === true };
    case 'target':
      if (d.target !== 'online' && d.target !== 'offline') return undefined;
      return { cmd: 'target', reqId: d.reqId, target: d.target };
    case 'state': return { cmd: 'state', reqId: d.reqId };
    case 'exited':
      if (typeof d.pid !== 'number' || !Number.isInteger(d.pid)) return undefined;
      return { cmd: 'exited', reqId: d.reqId, pid: d.pid };
    case 'retire':
      return { cmd: 'retire', reqId: d.reqId, why: typeof d.why === 'string' ? d.why.slice(0, 500) : '' };
    default: return undefined;
  }
}
