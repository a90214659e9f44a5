/**
 * The cluster key: 32 random bytes, base64 on one line, in a root-owned file of mode 0600 that
 * is the same on every node. Which file: the cluster file's `cluster.keyFile`, else
 * $MSGHA_KEY_FILE, else /etc/msgha/cluster.key. What makes the file trusted: key-trust.ts.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SecretError } from './errors';
import { checkKeyDirectory, checkKeyFileStat, refuseKeyLink, symlinkRefusal } from './key-trust';

export const DEFAULT_KEY_FILE = '/etc/msgha/cluster.key';
export const KEY_BYTES = 32;
/** A key file is about 45 bytes: read no more than this. */
const MAX_KEY_FILE_BYTES = 4096;

export function keyFilePath(settings?: { keyFile?: string }): string {
  return settings?.keyFile || process.env.MSGHA_KEY_FILE || DEFAULT_KEY_FILE;
}

function missing(keyFile: string): SecretError {
  return new SecretError('key-missing', `cluster key file ${keyFile} does not exist (create it with \`msgha keygen --key-file ${keyFile}\` and copy it to every node, or set cluster.keyFile / $MSGHA_KEY_FILE)`);
}

/** The file's text, read through a descriptor opened without following a link and checked with fstat. */
function readTrusted(keyFile: string): string {
  refuseKeyLink(keyFile);
  checkKeyDirectory(keyFile);
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted there must not hang the open; fstat then refuses it.
    fd = fs.openSync(keyFile, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw missing(keyFile);
    if (code === 'ELOOP') throw symlinkRefusal(keyFile);
    throw new SecretError('key-unreadable', `cannot read cluster key file ${keyFile}: ${code ?? 'error'}`);
  }
  try {
    checkKeyFileStat(keyFile, fs.fstatSync(fd));
    const buf = Buffer.alloc(MAX_KEY_FILE_BYTES);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8');
  } catch (err) {
    if (err instanceof SecretError) throw err;
    throw new SecretError('key-unreadable', `cannot read cluster key file ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  } finally {
    fs.closeSync(fd);
  }
}

/** The key, or a SecretError naming the file, what is wrong with it and the fix. */
export function readKey(keyFile: string): Buffer {
  const text = readTrusted(keyFile).trim();
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES || !/^[A-Za-z0-9+/]+=*$/.test(text)) {
    throw new SecretError('key-invalid', `cluster key file ${keyFile} does not hold a key (expected ${KEY_BYTES} bytes in base64, as written by \`msgha keygen\`)`);
  }
  return key;
}

/** Why the key file cannot be used (missing, untrusted, not a key), or undefined: for `msgha validate`. */
export function keyFileProblem(keyFile: string): SecretError | undefined {
  try {
    readKey(keyFile);
    return undefined;
  } catch (err) {
    if (err instanceof SecretError) return err;
    throw err;
  }
}

/**
 * Writes a new random key (mode 0600; a missing parent directory is created with mode 0700).
 * Refuses a directory that key-trust.ts would refuse when the key is read.
 */
export function writeNewKey(keyFile: string, force = false): void {
  fs.mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  checkKeyDirectory(keyFile);
  let exists = true;
  try { fs.lstatSync(keyFile); } catch { exists = false; }
  if (!force && exists) {
    throw new SecretError('key-exists', `${keyFile} already exists; every secret encrypted with it would be lost (use --force to replace it)`);
  }
  const tmp = `${keyFile}.${process.pid}.tmp`;
  // Why a temporary file: the key is never visible with a wider mode, nor half-written; 'wx'
  // (O_EXCL) never follows a link planted at that name.
  fs.writeFileSync(tmp, randomBytes(KEY_BYTES).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  try {
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, keyFile);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
