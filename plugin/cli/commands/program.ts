/**
 * The `msgha` command line on commander: one subcommand per verb file. A verb file exports
 * `define(program)`, which adds its subcommand (arguments, options, help) and its action through
 * `act()`; a file that only exports `usage` and `run(args)` (demo, package, …) is wrapped as is,
 * its arguments passed through. commander gives every verb --help (exit 0, nothing run),
 * suggestions for unknown verbs and options, and usage errors; the exit codes are exit-codes.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { EXIT, exitTable, type ExitCode } from './exit-codes';
import { Output, UsageError, writeError } from './output';

/** Verbs in the order `msgha --help` lists them; a missing file (init, preflight) is skipped. */
export const VERBS = [
  'init', 'validate', 'preflight', 'explain', 'status',
  'online', 'offline', 'switch', 'evacuate', 'freeze', 'unfreeze', 'clear', 'drill',
  'run', 'probe', 'encrypt', 'keygen', 'secrets', 'completion',
  'package', 'demo', 'demo-cluster',
] as const;

interface DefinedVerb { define(program: Command): Command }
interface PlainVerb { usage: string; run(args: string[]): Promise<number> }

export type Opts = Record<string, unknown>;
export interface VerbCall { args: unknown[]; opts: Opts; out: Output; cmd: Command }

const exits = new WeakMap<Command, number>();

function root(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/** The action of a verb: its handler's exit code is the command's; a UsageError is exit 2. */
export function act(cmd: Command, handler: (call: VerbCall) => Promise<ExitCode>): Command {
  return cmd.action(async (...a: unknown[]) => {
    const self = a[a.length - 1] as Command;
    const opts = self.opts();
    const out = new Output(self.name(), opts.json === true);
    let code: number;
    try {
      code = await handler({ args: self.processedArgs, opts, out, cmd: self });
    } catch (err) {
      if (err instanceof UsageError) code = out.fail(EXIT.USAGE, `${err.message} (msgha ${self.name()} --help)`);
      else code = out.fail(EXIT.FAILED, err instanceof Error ? err.message : String(err));
    }
    exits.set(root(self), code);
  });
}

/** `usage` strings of the plain verbs: "<name> <syntax>   <what it does>". */
function splitUsage(usage: string): { syntax: string; summary: string } {
  const m = /^\S+\s*(.*?)\s{2,}(\S.*)$/.exec(usage);
  return m ? { syntax: m[1]!, summary: m[2]! } : { syntax: '', summary: usage };
}

function wrapPlain(program: Command, name: string, mod: PlainVerb): void {
  const { syntax, summary } = splitUsage(mod.usage);
  const cmd = program.command(name).description(summary).usage(syntax || '[options]')
    .allowUnknownOption().allowExcessArguments().argument('[args...]');
  // Everything after the verb is the verb's own (its file parses it); --help stops here.
  act(cmd, async ({ cmd: self }) => (await mod.run(self.args)) as ExitCode);
}

function loadVerb(name: string): DefinedVerb | PlainVerb | { error: string } | undefined {
  const file = path.join(__dirname, `${name}.js`);
  if (!fs.existsSync(file) && !fs.existsSync(path.join(__dirname, `${name}.ts`))) return undefined;
  try {
    return require(path.join(__dirname, name)) as DefinedVerb | PlainVerb;
  } catch (err) {
    return { error: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
  }
}

export function packageVersion(): string {
  // dist/plugin/cli/commands → package root (and plugin/cli/commands under ts-node/vitest)
  for (const up of ['../../../..', '../../..']) {
    try { return (JSON.parse(fs.readFileSync(path.join(__dirname, up, 'package.json'), 'utf8')) as { version: string }).version; } catch { /* next */ }
  }
  return 'unknown';
}

/** The program with every verb, or `only` the one verb given (a verb file's `run(args)`). */
export function buildProgram(only?: DefinedVerb): Command {
  const program = new Command('msgha');
  program
    .description('keep a mail suite highly available under PM2 (docs/cli.md)')
    .version(packageVersion(), '-V, --version', 'print the version of msgha')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false })
    .addHelpText('after', `\nExit codes (every verb):\n${exitTable()}\n\nmsgha <verb> --help describes a verb; the reference is docs/cli.md.`);
  if (only) { only.define(program); return program; }
  for (const name of VERBS) {
    const mod = loadVerb(name);
    if (!mod) continue;
    if ('error' in mod) {
      const cmd = program.command(name).description(`(not available in this installation: ${mod.error})`)
        .allowUnknownOption().allowExcessArguments().argument('[args...]');
      act(cmd, async ({ out }) => out.fail(EXIT.FAILED, `not available in this installation: ${mod.error}`));
    } else if ('define' in mod) mod.define(program);
    else wrapPlain(program, name, mod);
  }
  return program;
}

/** Parses and runs; returns the exit code (never throws, never calls process.exit). */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const verb = argv.find((a) => !a.startsWith('-'));
  // With --json a usage error is a JSON object on stdout, not commander's text on stderr.
  const jsonErrors = (cmd: Command): void => {
    cmd.configureOutput({ outputError: (str, write) => (json ? undefined : write(str.replace(/^error: /, `msgha${cmd.parent ? ` ${cmd.name()}` : ''}: `))) });
    for (const sub of cmd.commands) jsonErrors(sub);
  };
  jsonErrors(program);
  if (argv.length === 0) {
    process.stderr.write(program.helpInformation());
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return EXIT.OK;
    if (json) writeError(program.commands.some((c) => c.name() === verb) ? verb : undefined, EXIT.USAGE, err.message.replace(/^error: /, ''), true);
    return EXIT.USAGE;
  }
  return exits.get(program) ?? EXIT.OK;
}

/** A verb file's `run(args)`: the same parsing as `msgha <verb> args…`. */
export function runVerbArgs(name: string, define: DefinedVerb['define'], args: string[]): Promise<number> {
  return runProgram(buildProgram({ define }), [name, ...args]);
}
