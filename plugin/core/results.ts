/**
 * The contract between resource types, the agent runner and the coordinator.
 *
 * Results are values, never exceptions: every non-success carries one human sentence and a
 * recovery class; plugin/recovery/policy.ts picks restart here / fail over / wait for the
 * operator from the class and the typed fields alone, never by matching the sentence.
 */
import type { Logger } from './log';

export type ResourceState = 'ONLINE' | 'OFFLINE' | 'UNKNOWN';

/**
 * restartable   — a soft failure: clean and restart in place (within RestartLimit);
 * move          — this node cannot run it (missing binary, permission): no restart here;
 * configuration — the configuration is wrong: no restart here and no retry of a first online.
 * Past that, a critical resource fails its group over and a non-critical one waits for the
 * operator (plugin/recovery/policy.ts).
 */
export type RecoveryClass = 'restartable' | 'move' | 'configuration';

/**
 * A run that ended without a verdict on the resource, set where the cancellation happens:
 * pre-empted — dropped from the agent's queue before it ran (an online/offline/clean came first,
 * or the agent is stopping); aborted — stopped while running by its caller. A run that fails on
 * its own is never marked, whatever its reason says (a server reply may well say "cancelled").
 */
export type Cancellation = 'pre-empted' | 'aborted';

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
