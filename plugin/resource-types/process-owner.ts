/**
 * Who runs an instance's processes: the users its pid files and process matches must run as
 * (proc/identity.ts `Owners`), so that a process of another user whose command line looks like
 * the daemon's never counts and is never signalled.
 *
 * DaemonUser when the daemon starts as root and then runs as another user (its processes: that
 * user, or root for a master that keeps root); else User (every program, and so the daemon,
 * runs as it); else the agent's user (root). Users are looked up in /etc/passwd (names or
 * numeric uids); a user that is not there owns nothing, so nothing counts and the reason says why.
 */
import { statSync } from 'node:fs';
import { USER_NAME, lookupUser } from '../core/exec';
import type { AttrDecl } from '../model/attributes';
import { agentOwners, type Owners } from '../proc/identity';
import { attrReader, genericAttr } from './attr-access';
import type { AgentContext } from './contract';

/** Declared once, listed by every type whose processes are matched (Application, SunJES*, NetscapeMsg). */
export const DAEMON_USER_ATTRIBUTE = {
  name: 'DaemonUser', kind: 'string', example: 'openldap',
  pattern: { regex: USER_NAME, rule: 'a POSIX user name (letters, digits, ., _ and -, not starting with - or a digit, at most 32) or a numeric uid' },
  doc: 'UNIX user the daemon runs as when it is started as root and then switches user (e.g. openldap for `slapd -u openldap`): its pid files and matched processes must run as this user or root. Default: User, else root. A process of any other user never counts and is never signalled.',
} as const satisfies AttrDecl;

const attr = attrReader([DAEMON_USER_ATTRIBUTE]);
const PASSWD = '/etc/passwd';

/* One /etc/passwd read per user until the file changes (a stat per check, not a read). */
const cache = new Map<string, { stamp: string; uid: number | undefined }>();

async function uidOf(user: string): Promise<number | undefined> {
  let stamp = '';
  try { const st = statSync(PASSWD); stamp = `${st.ino}:${st.size}:${st.mtimeMs}`; } catch { /* lookup fails below */ }
  const hit = cache.get(user);
  if (hit && hit.stamp === stamp) return hit.uid;
  const uid = (await lookupUser(user, PASSWD).catch(() => undefined))?.uid;
  cache.set(user, { stamp, uid });
  return uid;
}

/** The users this resource's processes may run as (see the file comment). */
export async function processOwners(ctx: AgentContext): Promise<Owners> {
  const daemonUser = attr.text(ctx, 'DaemonUser');
  const user = genericAttr.text(ctx, 'User');
  const agent = agentOwners();
  if (daemonUser !== undefined) {
    const uid = await uidOf(daemonUser);
    if (uid === undefined) return { uids: [], what: `DaemonUser ${daemonUser}, which is not in ${PASSWD} (no process can count)` };
    return { uids: [...new Set([uid, ...agent.uids])], what: `DaemonUser ${daemonUser} (uid ${uid}) or ${agent.what}` };
  }
  if (user !== undefined) {
    const uid = await uidOf(user);
    if (uid === undefined) return { uids: [], what: `User ${user}, which is not in ${PASSWD} (no process can count)` };
    return { uids: [uid], what: `User ${user} (uid ${uid})` };
  }
  return agent;
}
