/**
 * `msgha validate FILE [--json]`: every problem of a cluster file, one per line, then a
 * summary. Exit 0 = no error (warnings allowed), 1 = errors, 2 = usage. It loads no PM2 and
 * starts nothing; bad input never crashes it.
 */
import { loadCluster } from '../../config/load';
import { formatProblem, printable } from '../../model/problems';

export const usage = 'validate FILE [--json]          check a cluster file; print every problem';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const rest = args.filter((a) => a !== '--json');
  if (rest.length !== 1 || rest[0]!.startsWith('-')) {
    process.stderr.write(`usage: msgha ${usage}\n`);
    return 2;
  }
  const file = rest[0]!;
  const shown = printable(file);
  const { cluster, problems, summary } = await loadCluster(file);
  const valid = summary.errors === 0 && cluster !== undefined;
  if (json) {
    process.stdout.write(JSON.stringify({ file, valid, ...summary, problems }, null, 2) + '\n');
  } else {
    for (const p of problems) process.stdout.write(formatProblem(p) + '\n');
    const warnings = summary.warnings > 0 ? `, ${plural(summary.warnings, 'warning')}` : '';
    process.stdout.write(valid
      ? `${shown}: valid — ${plural(summary.groups, 'group')}, ${plural(summary.resources, 'resource')}${warnings}\n`
      : `${shown}: ${plural(summary.errors, 'error')}${warnings}\n`);
  }
  return valid ? 0 : 1;
}
