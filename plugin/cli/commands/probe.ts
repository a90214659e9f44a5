/**
 * `msgha probe --type T --host H --port P [...]`: one synthetic transaction, for people
 * troubleshooting a service and for benchmarks. Prints the phases as a table (or JSON with
 * --json). Exit 0 ok, 1 fail, 2 usage error, 3 timeout.
 *
 * The password is never taken from the command line (visible in `ps`): only the name of an
 * environment variable (--password-env) or a file (--password-file) holding it.
 */
import * as fs from 'node:fs';
import { PROBE_NAMES, getProbe } from '../../../probes/registry';
import type { ProtocolOptions, ProtocolTarget } from '../../../probes/transport/options';
import type { ProbeResult } from '../../../probes/types';

export const usage = 'probe --type T --host H --port P [--user U --password-env VAR | --password-file F] [--timeout-ms N] [--json]   one synthetic transaction';

const HELP = `usage: msgha ${usage}
  --type        ${PROBE_NAMES.join(' ')}
  --tls         implicit | starttls | none (default: implicit for the *s types, else none)
  --servername  SNI name   --ca-file F  trusted CA (PEM)
  --verify      verify the certificate even without a login (a login over TLS always verifies)
  --no-verify   send the login without verifying the certificate (warned)
  --recipient   RCPT TO address (smtp, lmtp)       --client-name  EHLO/LHLO name
  --path        first page (http) or read-back path (admin)   --login-path P  --login-method GET|POST
  --bind-dn     LDAP bind DN (default: --user when given, else anonymous)   --base  search base
  --mailbox     IMAP mailbox (default INBOX)   --select  SELECT instead of EXAMINE
  --command F [-- ARGS…]  program to run (type command)
exit: 0 ok, 1 fail, 2 usage error, 3 timeout`;

const VALUE_FLAGS = new Set(['--type', '--host', '--port', '--user', '--password-env', '--password-file', '--timeout-ms', '--tls',
  '--servername', '--ca-file', '--recipient', '--client-name', '--path', '--login-path', '--login-method', '--bind-dn', '--base',
  '--mailbox', '--command']);
const BOOL_FLAGS = new Set(['--json', '--verify', '--no-verify', '--select']);

class UsageError extends Error {}

interface Parsed { values: Map<string, string>; flags: Set<string>; rest: string[] }

function parse(args: string[]): Parsed {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  let rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') { rest = args.slice(i + 1); break; }
    const eq = a.indexOf('=');
    const [name, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (name === '--password') throw new UsageError('--password is refused: a password on the command line is visible to every user; use --password-env VAR or --password-file F');
    if (BOOL_FLAGS.has(name)) { flags.add(name); continue; }
    if (VALUE_FLAGS.has(name)) {
      const v = inline ?? args[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      values.set(name, v);
      continue;
    }
    throw new UsageError(`unknown argument '${a}'`);
  }
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

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) { process.stdout.write(HELP + '\n'); return 0; }
  let p: Parsed;
  let type: string;
  let target: ProtocolTarget;
  let options: ProtocolOptions;
  try {
    p = parse(args);
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
    if (p.flags.has('--verify') && p.flags.has('--no-verify')) throw new UsageError('--verify and --no-verify exclude each other');
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
    process.stderr.write(`msgha probe: ${(err as Error).message}\n${HELP}\n`);
    return 2;
  }
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  try {
    const result = await getProbe(type)!(target, options, controller.signal);
    process.stdout.write((p.flags.has('--json') ? JSON.stringify({ type, host: target.host, port: target.port, ...result }, null, 2) : formatResult(type, target, result)) + '\n');
    return result.outcome === 'ok' ? 0 : result.outcome === 'timeout' ? 3 : 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
}
