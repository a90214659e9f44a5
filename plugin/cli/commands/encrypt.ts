/**
 * `msgha encrypt --cluster FILE --for group.resource.Attribute [--key-file F]`: reads ONE
 * password from stdin (without echo on a terminal) and prints `enc:v2:…`, which decrypts only
 * in that attribute of that resource, group and cluster. `--cluster-name NAME` instead of
 * `--cluster FILE` when the file does not exist yet. Without --for it prints an unbound
 * `enc:v1:…` (kept for existing scripts; `msgha validate` warns about it). The password never
 * appears on a command line, in the output or in an error message.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { encryptSecret, keyFilePath, parsePlaceName, placeName, SecretError, type SecretPlace } from '../../secrets';
import { EXIT, type ExitCode } from './exit-codes';
import { UsageError, type Output } from './output';
import { act, runVerbArgs, type Opts } from './program';
import { loadForSecrets, secretSlots } from './secret-places';

interface EncryptArgs { cluster?: string; clusterName?: string; for?: string; keyFile?: string }

const USAGE = 'usage: msgha encrypt --cluster FILE --for group.resource.Attribute [--key-file F]  (or --cluster-name NAME; without --for: an unbound enc:v1 value)';

/** Each option once: a second --for would silently replace the first. */
const once = (v: string, prev: unknown): string => {
  if (prev !== undefined) throw new InvalidArgumentError('given twice');
  return v;
};

export function define(program: Command): Command {
  const cmd = program.command('encrypt').description('read a password on stdin, print enc:v2:… for one attribute')
    .option('--cluster <file>', 'the cluster file the attribute belongs to', once)
    .option('--cluster-name <name>', 'instead of --cluster, before the file exists', once)
    .option('--for <place>', 'group.resource.Attribute the value is for (it decrypts nowhere else)', once)
    .option('--key-file <file>', 'the cluster key (default: the cluster file\'s, else /etc/msgha/cluster.key)', once)
    .showHelpAfterError(USAGE)
    .addHelpText('after', `
Without --for: an unbound enc:v1 value (old scripts; msgha validate warns).
Examples:
  msgha encrypt --cluster /etc/msgha/mail.config.js --for mail.imap.ProbePasswd
  printf '%s' "$PW" | msgha encrypt --cluster-name mail --for mail.imap.ProbePasswd`);
  return act(cmd, ({ opts, out }) => encrypt(checked(opts), out));
}

export function run(args: string[]): Promise<number> { return runVerbArgs('encrypt', define, args); }

function checked(o: Opts): EncryptArgs {
  const a: EncryptArgs = { cluster: o.cluster as string | undefined, clusterName: o.clusterName as string | undefined, for: o.for as string | undefined, keyFile: o.keyFile as string | undefined };
  if (a.cluster && a.clusterName) throw new UsageError(`give --cluster FILE or --cluster-name NAME, not both\n${USAGE}`);
  if (a.for !== undefined && !a.cluster && !a.clusterName) throw new UsageError(`--for needs --cluster FILE or --cluster-name NAME\n${USAGE}`);
  if (a.for === undefined && (a.cluster || a.clusterName)) throw new UsageError(`--cluster and --cluster-name need --for group.resource.Attribute\n${USAGE}`);
  return a;
}

/** Reads one line from a terminal with echo off. */
function readHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    let text = '';
    const done = (err?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err); else resolve(text);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new Error('interrupted'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readAll(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}


/** The place and key file named by the arguments, or the message saying why there is none. */
async function target(a: EncryptArgs): Promise<{ place?: SecretPlace; keyFile: string } | { why: string }> {
  if (a.for === undefined) return { keyFile: a.keyFile ?? keyFilePath() };
  const use = parsePlaceName(a.for);
  if (!use) return { why: `--for ${JSON.stringify(a.for)} is not group.resource.Attribute (e.g. --for mail.imap.ProbePasswd)` };
  if (a.clusterName) return { place: { cluster: a.clusterName, ...use }, keyFile: a.keyFile ?? keyFilePath() };
  const { cluster, why } = await loadForSecrets(a.cluster!);
  if (!cluster) return { why: why.join('\n') };
  const slots = secretSlots(cluster);
  const slot = slots.find((s) => placeName(s.place) === a.for);
  if (!slot) {
    const known = slots.map((s) => placeName(s.place));
    return { why: `${a.cluster}: ${a.for} is not a secret attribute of a resource of this file (secret attributes: ${known.length ? known.join(', ') : 'none'})` };
  }
  return { place: slot.place, keyFile: a.keyFile ?? keyFilePath(cluster.settings) };
}

async function encrypt(parsed: EncryptArgs, out: Output): Promise<ExitCode> {
  const fail = (message: string): ExitCode => out.fail(EXIT.FAILED, message);
  const t = await target(parsed);
  if ('why' in t) return fail(t.why);
  let password: string;
  try {
    if (process.stdin.isTTY) password = await readHidden(t.place ? `Password for ${placeName(t.place)}: ` : 'Password: ');
    else password = (await readAll()).replace(/\r?\n$/, '');
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  if (password === '') return fail('empty password on stdin');
  if (/[\r\n]/.test(password)) return fail('stdin holds more than one line; give exactly one password');
  let value: string;
  try {
    value = encryptSecret(password, t.keyFile, t.place);
  } catch (err) {
    return fail(err instanceof SecretError ? err.message : 'encryption failed');
  }
  if (!t.place) {
    process.stderr.write('msgha encrypt: warning: this enc:v1 value is bound to no place and would decrypt in any attribute; '
      + 'give --cluster FILE --for group.resource.Attribute for an enc:v2 value\n');
  }
  process.stdout.write(value + '\n');
  return EXIT.OK;
}
