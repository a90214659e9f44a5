/**
 * docs/cli.md, generated: every verb's --help, the exit codes, then `msgha explain --markdown`
 * (headings one level down). Regenerate: `node dist/plugin/cli/commands/reference.js > docs/cli.md`;
 * test/unit/cli/reference.test.ts fails when the file is not current.
 */
import type { Command } from 'commander';
import { explainMarkdown } from '../../config/explain';
import { exitTable } from './exit-codes';
import { buildProgram } from './program';

function helpOf(cmd: Command): string {
  // The width is fixed so the file does not depend on the terminal that generated it.
  return cmd.configureOutput({ getOutHelpWidth: () => 100, getErrHelpWidth: () => 100 }).helpInformation().trimEnd();
}

export function cliReference(program: Command = buildProgram()): string {
  const parts = [
    '# msgha command line',
    '',
    'Generated from the program itself (`plugin/cli/commands/reference.ts`); do not edit by hand.',
    '`msgha <verb> --help` prints the same text. The cluster file reference (`msgha explain`) follows.',
    '',
    '## Exit codes',
    '',
    'Every verb uses this one table:',
    '',
    '```',
    exitTable(),
    '```',
    '',
    'With `--json`, an error is a JSON object on stdout: `{"ok": false, "command": "…", "error": "…", "exit": N}`;',
    'without it, errors go to stderr. Operator verbs that wait (`online`, `offline`, `switch`, `evacuate`, `clear`)',
    'do so by default when stdout is a terminal and `--json` is not given; elsewhere only with `--wait`.',
    '',
    '## msgha',
    '',
    '```',
    helpOf(program),
    '```',
  ];
  for (const cmd of program.commands) {
    if (cmd.name() === 'help') continue;
    parts.push('', `## msgha ${cmd.name()}`, '', '```', helpOf(cmd), '```');
    for (const sub of cmd.commands) parts.push('', `### msgha ${cmd.name()} ${sub.name()}`, '', '```', helpOf(sub), '```');
  }
  parts.push('', explainMarkdown().replace(/^(#+) /gm, '#$1 ').trimEnd(), '');
  return parts.join('\n');
}

if (require.main === module) process.stdout.write(cliReference());
