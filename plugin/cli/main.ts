#!/usr/bin/env node
/**
 * `msgha` command line. Each verb lives in plugin/cli/commands/<verb>.ts and exports
 * `run(args: string[]): Promise<number>` (the exit code) and a one-line `usage`.
 */
import * as path from 'node:path';

interface Command { usage: string; run(args: string[]): Promise<number> }

const VERBS = [
  'validate', 'explain', 'run', 'probe', 'encrypt', 'keygen', 'secrets', 'status', 'demo', 'demo-cluster', 'package',
  'online', 'offline', 'switch', 'freeze', 'unfreeze', 'clear', 'evacuate', 'drill',
] as const;

/**
 * A reader that goes away (`msgha validate … | head -1`) is not an error of ours: the rest of
 * the output is dropped and the command runs to its end, so an operator verb is never cut off
 * halfway and the exit code stays the command's. Any other write error is one line, no stack.
 */
function quietOnClosedOutput(stream: NodeJS.WriteStream, other: NodeJS.WriteStream): void {
  let gone = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (gone) return;
    gone = true;
    stream.write = ((_chunk: unknown, ...rest: unknown[]) => {
      const cb = rest.find((r): r is () => void => typeof r === 'function');
      if (cb) process.nextTick(cb);
      return true;
    }) as typeof stream.write;
    if (err.code === 'EPIPE') return;
    process.exitCode = 1;
    try { other.write(`msgha: cannot write the output: ${err.code ?? err.message}\n`); } catch { /* nowhere left to say it */ }
  });
}
quietOnClosedOutput(process.stdout, process.stderr);
quietOnClosedOutput(process.stderr, process.stdout);

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
  (code) => { process.exitCode = process.exitCode || code; },
  (err: unknown) => {
    process.stderr.write(`msgha: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
