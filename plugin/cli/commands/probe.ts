/**
 * `msgha probe --type T --host H --port P [...]`: one synthetic transaction, for people
 * troubleshooting a service and for benchmarks. Prints the phases as a table (or JSON with
 * --json). Exit 0 ok, 1 fail, 2 usage error, 4 timeout (exit-codes.ts).
 *
 * The password is never taken from the command line (visible in `ps`): only the name of an
 * environment variable (--password-env) or a file (--password-file) holding it.
 */
import * as fs from 'node:fs';
import { Option, type Command } from 'commander';
import { PROBE_NAMES, getProbe } from '../../../probes/registry';
import type { ProtocolOptions, ProtocolTarget } from '../../../probes/transport/options';
import type { ProbeResult } from '../../../probes/types';

import { EXIT, type ExitCode } from './exit-codes';
import { UsageError, type Output } from './output';
import { act, runVerbArgs, type Opts } from './program';

/** Options with a value: [flag, help]. */
const VALUE_OPTIONS: Array<[string, string]> = [
  ['--type <type>', `the check: ${PROBE_NAMES.join(' ')}`],
  ['--host <host>', 'the server'], ['--port <port>', 'its port'],
  ['--user <user>', 'log in as this user'],
  ['--password-env <var>', 'the password is in this environment variable'],
  ['--password-file <file>', 'the password is in this file'],
  ['--timeout-ms <ms>', 'the whole check\'s deadline (default 10000)'],
  ['--tls <mode>', 'implicit | starttls | none (default: implicit for the *s types, else none)'],
  ['--servername <name>', 'SNI name'], ['--ca-file <file>', 'trusted CA (PEM)'],
  ['--recipient <address>', 'RCPT TO address (smtp, lmtp)'], ['--client-name <name>', 'EHLO/LHLO name'],
  ['--path <path>', 'first page (http) or read-back path (admin)'], ['--login-path <path>', 'login page (http)'],
  ['--login-method <method>', 'GET | POST'], ['--bind-dn <dn>', 'LDAP bind DN (default: --user when given, else anonymous)'],
  ['--base <dn>', 'LDAP search base'], ['--mailbox <name>', 'IMAP mailbox (default INBOX)'],
  ['--command <program>', 'program to run (type command); its arguments after --'],
];

export function define(program: Command): Command {
  const cmd = program.command('probe').description('one synthetic transaction against a server, with timed phases');
  for (const [flag, help] of VALUE_OPTIONS) cmd.option(flag, help);
  cmd.option('--verify', 'verify the certificate even without a login (a login over TLS always verifies)')
    .option('--no-verify', 'send the login without verifying the certificate (warned)')
    .option('--select', 'SELECT instead of EXAMINE (imap)')
    .option('--json', 'print the result as JSON (errors too)')
    // Refused with its reason rather than "unknown option": a password in argv is visible to every user.
    .addOption(new Option('--password <password>').hideHelp())
    .argument('[args...]', 'arguments of --command, after --')
    .addHelpText('after', `
Examples:
  msgha probe --type imap --host mail.example.com --port 143
  PW=... msgha probe --type imaps --host mail.example.com --port 993 --user probe --password-env PW --ca-file /etc/msgha/mail-ca.pem`);
  return act(cmd, ({ args, opts, out }) => probe(toParsed(opts, (args[0] as string[] | undefined) ?? []), out));
}

export function run(args: string[]): Promise<number> { return runVerbArgs('probe', define, args); }

interface Parsed { values: Map<string, string>; flags: Set<string>; rest: string[] }

/** commander's options under their flag names (the checks below name the flags). */
function toParsed(o: Opts, rest: string[]): Parsed {
  if (o.password !== undefined) throw new UsageError('--password is refused: a password on the command line is visible to every user; use --password-env VAR or --password-file F');
  const values = new Map<string, string>();
  for (const [flag] of VALUE_OPTIONS) {
    const name = flag.split(' ')[0]!;
    const key = name.slice(2).replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
    if (typeof o[key] === 'string') values.set(name, o[key] as string);
  }
  const flags = new Set<string>();
  if (o.verify === true) flags.add('--verify');
  if (o.verify === false) flags.add('--no-verify');
  if (o.select === true) flags.add('--select');
  if (o.json === true) flags.add('--json');
  return { values, flags, rest };
}

function readPassword(p: Parsed): string | undefined {
  const env = p.values.get('--password-env');
  const file = p.values.get('--password-file');
  if (env && file) throw new UsageError('give --password-env or --password-file, not both');
  if (env) {
    const v = process.env[env];
    if (v === undefined) throw new UsageError(`environment variable ${env} is not set`);
    return v;
  }
  if (file) {
    try { return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, ''); } catch (err) {
      throw new UsageError(`cannot read --password-file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return undefined;
}

function integer(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be an integer in ${min}..${max}`);
  return n;
}

export function formatResult(type: string, target: ProtocolTarget, r: ProbeResult): string {
  const lines = [`${type} ${target.host}:${target.port}  ${r.outcome.toUpperCase()}${r.failedPhase ? ` (in ${r.failedPhase})` : ''}`];
  const order = ['connect', 'tls', 'greeting', 'login', 'command', 'logout', 'total'] as const;
  lines.push('  phase      seconds');
  for (const phase of order) {
    const v = r.phases[phase];
    if (v !== undefined) lines.push(`  ${phase.padEnd(10)} ${v.toFixed(3)}${phase === r.failedPhase ? '  ←' : ''}`);
  }
  if (r.reason) lines.push(`  ${r.outcome === 'ok' ? 'note' : 'reason'}: ${r.reason}${r.configurationError ? ' (configuration error)' : ''}`);
  for (const [k, v] of Object.entries(r.details ?? {})) lines.push(`  ${k}: ${v}`);
  return lines.join('\n');
}

async function probe(p: Parsed, out: Output): Promise<ExitCode> {
  let type: string;
  let target: ProtocolTarget;
  let options: ProtocolOptions;
  try {
    type = p.values.get('--type') ?? '';
    if (!type) throw new UsageError('--type is required');
    if (!getProbe(type)) throw new UsageError(`unknown --type '${type}' (known: ${PROBE_NAMES.join(' ')})`);
    const host = p.values.get('--host') ?? (type === 'command' ? '127.0.0.1' : undefined);
    const port = integer(p.values.get('--port'), '--port', 1, 65535) ?? (type === 'command' ? 0 : undefined);
    if (host === undefined || port === undefined) throw new UsageError('--host and --port are required');
    const tls = p.values.get('--tls');
    if (tls !== undefined && !['implicit', 'starttls', 'none'].includes(tls)) throw new UsageError('--tls must be implicit, starttls or none');
    const method = p.values.get('--login-method');
    if (method !== undefined && method !== 'GET' && method !== 'POST') throw new UsageError('--login-method must be GET or POST');
    if (type === 'command' && !p.values.get('--command')) throw new UsageError('--type command needs --command PROGRAM');
    const password = readPassword(p);
    const caFile = p.values.get('--ca-file');
    if (p.flags.has('--no-verify') && password !== undefined) process.stderr.write('msgha probe: warning: --no-verify sends the password without checking who answers\n');
    const v = (name: string): string | undefined => p.values.get(name);
    target = { host, port, ...(tls ? { tls: tls as ProtocolTarget['tls'] } : {}) };
    options = {
      timeoutMs: integer(v('--timeout-ms'), '--timeout-ms', 1, 3_600_000) ?? 10_000,
      ...(v('--user') !== undefined ? { user: v('--user') } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(v('--servername') ? { servername: v('--servername') } : {}),
      ...(p.flags.has('--verify') ? { verifyCertificate: true } : {}),
      ...(p.flags.has('--no-verify') ? { verifyCertificate: false } : {}),
      ...(caFile ? { ca: fs.readFileSync(caFile, 'utf8') } : {}),
      ...(v('--recipient') ? { recipient: v('--recipient') } : {}),
      ...(v('--client-name') ? { clientName: v('--client-name') } : {}),
      ...(v('--path') ? { path: v('--path') } : {}),
      ...(v('--login-path') ? { loginPath: v('--login-path') } : {}),
      ...(method ? { loginMethod: method } : {}),
      ...(v('--bind-dn') ? { bindDn: v('--bind-dn') } : {}),
      ...(v('--base') ? { searchBase: v('--base') } : {}),
      ...(v('--mailbox') ? { mailbox: v('--mailbox') } : {}),
      ...(p.flags.has('--select') ? { examine: false } : {}),
      ...(v('--command') ? { command: v('--command'), args: p.rest } : {}),
    };
  } catch (err) {
    if (!(err instanceof UsageError) && !(err as NodeJS.ErrnoException).code) throw err;
    return out.fail(EXIT.USAGE, `${(err as Error).message} (msgha probe --help)`);
  }
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  try {
    const result = await getProbe(type)!(target, options, controller.signal);
    process.stdout.write((p.flags.has('--json') ? JSON.stringify({ type, host: target.host, port: target.port, ...result }, null, 2) : formatResult(type, target, result)) + '\n');
    return result.outcome === 'ok' ? EXIT.OK : result.outcome === 'timeout' ? EXIT.TIMEOUT : EXIT.FAILED;
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
}
