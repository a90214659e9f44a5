/**
 * `msgha run FILE <group>.<resource> <online|offline|monitor|clean> [--deep] [--json] [--trace]`:
 * run one agent function by hand, in this process, outside cluster control — with the same code
 * the agent app uses (function-runner), so what you see is what the agent does. Logs go to
 * stdout at the resource's ResLogLevel (TRACE with --trace).
 * Exit: 0 ok / ONLINE, 1 failed / OFFLINE, 2 usage or configuration, 3 UNKNOWN.
 */
import { loadCluster } from '../../config/load';
import { formatProblem } from '../../model/problems';
import { getResourceType } from '../../resource-types';
import type { AgentFunction } from '../../resource-types/contract';
import { createSecretResolver } from '../../secrets';
import { logLevelOf, runFunction } from '../../agent/function-runner';

export const usage = 'run FILE <group>.<resource> <online|offline|monitor|clean> [--deep] [--json] [--trace]   run one agent function by hand';

const FUNCTIONS: readonly AgentFunction[] = ['online', 'offline', 'monitor', 'clean'];

export async function run(args: string[]): Promise<number> {
  const flags = new Set(args.filter((a) => a.startsWith('--')));
  const rest = args.filter((a) => !a.startsWith('--'));
  const unknown = [...flags].filter((f) => !['--deep', '--json', '--trace'].includes(f));
  const [file, id, fn] = rest;
  if (rest.length !== 3 || unknown.length > 0 || !FUNCTIONS.includes(fn as AgentFunction)) {
    process.stderr.write(`usage: msgha ${usage}\n`);
    return 2;
  }
  const loaded = await loadCluster(file!);
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (!loaded.cluster || errors.length > 0) {
    for (const p of errors) process.stderr.write(formatProblem(p) + '\n');
    return 2;
  }
  const all = loaded.cluster.groups.flatMap((g) => g.resources);
  const resource = all.find((r) => r.id === id);
  if (!resource) {
    process.stderr.write(`msgha run: no resource '${id}' in ${file} (known: ${all.map((r) => r.id).join(', ')})\n`);
    return 2;
  }
  const type = getResourceType(resource.type);
  if (!type) {
    process.stderr.write(`msgha run: resource type ${resource.type} has no agent\n`);
    return 2;
  }
  const json = flags.has('--json');
  // With --json, stdout carries only the JSON result: logs go to stderr.
  const sink = (line: string): void => { (json ? process.stderr : process.stdout).write(line + '\n'); };
  const outcome = await runFunction(
    { resource, type, resolveSecret: createSecretResolver(loaded.cluster), level: flags.has('--trace') ? 'TRACE' : logLevelOf(resource), sink },
    fn as AgentFunction,
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
  if (fn === 'monitor' && outcome.state === 'UNKNOWN') return 3;
  return outcome.ok ? 0 : 1;
}
