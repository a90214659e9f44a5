/**
 * Command probe: runs a check program (e.g. `R/lib/stored -tv`) under the probe's deadline;
 * exit 0 = healthy. Output is bounded and only its tail reaches the reason.
 *
 * Two entries: `commandProbe` takes the agent's exec options (the resource's User, EnvFile,
 * ContainerName), which a protocol target cannot carry; `probeCommand` is the registry's
 * `command` (options.command and options.args, as this process's user).
 */
import { configurationFault, describeExit, execProgram, outputTail, type ExecOptions } from '../plugin/core/exec';
import type { ProtocolProbe } from './transport/options';
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
    // A User, EnvFile or ContainerName that is wrong, or a program that breaks the trusted-path rule.
    configurationError: configurationFault(r),
    reason: `${name} ${describeExit(r)}${tail ? `: ${tail}` : ''}`,
  };
}

export const probeCommand: ProtocolProbe = async (_target, options, signal): Promise<ProbeResult> => {
  if (!options.command) {
    return { outcome: 'fail', phases: { total: 0 }, failedPhase: 'command', configurationError: true, reason: 'no command given to the command probe' };
  }
  return commandProbe([options.command, ...(options.args ?? [])], { timeoutMs: options.timeoutMs, ...(signal ? { signal } : {}) });
};
