/**
 * `msgha secrets upgrade --cluster FILE`: re-encrypts every enc:v1 value of the cluster file as
 * enc:v2, bound to its own place (two attributes that shared one v1 value get one value each).
 * A .json file is rewritten in place (only those values change, atomically, same owner and
 * mode); a .js file is code and is never rewritten: the new values are printed to paste.
 * Nothing is written unless every v1 value decrypts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  decryptSecret, encryptSecret, isUnboundSecret, keyFilePath, placeName, replaceJsonStrings, SecretError, type JsonStringEdit,
} from '../../secrets';
import { loadForSecrets, secretSlots } from './secret-places';

export const usage = 'secrets upgrade --cluster FILE   re-encrypt every enc:v1 value of FILE as enc:v2 (.json rewritten in place, .js: values printed)';

function parseArgs(args: string[]): string | undefined {
  if (args[0] !== 'upgrade') return undefined;
  if (args.length === 3 && args[1] === '--cluster' && args[2]) return args[2];
  if (args.length === 2 && args[1]!.startsWith('--cluster=') && args[1]!.length > '--cluster='.length) return args[1]!.slice('--cluster='.length);
  return undefined;
}

const fail = (message: string): number => {
  process.stderr.write(`msgha secrets upgrade: ${message}\n`);
  return 1;
};

/** Replaces `file` by `text` atomically, keeping its owner and mode. */
function rewrite(file: string, text: string): void {
  const real = fs.realpathSync(file);
  const st = fs.statSync(real);
  const tmp = path.join(path.dirname(real), `.${path.basename(real)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fchownSync(fd, st.uid, st.gid);
    fs.fchmodSync(fd, st.mode & 0o7777);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, real);
  } catch (err) {
    try { fs.closeSync(fd); } catch { /* already closed */ }
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

export async function run(args: string[]): Promise<number> {
  const file = parseArgs(args);
  if (!file) {
    process.stderr.write(`usage: msgha ${usage}\n`);
    return 2;
  }
  const { cluster, why } = await loadForSecrets(file);
  if (!cluster) return fail(why.join('\n'));
  const keyFile = keyFilePath(cluster.settings);
  const old = secretSlots(cluster).filter((s) => isUnboundSecret(s.value));
  if (old.length === 0) {
    process.stdout.write(`${file}: no enc:v1 value; nothing to do\n`);
    return 0;
  }
  const upgraded: { slot: (typeof old)[number]; value: string }[] = [];
  const failures: string[] = [];
  for (const slot of old) {
    try {
      upgraded.push({ slot, value: encryptSecret(decryptSecret(slot.value as string, keyFile, slot.place, file), keyFile, slot.place) });
    } catch (err) {
      failures.push(err instanceof SecretError ? err.message : `${placeName(slot.place)}: ${(err as Error).message}`);
    }
  }
  if (failures.length > 0) return fail(`nothing changed; ${failures.length} of ${old.length} enc:v1 values did not decrypt:\n  ${failures.join('\n  ')}`);

  if (path.extname(file) !== '.json') {
    process.stdout.write(`${file} is code and is not rewritten. Replace each enc:v1 value by the enc:v2 value of its attribute `
      + '(a constant shared by several attributes needs one value per attribute now):\n');
    for (const u of upgraded) process.stdout.write(`${placeName(u.slot.place)}: ${u.value}\n`);
    process.stdout.write(`then check with: msgha validate ${file}\n`);
    return 0;
  }
  const edits: JsonStringEdit[] = upgraded.map((u) => ({
    path: ['groups', u.slot.place.group, 'resources', u.slot.place.resource, u.slot.place.attribute], from: u.slot.value as string, to: u.value,
  }));
  try {
    rewrite(file, replaceJsonStrings(fs.readFileSync(file, 'utf8'), edits));
  } catch (err) {
    return fail(`${file} not changed: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.stdout.write(`${file}: ${upgraded.length} enc:v1 value${upgraded.length === 1 ? '' : 's'} re-encrypted as enc:v2 `
    + `(${upgraded.map((u) => placeName(u.slot.place)).join(', ')}); copy the file to every node\n`);
  return 0;
}
