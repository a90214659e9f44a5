/**
 * What multi-node mode adds to one node's group control, as the coordinator sees it. The
 * implementation is plugin/cluster/multi-node.ts; the coordinator never imports that room, so
 * local control reads the same whether or not a shared directory exists.
 */
import type { GroupSnapshot, LeaseSnapshot } from '../metrics/snapshot';
import type { GroupRunner, GroupRunnerDeps } from './group-runner';
import type { Operator } from './operator';
import type { StatusReply } from './status-reply';

export interface ClusterMode {
  /** Added to every agent app's environment (the lease guard files, for instance). */
  readonly agentEnv: Readonly<Record<string, string>>;
  /** The operator verbs of multi-node mode. */
  readonly operator: Operator;
  /** What this mode adds to the group runner of `group` (fault → failover, pids → fence). */
  runnerDeps(group: string): Pick<GroupRunnerDeps, 'cleanViolations' | 'onFaulted' | 'onPids'>;
  /** Before anything is registered with PM2 (profile check, fence); throws to refuse to start. */
  prepare(): Promise<void>;
  /** After the runners adopted running agents: groups come online here once their lease is won. */
  start(): Promise<void>;
  /** Decide again soon (after a clear, an operator action). */
  kick(): void;
  stop(): void;
  /** The local status with this mode's view of the cluster added. */
  status(local: StatusReply): StatusReply;
  leaseSnapshot(group: string): LeaseSnapshot | undefined;
  /** Links, remote probes and the reachability verdict of a group (memory only). */
  networkSnapshot(group: string): Pick<GroupSnapshot, 'links' | 'remoteProbes' | 'unreachableFromNetwork'>;
}

/** Built once the coordinator has made its group runners. */
export type ClusterModeFactory = (runners: ReadonlyMap<string, GroupRunner>) => ClusterMode;
