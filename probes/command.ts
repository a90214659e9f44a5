/**
 * Command probe: runs a check program (e.g. `R/lib/stored -tv`) under the probe's deadline;
 * exit 0 = healthy. Output is bounded and only its tail reaches the reason.
 */
import { describeExit, execProgram, outputTail, type ExecOptions } from '../plugin/core/exec';
import type { ProbeResult } from './types';

export async function commandProbe(argv: string[], opts: Omit<ExecOptions, 'maxOutput'>): Promise<ProbeResult> {
  const r = await execProgram(argv, { ...opts, maxOutput: 8 * 1024 });
  const total = Math.round(r.durationMs) / 1000;
  const name = argv.join(' ');
  if (r.code === 0) return { outcome: 'ok', phases: { command: total, total } };
  const tail = outputTail(r);
  return {
    outcome: r.timedOut ? 'timeout' : 'fail',
    phases: { total },
    failedPhase: 'command',
    configurationError: r.spawnError?.code === 'EENVFILE' || r.spawnError?.code === 'EUSER',
    reason: `${name} ${describeExit(r)}${tail ? `: ${tail}` : ''}`,
  };
}
