/**
 * `msgha validate FILE [--json]`: every problem of a cluster file, one per line, then a
 * summary. Exit 0 = no error (warnings allowed), 1 = errors (exit-codes.ts). It loads no PM2 and
 * starts nothing; bad input never crashes it.
 */
import type { Command } from 'commander';
import { loadCluster } from '../../config/load';
import { formatProblem, printable } from '../../model/problems';

import { EXIT, type ExitCode } from './exit-codes';
import { act, runVerbArgs } from './program';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function define(program: Command): Command {
  const cmd = program.command('validate').description('check a cluster file; print every problem')
    .argument('<file>', 'the cluster file (.config.js or .json)')
    .option('--json', 'print {file, valid, errors, warnings, problems} as JSON')
    .addHelpText('after', '\nExamples:\n  msgha validate /etc/msgha/mail.config.js');
  return act(cmd, ({ args, opts }) => validate(args[0] as string, opts.json === true));
}

export function run(args: string[]): Promise<number> { return runVerbArgs('validate', define, args); }

async function validate(file: string, json: boolean): Promise<ExitCode> {
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
  return valid ? EXIT.OK : EXIT.FAILED;
}
