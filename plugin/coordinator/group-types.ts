/**
 * The shapes of one service group on this node as the coordinator runs it: its states, what it
 * reports (status, events), what it needs (GroupRunnerDeps), and the record it keeps of each
 * resource (Runtime). group-runner.ts re-exports the public ones.
 */
import type { ResolvedResource } from '../model/cluster-types';
import type { Logger } from '../core/log';
import type { FailoverReason, FaultReason } from '../metrics/snapshot';
import type { RestartBudget } from '../recovery/restart-budget';
import type { AgentPort } from './apps/app-registry';

export type GroupState = 'OFFLINE' | 'STARTING' | 'ONLINE' | 'PARTIAL' | 'STOPPING' | 'FAULTED';
/** STOPPED: stopped through PM2 (`pm2 stop <app>`) behind the group's back. */
export type ResState = 'OFFLINE' | 'STARTING' | 'ONLINE' | 'STOPPING' | 'RESTARTING' | 'FAULTED' | 'UNKNOWN' | 'STOPPED';

export interface Transition { at: string; from: GroupState; to: GroupState; reason: string }

export interface ResourceStatus {
  id: string; name: string; type: string; state: ResState; reason: string; restarts: number;
  critical: boolean; since: string; violation?: string;
}

export interface GroupStatus {
  name: string; state: GroupState; reason: string; last?: Transition; resources: ResourceStatus[];
  /** No automatic action (local or persistent freeze). */
  frozen: boolean;
}

export interface Outcome { ok: boolean; reason: string }

/** What happened to the group, for the metrics (each call is one event; none may throw). */
export interface GroupEvents {
  restart(resource: ResolvedResource): void;
  fault(resource: ResolvedResource, reason: FaultReason): void;
  failover(reason: FailoverReason): void;
  violation(resource: ResolvedResource): void;
}

export interface GroupRunnerDeps {
  agents: AgentPort;
  events?: GroupEvents;
  log: Logger;
  /** Start the PM2 app of a resource again (after `pm2 stop`) and wait for its hello. */
  restartApp(resourceId: string): Promise<boolean>;
  now?: () => number;
  onChange?(group: string, from: GroupState, to: GroupState, reason: string): void;
  /** The group faulted on this node (critical resource beyond its budget): fail it over. Not awaited. */
  onFaulted?(reason: string): void;
  /** A resource's processes, as its agent reported them while ONLINE. */
  onPids?(resourceId: string, pids: number[]): void;
  /** Clean a resource found running here while the group does not run here (multi-node mode). */
  cleanViolations?: boolean;
  /**
   * One exit watch per node instead of one per agent (plugin/proc/pid-watch.ts): the processes
   * an ONLINE resource's agent reported are watched here, and the agent is told at once when one
   * exits (command 'exited'). Without it, each agent watches its own.
   */
  watchPids?(pids: number[], onExit: (pid: number) => void): { stop(): void };
}

/** What the group runner keeps about one resource. */
export interface Runtime {
  res: ResolvedResource;
  state: ResState;
  reason: string;
  restarts: number;
  budget: RestartBudget;
  critical: boolean;
  since: number;
  violation?: string;
  pids: number[];
  /** The coordinator's exit watch on `pids` (deps.watchPids), while ONLINE. */
  watch?: { stop(): void };
  /** Faulted while the group was frozen: looked at again on unfreeze. */
  faultedWhileFrozen?: boolean;
  /** Adopted after a coordinator restart: until then, one deep-check fault restarts for free. */
  adoptionGraceUntil?: number;
}
