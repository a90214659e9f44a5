/**
 * `msgha encrypt [--key-file F]`: reads ONE password from stdin (without echo on a terminal)
 * and prints `enc:v1:…` for the cluster file. The password never appears on a command line,
 * in the output or in an error message.
 */
import { encryptSecret, keyFilePath, SecretError } from '../../secrets';
import { parseKeyFileArgs } from './keygen';

export const usage = 'encrypt [--key-file F]          read a password on stdin, print enc:v1:… for the cluster file';

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

export async function run(args: string[]): Promise<number> {
  const parsed = parseKeyFileArgs(args, []);
  if (!parsed) {
    process.stderr.write(`usage: msgha ${usage}\n`);
    return 2;
  }
  const keyFile = parsed.keyFile ?? keyFilePath();
  let password: string;
  try {
    if (process.stdin.isTTY) password = await readHidden('Password: ');
    else password = (await readAll()).replace(/\r?\n$/, '');
  } catch (err) {
    process.stderr.write(`msgha encrypt: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (password === '') {
    process.stderr.write('msgha encrypt: empty password on stdin\n');
    return 1;
  }
  if (/[\r\n]/.test(password)) {
    process.stderr.write('msgha encrypt: stdin holds more than one line; give exactly one password\n');
    return 1;
  }
  try {
    process.stdout.write(encryptSecret(password, keyFile) + '\n');
    return 0;
  } catch (err) {
    process.stderr.write(`msgha encrypt: ${err instanceof SecretError ? err.message : 'encryption failed'}\n`);
    return 1;
  }
}
