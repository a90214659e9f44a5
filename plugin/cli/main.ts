#!/usr/bin/env node
/**
 * `msgha` command line. Each verb lives in plugin/cli/commands/<verb>.ts and exports
 * `run(args: string[]): Promise<number>` (the exit code) and a one-line `usage`.
 */
import * as path from 'node:path';

interface Command { usage: string; run(args: string[]): Promise<number> }

const VERBS = [
  'validate', 'explain', 'run', 'probe', 'encrypt', 'keygen', 'status', 'demo', 'demo-cluster', 'package',
  'online', 'offline', 'switch', 'freeze', 'unfreeze', 'clear', 'evacuate', 'drill',
] as const;

function load(verb: string): Command | undefined {
  if (!(VERBS as readonly string[]).includes(verb)) return undefined;
  // Loaded lazily so that `msgha validate` never loads PM2 or agent code.
  return require(path.join(__dirname, 'commands', verb)) as Command;
}

function usage(): string {
  const lines = VERBS.map((v) => {
    try { return `  ${load(v)?.usage ?? v}`; } catch { return `  ${v}`; }
  });
  return `usage: msgha <command> …\n${lines.join('\n')}`;
}

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(usage() + '\n');
    return verb ? 0 : 2;
  }
  const command = load(verb);
  if (!command) {
    process.stderr.write(`msgha: unknown command '${verb}'\n${usage()}\n`);
    return 2;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`msgha: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
