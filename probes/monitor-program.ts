/**
 * Runs the user's MonitorProgram (a generic attribute of every type): exit 110 or 0 → ONLINE,
 * 100 or 1 → OFFLINE, anything else (another code, a signal, a timeout, a program that cannot
 * start) → UNKNOWN.
 * Never through a shell; as the resource's User with its EnvFile; the tail of its output goes
 * into the reason.
 */
import type { CheckReport, ResourceState } from '../plugin/core/results';
import { toArgv } from '../plugin/core/argv';
import { configurationFault, describeExit, execProgram, outputTail, type ExecOptions } from '../plugin/core/exec';

export interface MonitorProgramResult {
  state: ResourceState;
  reason: string;
  check: CheckReport;
  /** The run was refused for its configuration (untrusted program, EnvFile, User…). */
  configuration?: boolean;
}

export function stateOfExitCode(code: number | null): ResourceState {
  if (code === 110 || code === 0) return 'ONLINE';
  if (code === 100 || code === 1) return 'OFFLINE';
  return 'UNKNOWN';
}

export async function runMonitorProgram(command: unknown, opts: ExecOptions): Promise<MonitorProgramResult> {
  const argv = toArgv(command);
  if (!argv) {
    return { state: 'UNKNOWN', reason: 'MonitorProgram is empty', check: { check: 'MonitorProgram', outcome: 'fail', reason: 'empty command' } };
  }
  const r = await execProgram(argv, { ...opts, maxOutput: 8 * 1024 });
  const state = r.spawnError || r.timedOut || r.signal ? 'UNKNOWN' : stateOfExitCode(r.code);
  const tail = outputTail(r);
  const reason = `MonitorProgram ${argv[0]} ${describeExit(r)}${state === 'UNKNOWN' ? '' : ` (${state})`}${tail ? `: ${tail}` : ''}`;
  return {
    state,
    reason,
    ...(configurationFault(r) ? { configuration: true } : {}),
    check: {
      check: 'MonitorProgram',
      outcome: r.timedOut ? 'timeout' : state === 'ONLINE' ? 'ok' : 'fail',
      phases: { total: Math.round(r.durationMs) / 1000 },
      reason: state === 'ONLINE' ? undefined : reason,
    },
  };
}
