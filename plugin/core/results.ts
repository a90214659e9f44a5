/**
 * The contract between resource types, the agent runner and the coordinator.
 *
 * Results are values, never exceptions: every non-success carries one human sentence and a
 * recovery class, and the coordinator picks restart-here / move / wait-for-operator from the
 * class alone (never by matching the sentence).
 */
import type { Logger } from './log';

export type ResourceState = 'ONLINE' | 'OFFLINE' | 'UNKNOWN';

/**
 * restartable — a soft failure: clean and restart in place;
 * move        — this node cannot run it (missing binary, permission): fail the group over;
 * configuration — the configuration is wrong: stop and wait for the operator.
 */
export type RecoveryClass = 'restartable' | 'move' | 'configuration';


/** Timing of one phase of a check, in seconds (probes report these). */
export type Phases = Partial<Record<'connect' | 'tls' | 'greeting' | 'login' | 'command' | 'logout' | 'total', number>>;

export interface CheckReport {
  /** What was checked, e.g. 'imap:143', 'stored -tv', 'MonitorProgram'. */
  check: string;
  outcome: 'ok' | 'fail' | 'timeout';
  phases?: Phases;
  reason?: string;
  /**
   * Facts the probe found besides its verdict (from ProbeResult.details), e.g. `certExpirySeconds`
   * (seconds until the server certificate expires, negative when expired), `status`, `version`.
   * For metrics and status only; never a secret (probes put none there).
   */
  details?: Record<string, string | number>;
}

export interface MonitorResult {
  state: ResourceState;
  /** Why, in one sentence; for ONLINE a short summary is enough. */
  reason: string;
  /** For OFFLINE/UNKNOWN: what the coordinator should do about it. */
  recovery?: RecoveryClass;
  /** Which level decided: processes, deep protocol check, or the user's MonitorProgram. */
  level?: 'first' | 'second' | 'program';
  /** Pids of the instance's processes found by first-level monitoring (for instant exit watch). */
  pids?: number[];
  checks?: CheckReport[];
}

export interface ActionResult {
  ok: boolean;
  reason: string;
  recovery?: RecoveryClass;
}



/** How to recognise one process of an instance in /proc. */
export interface ProcessMatcher {
  /** Daemon name as it appears in the command line (argv[0] basename or any argument). */
  name: string;
  /** A string the whole command line must also contain (the instance root), if any. */
  root?: string;
  /** Pid file to try before scanning /proc. */
  pidFile?: string;
  /** Also accept a process whose cwd is under this directory (children that lose the root). */
  cwdUnder?: string;
  /**
   * 'name' (default): `name` is a daemon name (argv[0] basename, interpreted script, or path
   * component); 'substring': `name` is a string the joined command line must contain.
   */
  match?: 'name' | 'substring';
}
