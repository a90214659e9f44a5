import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SecretError, createSecretResolver, decryptSecret, encryptSecret, keyFilePath, keyFileProblem, writeNewKey, type SecretPlace,
} from '../../../plugin/secrets';
import { placeAad } from '../../../plugin/secrets/place';

const CLI = path.resolve(__dirname, '../../../dist/plugin/cli/main.js');
const SECRET = 'pa$$w0rd-très-secret';
const PLACE: SecretPlace = { cluster: 'c1', group: 'mail', resource: 'imap', attribute: 'ProbePasswd' };
let dir: string;
let key: string;
let other: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), `msgha-sec-${process.pid}-`));
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

describe('enc:v2, bound to its place', () => {
  it('round-trips in its place, with a fresh IV each time', () => {
    const a = encryptSecret(SECRET, key, PLACE);
    const b = encryptSecret(SECRET, key, PLACE);
    expect(a).toMatch(/^enc:v2:[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(decryptSecret(a, key, PLACE)).toBe(SECRET);
    expect(decryptSecret(b, key, PLACE)).toBe(SECRET);
  });

  it.each([
    ['attribute', { attribute: 'AdminPasswd' }],
    ['resource', { resource: 'pop' }],
    ['group', { group: 'store' }],
    ['cluster', { cluster: 'c2' }],
  ])('moved to another %s: refused, naming the place it is read in, never the secret', (_what, change) => {
    const value = encryptSecret(SECRET, key, PLACE);
    const moved = { ...PLACE, ...change };
    const err = catchError(() => decryptSecret(value, key, moved, '/etc/msgha/mail.json'));
    expect(err).toBeInstanceOf(SecretError);
    expect(err.code).toBe('wrong-place');
    const name = `${moved.group}.${moved.resource}.${moved.attribute}`;
    expect(err.message).toBe(`${name} (cluster ${moved.cluster}): authentication failed: an enc:v2 value decrypts only in the place it was encrypted for, `
      + `and this one was encrypted for another cluster, group, resource or attribute, or with another key (key file ${key}), or it was altered `
      + `(encrypt it for this place: msgha encrypt --cluster /etc/msgha/mail.json --for ${name})`);
    expect(err.message).not.toContain(SECRET);
    expect(err.message).not.toContain(value.slice(7));
  });

  it('the place encoding is unambiguous: fields cannot shift into each other', () => {
    const a = placeAad({ cluster: 'ab', group: 'c', resource: 'r', attribute: 'A' });
    const b = placeAad({ cluster: 'a', group: 'bc', resource: 'r', attribute: 'A' });
    expect(a.equals(b)).toBe(false);
    const value = encryptSecret(SECRET, key, { cluster: 'ab', group: 'c', resource: 'r', attribute: 'A' });
    expect(catchError(() => decryptSecret(value, key, { cluster: 'a', group: 'bc', resource: 'r', attribute: 'A' })).code).toBe('wrong-place');
  });

  it('relabelled as v1 (or v1 as v2), a value does not decrypt', () => {
    const v2 = encryptSecret(SECRET, key, PLACE);
    expect(catchError(() => decryptSecret(v2.replace('enc:v2:', 'enc:v1:'), key, PLACE)).code).toBe('auth-failed');
    const v1 = encryptSecret(SECRET, key);
    expect(catchError(() => decryptSecret(v1.replace('enc:v1:', 'enc:v2:'), key, PLACE)).code).toBe('wrong-place');
  });

  it('needs a place to decrypt and a complete place to encrypt', () => {
    expect(catchError(() => decryptSecret(encryptSecret(SECRET, key, PLACE), key)).code).toBe('no-place');
    expect(catchError(() => encryptSecret(SECRET, key, { ...PLACE, group: '' })).message).toMatch(/has no group/);
  });

  it('another key or a tampered value fails too', () => {
    const value = encryptSecret(SECRET, key, PLACE);
    expect(catchError(() => decryptSecret(value, other, PLACE)).message).toMatch(/or with another key \(key file .*other\.key\)/);
    const tampered = value.slice(0, -2) + (value.endsWith('A') ? 'BB' : 'AA');
    expect(catchError(() => decryptSecret(tampered, key, PLACE)).code).toBe('wrong-place');
  });
});

describe('enc:v1 (unbound) still decrypts anywhere', () => {
  it('round-trips without a place and in any place', () => {
    const a = encryptSecret(SECRET, key);
    expect(a).toMatch(/^enc:v1:[A-Za-z0-9_-]+$/);
    expect(decryptSecret(a, key)).toBe(SECRET);
    expect(decryptSecret(a, key, PLACE)).toBe(SECRET);
    expect(decryptSecret(a, key, { ...PLACE, attribute: 'AdminPasswd' })).toBe(SECRET);
  });

  it('a wrong key fails authentication, naming the key file but not the secret', () => {
    const value = encryptSecret(SECRET, key);
    const err = catchError(() => decryptSecret(value, other));
    expect(err.code).toBe('auth-failed');
    expect(err.message).toBe(`authentication failed: the value was encrypted with another cluster key (key file ${other}), or it was altered`);
    expect(err.message).not.toContain(SECRET);
    expect(err.message).not.toContain(value.slice(7));
  });

  it.each([
    ['missing key file', () => decryptSecret(encryptSecret('x', key), path.join(dir, 'none.key')), 'key-missing', /none\.key does not exist .*msgha keygen/],
    ['key file without a key', () => { fs.writeFileSync(path.join(dir, 'junk.key'), 'hello\n', { mode: 0o600 }); return decryptSecret(encryptSecret('x', key), path.join(dir, 'junk.key')); }, 'key-invalid', /junk\.key does not hold a key/],
    ['malformed value', () => decryptSecret('enc:v1:@@@', key), 'malformed', /not base64url/],
    ['truncated value', () => decryptSecret('enc:v2:AAAA', key, PLACE), 'malformed', /too short/],
    ['unknown format', () => decryptSecret('enc:v9:AAAA', key, PLACE), 'malformed', /unknown secret format/],
  ])('%s: a clear error', (_n, fn, code, message) => {
    const err = catchError(fn);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });
});

describe('the key file is trusted or refused', () => {
  const copyWith = (name: string, mode: number, uid = 0, gid = 0): string => {
    const f = path.join(dir, name);
    fs.copyFileSync(key, f);
    fs.chownSync(f, uid, gid);
    fs.chmodSync(f, mode);
    return f;
  };

  it.each([
    ['0640', 0o640, 0, 0, /has mode 0640, owner root, group root: refused.*chown root:root .* && chmod 600 /],
    ['0604', 0o604, 0, 0, /has mode 0604, owner root, group root: refused/],
    ['0400 owned by nobody', 0o400, 65534, 65534, /has mode 0400, owner nobody, group nogroup: refused/],
  ])('mode/owner %s: refused with the path, mode, owner and the fix', (name, mode, uid, gid, message) => {
    const f = copyWith(`k-${name.replace(/\W/g, '')}.key`, mode, uid, gid);
    const err = catchError(() => decryptSecret(encryptSecret(SECRET, key, PLACE), f, PLACE));
    expect(err.code).toBe('key-untrusted');
    expect(err.message).toContain(f);
    expect(err.message).toMatch(message);
    expect(catchError(() => encryptSecret(SECRET, f, PLACE)).code).toBe('key-untrusted');
  });

  it('0400 owned by root is accepted (no group or other bit)', () => {
    const f = copyWith('k-0400.key', 0o400);
    expect(decryptSecret(encryptSecret(SECRET, key, PLACE), f, PLACE)).toBe(SECRET);
  });

  it('a symbolic link, even to a good key, is refused (O_NOFOLLOW), naming its target', () => {
    const link = path.join(dir, 'link.key');
    fs.symlinkSync(key, link);
    const err = catchError(() => encryptSecret(SECRET, link, PLACE));
    expect(err.code).toBe('key-untrusted');
    expect(err.message).toMatch(new RegExp(`${link} is a symbolic link \\(to ${key}\\): refused`));
  });

  it('a FIFO does not hang the read and is refused', () => {
    const fifo = path.join(dir, 'fifo.key');
    expect(spawnSync('mkfifo', ['-m', '600', fifo]).status).toBe(0);
    expect(catchError(() => encryptSecret(SECRET, fifo, PLACE)).message).toMatch(/fifo\.key is not a regular file: refused/);
  });

  it.each([
    ['writable by others', 0o757, 0, (d: string) => `its directory ${d} is writable by others (mode 0757); another user could replace the key there (fix: chown root:root ${d}; chmod go-w ${d})`],
    ['writable by its group', 0o775, 0, (d: string) => `its directory ${d} is writable by its group, gid 0 (mode 0775)`],
    ['owned by nobody', 0o755, 65534, (d: string) => `its directory ${d} is owned by uid 65534, not by root`],
    ['sticky and world-writable', 0o1777, 0, (d: string) => `its directory ${d} has mode 1777, owner root, group root; others may create names next to the key (fix: chown root ${d} && chmod go-w ${d}`],
  ])('a directory %s is refused, naming it and the fix', (_n, mode, uid, message) => {
    const d = fs.mkdtempSync(path.join(dir, 'd-'));
    const f = path.join(d, 'cluster.key');
    fs.copyFileSync(key, f);
    fs.chownSync(d, uid, 0);
    fs.chmodSync(d, mode);
    const err = catchError(() => decryptSecret(encryptSecret(SECRET, key, PLACE), f, PLACE));
    expect(err.code).toBe('key-untrusted');
    expect(err.message).toContain(`cluster key file ${f}: refused, because ${message(d)}`);
    expect(catchError(() => writeNewKey(path.join(d, 'new.key'))).code).toBe('key-untrusted');
  });

  it('a directory above the key, writable by others and not sticky, is refused (the trusted-path rule)', () => {
    const up = fs.mkdtempSync(path.join(dir, 'up-'));
    fs.mkdirSync(path.join(up, 'keys'), { mode: 0o700 });
    const f = path.join(up, 'keys', 'cluster.key');
    fs.copyFileSync(key, f);
    fs.chmodSync(up, 0o777);
    expect(catchError(() => encryptSecret(SECRET, f, PLACE)).message).toContain(`refused, because on the way to it, ${up} is writable by others (mode 0777)`);
    fs.chmodSync(up, 0o1777); // sticky, as /tmp: others cannot rename what root owns there
    expect(encryptSecret(SECRET, f, PLACE)).toMatch(/^enc:v2:/);
  });
});

describe('the agents\' resolver', () => {
  it('decrypts enc:v2 in the place it is asked for, enc:v1 anywhere, and passes clear text through', async () => {
    const resolve = createSecretResolver({ settings: { name: 'c1', nodes: ['a'], keyFile: key }, file: '/etc/msgha/c1.json' });
    const use = { group: 'mail', resource: 'imap', attribute: 'ProbePasswd' };
    expect(await resolve(undefined, use)).toBeUndefined();
    expect(await resolve('clear', use)).toBe('clear');
    expect(await resolve(encryptSecret(SECRET, key, PLACE), use)).toBe(SECRET);
    expect(await resolve(encryptSecret(SECRET, key), use)).toBe(SECRET);
    await expect(resolve(encryptSecret(SECRET, key, PLACE), { ...use, attribute: 'AdminPasswd' }))
      .rejects.toThrow(/mail\.imap\.AdminPasswd \(cluster c1\).*another cluster, group, resource or attribute.*--cluster \/etc\/msgha\/c1\.json --for mail\.imap\.AdminPasswd/);
    const otherCluster = createSecretResolver({ settings: { name: 'c2', nodes: ['a'], keyFile: key } });
    await expect(otherCluster(encryptSecret(SECRET, key, PLACE), use)).rejects.toThrow(/cluster c2/);
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

  it('encrypt --cluster-name --for reads one password from stdin and prints enc:v2 for that place', () => {
    const r = cli(['encrypt', '--cluster-name', 'c1', '--for', 'mail.imap.ProbePasswd', '--key-file', key], `${SECRET}\n`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^enc:v2:[A-Za-z0-9_-]+\n$/);
    expect(r.stderr).toBe('');
    expect(decryptSecret(r.stdout.trim(), key, PLACE)).toBe(SECRET);
    expect(catchError(() => decryptSecret(r.stdout.trim(), key, { ...PLACE, resource: 'pop' })).code).toBe('wrong-place');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('encrypt without --for still prints an unbound enc:v1, with a warning', () => {
    const r = cli(['encrypt', '--key-file', key], `${SECRET}\n`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^enc:v1:[A-Za-z0-9_-]+\n$/);
    expect(r.stderr).toMatch(/warning: this enc:v1 value is bound to no place.*--cluster FILE --for group\.resource\.Attribute/);
    expect(decryptSecret(r.stdout.trim(), key)).toBe(SECRET);
  });

  it.each([
    [['encrypt', '--for', 'mail.imap.ProbePasswd']],
    [['encrypt', '--cluster', '/x.json']],
    [['encrypt', '--cluster', '/x.json', '--cluster-name', 'c', '--for', 'a.b.C']],
    [['encrypt', '--for', 'a.b.C', '--for', 'a.b.C', '--cluster-name', 'c']],
    [['encrypt', 'hunter2']],
  ])('usage errors exit 2: %j', (args) => {
    const r = cli(args, SECRET);
    expect(r.status).toBe(2);
    // commander's error (or the verb's), then the usage line (issue 11: one parser).
    expect(r.stderr).toMatch(/^msgha encrypt: .*\n(.*\n)*usage: msgha encrypt --cluster FILE --for group\.resource\.Attribute/);
  });

  it('encrypt refuses a bad place, empty or multi-line input, an untrusted key; never echoes the secret', () => {
    const place = ['--cluster-name', 'c1', '--for', 'mail.imap.ProbePasswd'];
    const bad = cli(['encrypt', '--cluster-name', 'c1', '--for', 'mail.ProbePasswd', '--key-file', key], SECRET);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/is not group\.resource\.Attribute/);
    expect(cli(['encrypt', ...place, '--key-file', key], '').status).toBe(1);
    const two = cli(['encrypt', ...place, '--key-file', key], `${SECRET}\nsecond\n`);
    expect(two.status).toBe(1);
    expect(two.stderr).toMatch(/more than one line/);
    const noKey = cli(['encrypt', ...place, '--key-file', path.join(dir, 'absent.key')], SECRET);
    expect(noKey.status).toBe(1);
    expect(noKey.stderr).toMatch(/absent\.key does not exist/);
    const loose = path.join(dir, 'loose.key');
    fs.copyFileSync(key, loose);
    fs.chmodSync(loose, 0o644);
    const refused = cli(['encrypt', ...place, '--key-file', loose], SECRET);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`msgha encrypt: cluster key file ${loose} has mode 0644, owner root, group root: refused`);
    expect(refused.stdout).toBe('');
    expect(bad.stderr + noKey.stdout + noKey.stderr + two.stderr + refused.stderr).not.toContain(SECRET);
  });
});

describe('keyFileProblem (for validate)', () => {
  it('is undefined for a good key and the refusal otherwise', () => {
    expect(keyFileProblem(key)).toBeUndefined();
    expect(keyFileProblem(path.join(dir, 'none.key'))?.code).toBe('key-missing');
    const loose = path.join(dir, 'problem.key');
    fs.copyFileSync(key, loose);
    fs.chmodSync(loose, 0o640);
    expect(keyFileProblem(loose)?.message).toMatch(/has mode 0640, owner root, group root: refused/);
  });
});
