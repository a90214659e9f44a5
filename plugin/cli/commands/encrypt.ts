/**
 * `msgha encrypt --cluster FILE --for group.resource.Attribute [--key-file F]`: reads ONE
 * password from stdin (without echo on a terminal) and prints `enc:v2:…`, which decrypts only
 * in that attribute of that resource, group and cluster. `--cluster-name NAME` instead of
 * `--cluster FILE` when the file does not exist yet. Without --for it prints an unbound
 * `enc:v1:…` (kept for existing scripts; `msgha validate` warns about it). The password never
 * appears on a command line, in the output or in an error message.
 */
import { encryptSecret, keyFilePath, parsePlaceName, placeName, SecretError, type SecretPlace } from '../../secrets';
import { loadForSecrets, secretSlots } from './secret-places';

export const usage = 'encrypt --cluster FILE --for group.resource.Attribute [--key-file F]  read a password on stdin, print enc:v2:… for that attribute';

interface EncryptArgs { cluster?: string; clusterName?: string; for?: string; keyFile?: string }

const FLAGS = { '--cluster': 'cluster', '--cluster-name': 'clusterName', '--for': 'for', '--key-file': 'keyFile' } as const;

function parseArgs(args: string[]): EncryptArgs | undefined {
  const out: EncryptArgs = {};
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i]!.includes('=') ? args[i]!.split(/=(.*)/s, 2) as [string, string] : [args[i]!, undefined];
    const field = FLAGS[flag as keyof typeof FLAGS];
    const value = inline ?? args[++i];
    if (!field || !value || out[field] !== undefined) return undefined;
    out[field] = value;
  }
  if (out.cluster && out.clusterName) return undefined;
  if (out.for !== undefined && !out.cluster && !out.clusterName) return undefined;
  if (out.for === undefined && (out.cluster || out.clusterName)) return undefined;
  return out;
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

const fail = (message: string): number => {
  process.stderr.write(`msgha encrypt: ${message}\n`);
  return 1;
};

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

export async function run(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (!parsed) {
    process.stderr.write(`usage: msgha ${usage}\n       (--cluster-name NAME instead of --cluster FILE; without --for: an unbound enc:v1 value)\n`);
    return 2;
  }
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
  return 0;
}
