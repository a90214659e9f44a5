/**
 * The cluster key: 32 random bytes, base64 on one line, in a file of mode 0600 that is the
 * same on every node. Which file: the cluster file's `cluster.keyFile`, else $MSGHA_KEY_FILE,
 * else /etc/msgha/cluster.key.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SecretError } from './errors';

export const DEFAULT_KEY_FILE = '/etc/msgha/cluster.key';
export const KEY_BYTES = 32;

export function keyFilePath(settings?: { keyFile?: string }): string {
  return settings?.keyFile || process.env.MSGHA_KEY_FILE || DEFAULT_KEY_FILE;
}

export interface ReadKeyOptions {
  /** Called when the file is readable by group or others (default: one line on stderr). */
  warn?: (message: string) => void;
}

const warnedFiles = new Set<string>();
const defaultWarn = (message: string): void => {
  if (warnedFiles.has(message)) return;
  warnedFiles.add(message);
  process.stderr.write(`msgha: warning: ${message}\n`);
};

export function readKey(keyFile: string, options: ReadKeyOptions = {}): Buffer {
  let text: string;
  let mode: number;
  try {
    mode = fs.statSync(keyFile).mode;
    text = fs.readFileSync(keyFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new SecretError('key-missing', `cluster key file ${keyFile} does not exist (create it with \`msgha keygen --key-file ${keyFile}\` and copy it to every node, or set cluster.keyFile / $MSGHA_KEY_FILE)`);
    }
    throw new SecretError('key-unreadable', `cannot read cluster key file ${keyFile}: ${code ?? 'error'}`);
  }
  if ((mode & 0o077) !== 0) {
    (options.warn ?? defaultWarn)(`cluster key file ${keyFile} has mode ${(mode & 0o777).toString(8).padStart(4, '0')}: it is readable by others than its owner (chmod 600 ${keyFile})`);
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== KEY_BYTES || !/^[A-Za-z0-9+/]+=*$/.test(text.trim())) {
    throw new SecretError('key-invalid', `cluster key file ${keyFile} does not hold a key (expected ${KEY_BYTES} bytes in base64, as written by \`msgha keygen\`)`);
  }
  return key;
}

/** Writes a new random key (mode 0600; parent directory created with mode 0700). */
export function writeNewKey(keyFile: string, force = false): void {
  fs.mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  if (!force && fs.existsSync(keyFile)) {
    throw new SecretError('key-exists', `${keyFile} already exists; every secret encrypted with it would be lost (use --force to replace it)`);
  }
  const tmp = `${keyFile}.${process.pid}.tmp`;
  // Why a temporary file: the key is never visible with a wider mode, nor half-written.
  fs.writeFileSync(tmp, randomBytes(KEY_BYTES).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  try {
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, keyFile);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
