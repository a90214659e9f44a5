import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SecretError, createSecretResolver, decryptSecret, encryptSecret, keyFilePath, writeNewKey,
} from '../../../plugin/secrets';

const CLI = path.resolve(__dirname, '../../../dist/plugin/cli/main.js');
const SECRET = 'pa$$w0rd-très-secret';
let dir: string;
let key: string;
let other: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgha-sec-'));
  key = path.join(dir, 'etc/msgha/cluster.key');
  other = path.join(dir, 'other.key');
  writeNewKey(key);
  writeNewKey(other);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function catchError(fn: () => unknown): SecretError {
  try { fn(); } catch (e) { return e as SecretError; }
  throw new Error('did not throw');
}

describe('cluster key', () => {
  it('is 32 random bytes in base64, mode 0600, in a 0700 directory', () => {
    expect(fs.statSync(key).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(key)).mode & 0o777).toBe(0o700);
    expect(Buffer.from(fs.readFileSync(key, 'utf8').trim(), 'base64')).toHaveLength(32);
    expect(fs.readFileSync(key, 'utf8')).not.toBe(fs.readFileSync(other, 'utf8'));
  });

  it('is never overwritten without force', () => {
    const before = fs.readFileSync(key, 'utf8');
    expect(catchError(() => writeNewKey(key)).code).toBe('key-exists');
    expect(fs.readFileSync(key, 'utf8')).toBe(before);
    const copy = path.join(dir, 'copy.key');
    fs.copyFileSync(key, copy);
    writeNewKey(copy, true);
    expect(fs.readFileSync(copy, 'utf8')).not.toBe(before);
  });

  it('path: cluster.keyFile, else $MSGHA_KEY_FILE, else /etc/msgha/cluster.key', () => {
    const saved = process.env.MSGHA_KEY_FILE;
    try {
      delete process.env.MSGHA_KEY_FILE;
      expect(keyFilePath()).toBe('/etc/msgha/cluster.key');
      process.env.MSGHA_KEY_FILE = '/env/key';
      expect(keyFilePath()).toBe('/env/key');
      expect(keyFilePath({ keyFile: '/cluster/key' })).toBe('/cluster/key');
    } finally {
      if (saved === undefined) delete process.env.MSGHA_KEY_FILE; else process.env.MSGHA_KEY_FILE = saved;
    }
  });
});

describe('encrypt / decrypt', () => {
  it('round-trips, with a fresh IV each time', () => {
    const a = encryptSecret(SECRET, key);
    const b = encryptSecret(SECRET, key);
    expect(a).toMatch(/^enc:v1:[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(decryptSecret(a, key)).toBe(SECRET);
    expect(decryptSecret(b, key)).toBe(SECRET);
  });

  it('a wrong key fails authentication, naming the key file but not the secret', () => {
    const value = encryptSecret(SECRET, key);
    const err = catchError(() => decryptSecret(value, other));
    expect(err).toBeInstanceOf(SecretError);
    expect(err.code).toBe('auth-failed');
    expect(err.message).toBe(`authentication failed: the value was encrypted with another cluster key (key file ${other}), or it was altered`);
    expect(err.message).not.toContain(SECRET);
    expect(err.message).not.toContain(value.slice(7));
  });

  it('a tampered value fails authentication', () => {
    const value = encryptSecret(SECRET, key);
    const tampered = value.slice(0, -2) + (value.endsWith('A') ? 'BB' : 'AA');
    expect(catchError(() => decryptSecret(tampered, key)).code).toBe('auth-failed');
  });

  it.each([
    ['missing key file', () => decryptSecret(encryptSecret('x', key), path.join(dir, 'none.key')), 'key-missing', /none\.key does not exist .*msgha keygen/],
    ['key file without a key', () => { fs.writeFileSync(path.join(dir, 'junk.key'), 'hello\n', { mode: 0o600 }); return decryptSecret(encryptSecret('x', key), path.join(dir, 'junk.key')); }, 'key-invalid', /junk\.key does not hold a key/],
    ['malformed value', () => decryptSecret('enc:v1:@@@', key), 'malformed', /not base64url/],
    ['truncated value', () => decryptSecret('enc:v1:AAAA', key), 'malformed', /too short/],
  ])('%s: a clear error', (_n, fn, code, message) => {
    const err = catchError(fn);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });

  it('warns when the key file is readable by others', () => {
    const loose = path.join(dir, 'loose.key');
    fs.copyFileSync(key, loose);
    fs.chmodSync(loose, 0o644);
    const warnings: string[] = [];
    expect(decryptSecret(encryptSecret(SECRET, key), loose, { warn: (m) => warnings.push(m) })).toBe(SECRET);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/loose\.key has mode 0644.*chmod 600/);
  });

  it('the agents\' resolver decrypts enc: values and passes clear text through', async () => {
    const resolve = createSecretResolver({ settings: { name: 'c', nodes: ['a'], keyFile: key } });
    expect(await resolve(undefined)).toBeUndefined();
    expect(await resolve('clear')).toBe('clear');
    expect(await resolve(encryptSecret(SECRET, key))).toBe(SECRET);
    const wrong = createSecretResolver({ settings: { name: 'c', nodes: ['a'], keyFile: other } });
    await expect(wrong(encryptSecret(SECRET, key))).rejects.toThrow(/another cluster key/);
  });
});

describe('msgha keygen / encrypt (compiled CLI)', () => {
  const cli = (args: string[], input?: string) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input });

  it('keygen writes a 0600 key and refuses to overwrite it without --force', () => {
    const file = path.join(dir, 'cli/sub/k.key');
    expect(cli(['keygen', '--key-file', file]).status).toBe(0);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = cli(['keygen', '--key-file', file]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already exists.*--force/);
    expect(cli(['keygen', '--key-file', file, '--force']).status).toBe(0);
    expect(cli(['keygen', '--bogus']).status).toBe(2);
  });

  it('encrypt reads one password from stdin (one trailing newline stripped) and prints enc:v1:…', () => {
    const r = cli(['encrypt', '--key-file', key], `${SECRET}\n`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^enc:v1:[A-Za-z0-9_-]+\n$/);
    expect(decryptSecret(r.stdout.trim(), key)).toBe(SECRET);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('encrypt refuses empty or multi-line input and never echoes the secret in errors', () => {
    expect(cli(['encrypt', '--key-file', key], '').status).toBe(1);
    const two = cli(['encrypt', '--key-file', key], `${SECRET}\nsecond\n`);
    expect(two.status).toBe(1);
    expect(two.stderr).toMatch(/more than one line/);
    const noKey = cli(['encrypt', '--key-file', path.join(dir, 'absent.key')], SECRET);
    expect(noKey.status).toBe(1);
    expect(noKey.stderr).toMatch(/absent\.key does not exist/);
    expect(noKey.stdout + noKey.stderr + two.stderr).not.toContain(SECRET);
  });
});
