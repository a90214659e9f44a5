/**
 * The one result shape of every probe (registry.ts), and the address it is aimed at. A probe
 * never throws: failures come back as values with their cause.
 */
import type { Phases } from '../plugin/core/results';

export type ProbeOutcome = 'ok' | 'fail' | 'timeout';

export interface ProbeResult {
  outcome: ProbeOutcome;
  /** Seconds spent in each phase that was reached. */
  phases: Phases;
  /** Why it failed (or a short note when ok), one sentence, never a secret. */
  reason?: string;
  /** The phase in which it failed or timed out. */
  failedPhase?: keyof Phases;
  /** The failure is the configuration's fault (e.g. invalid credentials), not the server's. */
  configurationError?: boolean;
  /** Extra facts (certificate expiry, server version) for metrics and logs. */
  details?: Record<string, string | number>;
}

export interface ProbeTarget {
  host: string;
  port: number;
}
