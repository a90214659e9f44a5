/**
 * `msgha secrets upgrade --cluster FILE`: re-encrypts every enc:v1 value of the cluster file as
 * enc:v2, bound to its own place (two attributes that shared one v1 value get one value each).
 * A .json file is rewritten in place (only those values change, atomically, same owner and
 * mode); a .js file is code and is never rewritten: the new values are printed to paste.
 * Nothing is written unless every v1 value decrypts.
 */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  decryptSecret, encryptSecret, isUnboundSecret, keyFilePath, placeName, replaceJsonStrings, SecretError, type JsonStringEdit,
} from '../../secrets';
import { EXIT, type ExitCode } from './exit-codes';
import { Output } from './output';
import { act, runVerbArgs } from './program';
import { loadForSecrets, secretSlots } from './secret-places';

export function define(program: Command): Command {
  const secrets = program.command('secrets').description('manage the encrypted values of a cluster file');
  const upgrade = secrets.command('upgrade').description('re-encrypt every enc:v1 value of FILE as enc:v2 (.json rewritten in place, .js: values printed)')
    .requiredOption('--cluster <file>', 'the cluster file')
    .addHelpText('after', '\nExamples:\n  msgha secrets upgrade --cluster /etc/msgha/mail.json');
  act(upgrade, () => upgradeFile(upgrade.opts().cluster as string, new Output('secrets upgrade', false)));
  return secrets;
}

export function run(args: string[]): Promise<number> { return runVerbArgs('secrets', define, args); }

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

async function upgradeFile(file: string, out: Output): Promise<ExitCode> {
  const fail = (message: string): ExitCode => out.fail(EXIT.FAILED, message);
  const { cluster, why } = await loadForSecrets(file);
  if (!cluster) return fail(why.join('\n'));
  const keyFile = keyFilePath(cluster.settings);
  const old = secretSlots(cluster).filter((s) => isUnboundSecret(s.value));
  if (old.length === 0) {
    process.stdout.write(`${file}: no enc:v1 value; nothing to do\n`);
    return EXIT.OK;
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
    return EXIT.OK;
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
  return EXIT.OK;
}
