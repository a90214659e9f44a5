/**
 * `msgha preflight [--cluster FILE] [--json] [--no-io]`: checks this node before the cluster
 * runs on it (docs/preflight.md). Exit 0 = no FAIL (warnings allowed), 1 = a check FAILed or the
 * cluster file has errors, 2 = usage. Starts nothing; writes only a temp file under sharedDir
 * (removed) and the directories the coordinator would create there.
 */
import { loadCluster } from '../../config/load';
import { formatProblem } from '../../model/problems';
import { exitCodeOf, fail, type CheckResult } from '../../preflight/result';
import { formatText, runPreflight } from '../../preflight/runner';

export const usage = 'preflight [--cluster FILE] [--json] [--no-io]   check this node: PASS / WARN / FAIL with the fix';

export async function run(args: string[]): Promise<number> {
  let file = process.env.MSGHA_CLUSTER_FILE || undefined;
  let json = false;
  let skipSharedDir = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--json') json = true;
    else if (a === '--no-io') skipSharedDir = true;
    else if (a === '--cluster' && args[i + 1] && !args[i + 1]!.startsWith('-')) file = args[++i];
    else if (a.startsWith('--cluster=')) file = a.slice('--cluster='.length);
    else if (a === '--help' || a === '-h') { process.stdout.write(`usage: msgha ${usage}\n`); return 0; }
    else { process.stderr.write(`msgha preflight: unknown argument '${a}'\nusage: msgha ${usage}\n`); return 2; }
  }
  let cluster;
  const invalid: CheckResult[] = [];
  if (file) {
    const loaded = await loadCluster(file);
    cluster = loaded.cluster;
    // A file with errors still gets the node's own checks; its errors are FAILs with their fix.
    if (!cluster) {
      for (const p of loaded.problems.filter((x) => x.severity === 'error')) {
        invalid.push(fail('cluster-file', file, formatProblem(p), `fix the file, then: msgha validate ${file}`));
      }
    }
  }
  const results = [...invalid, ...await runPreflight({ cluster, skipSharedDir })];
  const code = exitCodeOf(results);
  if (json) process.stdout.write(JSON.stringify({ file: file ?? null, ok: code === 0, results }, null, 2) + '\n');
  else process.stdout.write((cluster ? '' : file ? 'the cluster file has errors: node checks only\n' : 'no cluster file (--cluster FILE or $MSGHA_CLUSTER_FILE): node checks only\n') + formatText(results));
  return code;
}
