/**
 * When the cluster key file may be used: a regular file (never through a symbolic link), owned
 * by root (or by the user running msgha, when that is not root), mode 0600 with no group or
 * other bit; every directory on the way trusted by the one trusted-path rule (core/trusted-path.ts),
 * and the key's own directory not writable by group or others even when sticky. Anything else is
 * refused, not warned about: whoever can read or swap the key decrypts every secret of the cluster.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkTrustedPath } from '../core/trusted-path';
import { SecretError } from './errors';

const mode4 = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/** `name` from /etc/passwd or /etc/group, else the number. */
function accountName(table: '/etc/passwd' | '/etc/group', id: number): string {
  try {
    for (const line of fs.readFileSync(table, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[2] === String(id) && f[0]) return f[0];
    }
  } catch { /* no table: the number will do */ }
  return String(id);
}

const describe = (st: fs.Stats): string =>
  `mode ${mode4(st.mode)}, owner ${accountName('/etc/passwd', st.uid)}, group ${accountName('/etc/group', st.gid)}`;

/** Root, and the user running msgha when that is not root (a key of one's own). */
function owners(): number[] {
  const euid = process.geteuid?.() ?? 0;
  return euid === 0 ? [] : [euid];
}

function trustedOwner(uid: number): boolean {
  return uid === 0 || owners().includes(uid);
}

const untrusted = (message: string): SecretError => new SecretError('key-untrusted', message);

/**
 * Throws unless the directories leading to the key file are safe from other users. Says nothing
 * about the file itself (checked on its open descriptor, checkKeyFileStat) nor about a missing
 * file (reported as missing when it is opened).
 */
export function checkKeyDirectory(keyFile: string): void {
  const abs = path.resolve(keyFile);
  const r = checkTrustedPath(abs, { owners: owners() });
  // A breach at the file itself (missing, not a file, a wrong mode) is judged at its open.
  if (!r.ok && r.breach.path !== abs) {
    const b = r.breach;
    if (b.code === 'ENOENT') return; // a missing directory: the key is reported missing at its open
    if (b.code) throw new SecretError('key-unreadable', `cannot examine ${b.path} on the way to cluster key file ${keyFile}: ${b.code}`);
    const via = b.via.length > 0 ? `, reached through ${b.via.join(', ')}` : '';
    throw untrusted(`cluster key file ${keyFile}: refused, because ${b.path === path.dirname(abs) ? 'its directory' : 'on the way to it,'} ${b.path} ${b.rule}${via}; `
      + `another user could replace the key there (fix: ${b.fix})`);
  }
  // The rule lets a sticky directory (as /tmp) pass on the way; the key's own must not be one.
  const dir = r.ok ? path.dirname(r.real) : fs.realpathSync(path.dirname(abs));
  const st = fs.lstatSync(dir);
  if ((st.mode & 0o022) !== 0) {
    throw untrusted(`cluster key file ${keyFile}: refused, because its directory ${dir} has ${describe(st)}; `
      + `others may create names next to the key (fix: chown root ${dir} && chmod go-w ${dir}, or move the key to a directory of its own)`);
  }
}

/** Throws unless `st` (the opened key file's fstat) is a regular file, root's, mode 0600 or stricter. */
export function checkKeyFileStat(keyFile: string, st: fs.Stats): void {
  if (!st.isFile()) {
    throw untrusted(`cluster key file ${keyFile} is not a regular file: refused (write one with \`msgha keygen --key-file ${keyFile}\`)`);
  }
  if (!trustedOwner(st.uid) || (st.mode & 0o077) !== 0) {
    throw untrusted(`cluster key file ${keyFile} has ${describe(st)}: refused; whoever can read or rewrite it can decrypt every secret. `
      + `It must be owned by root with mode 0600 (fix: chown root:root ${keyFile} && chmod 600 ${keyFile})`);
  }
}

/** Throws when the key path itself is a symbolic link (checked again by O_NOFOLLOW at the open). */
export function refuseKeyLink(keyFile: string): void {
  let link = false;
  try { link = fs.lstatSync(keyFile).isSymbolicLink(); } catch { /* missing: reported at the open */ }
  if (link) throw symlinkRefusal(keyFile);
}

/** The message for a key path that is a symbolic link. */
export function symlinkRefusal(keyFile: string): SecretError {
  let target = '?';
  try { target = fs.readlinkSync(keyFile); } catch { /* gone meanwhile */ }
  return untrusted(`cluster key file ${keyFile} is a symbolic link (to ${target}): refused, a link can be re-pointed. `
    + `Put the key file itself there (fix: cp --remove-destination -- "$(readlink -f ${keyFile})" ${keyFile} && chmod 600 ${keyFile})`);
}
