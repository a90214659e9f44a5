/**
 * `msgha run FILE <group>.<resource> <online|offline|monitor|clean> [--deep] [--json] [--trace]`:
 * run one agent function by hand, in this process, outside cluster control — with the same code
 * the agent app uses (function-runner), so what you see is what the agent does. Logs go to
 * stdout at the resource's ResLogLevel (TRACE with --trace).
 * Exit (exit-codes.ts): 0 ok / ONLINE, 1 failed / OFFLINE, 2 usage (or a file / resource that
 * cannot be used), 5 UNKNOWN.
 */
import type { Command } from 'commander';
import { loadCluster } from '../../config/load';
import { formatProblem } from '../../model/problems';
import { getResourceType } from '../../resource-types';
import type { AgentFunction } from '../../resource-types/contract';
import { createSecretResolver } from '../../secrets';
import { logLevelOf, runFunction } from '../../resource-types/function-runner';

import { EXIT, type ExitCode } from './exit-codes';
import { UsageError, type Output } from './output';
import { act, runVerbArgs } from './program';

const FUNCTIONS: readonly AgentFunction[] = ['online', 'offline', 'monitor', 'clean'];

export function define(program: Command): Command {
  const cmd = program.command('run').description('run one agent function by hand, outside cluster control (the agent\'s own code)')
    .argument('<file>', 'the cluster file').argument('<resource>', '<group>.<resource>').argument('<function>', FUNCTIONS.join(' | '))
    .option('--deep', 'monitor: run the deep (second-level) checks too')
    .option('--json', 'print the outcome as JSON (logs go to stderr)')
    .option('--trace', 'log at TRACE')
    .addHelpText('after', '\nExamples:\n  msgha run /etc/msgha/mail.config.js mail.imap monitor --deep');
  return act(cmd, ({ args, opts, out }) => {
    const [file, id, fn] = args as string[];
    if (!FUNCTIONS.includes(fn as AgentFunction)) throw new UsageError(`unknown function '${fn}' (one of ${FUNCTIONS.join(', ')})`);
    return runOne(file!, id!, fn as AgentFunction, new Set(Object.keys(opts).filter((k) => opts[k] === true).map((k) => `--${k}`)), out);
  });
}

export function run(args: string[]): Promise<number> { return runVerbArgs('run', define, args); }

async function runOne(file: string, id: string, fn: AgentFunction, flags: Set<string>, out: Output): Promise<ExitCode> {
  const loaded = await loadCluster(file!);
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (!loaded.cluster || errors.length > 0) return out.fail(EXIT.USAGE, `${file} does not load:\n${errors.map(formatProblem).join('\n')}`);
  const all = loaded.cluster.groups.flatMap((g) => g.resources);
  const resource = all.find((r) => r.id === id);
  if (!resource) return out.fail(EXIT.USAGE, `no resource '${id}' in ${file} (known: ${all.map((r) => r.id).join(', ')})`);
  const type = getResourceType(resource.type);
  if (!type) return out.fail(EXIT.USAGE, `${file}: resource ${id}: type ${resource.type} has no agent`);
  const json = flags.has('--json');
  // With --json, stdout carries only the JSON result: logs go to stderr.
  const sink = (line: string): void => { (json ? process.stderr : process.stdout).write(line + '\n'); };
  const outcome = await runFunction(
    { resource, type, resolveSecret: createSecretResolver(loaded.cluster), level: flags.has('--trace') ? 'TRACE' : logLevelOf(resource), sink },
    fn,
    { deep: flags.has('--deep') },
  );
  if (json) {
    process.stdout.write(JSON.stringify({ resource: resource.id, ...outcome }, null, 2) + '\n');
  } else {
    const head = fn === 'monitor' ? outcome.state : outcome.ok ? 'ok' : 'FAILED';
    process.stdout.write(`${resource.id} ${fn}: ${head} in ${outcome.durationMs} ms — ${outcome.reason}\n`);
    for (const c of outcome.checks ?? []) {
      const phases = Object.entries(c.phases ?? {}).map(([k, v]) => `${k} ${Math.round((v ?? 0) * 1000)} ms`).join(', ');
      process.stdout.write(`  ${c.check}: ${c.outcome}${phases ? ` (${phases})` : ''}${c.reason ? ` — ${c.reason}` : ''}\n`);
    }
  }
  if (fn === 'monitor' && outcome.state === 'UNKNOWN') return EXIT.UNKNOWN;
  return outcome.ok ? EXIT.OK : EXIT.FAILED;
}
