#!/usr/bin/env node
/**
 * `msgha` command line: commander (commands/program.ts) with one subcommand per file in
 * plugin/cli/commands/; exit codes in commands/exit-codes.ts.
 */
import { EXIT } from './commands/exit-codes';
import { buildProgram, runProgram } from './commands/program';

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
    process.exitCode = EXIT.FAILED;
    try { other.write(`msgha: cannot write the output: ${err.code ?? err.message}\n`); } catch { /* nowhere left to say it */ }
  });
}
quietOnClosedOutput(process.stdout, process.stderr);
quietOnClosedOutput(process.stderr, process.stdout);

runProgram(buildProgram(), process.argv.slice(2)).then(
  (code) => { process.exitCode = process.exitCode || code; },
  (err: unknown) => {
    process.stderr.write(`msgha: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT.FAILED;
  },
);
