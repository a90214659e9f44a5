/**
 * The per-group operator request file `groups/<g>/admin`, its one parser and its one writer
 * (writeAdmin; the operator verbs and the CLI's shared-directory fallback both write through it).
 * Requests:
 *   {"cmd":"freeze","why":"persistent"|"offline"} — followers never claim;
 *   {"cmd":"move","to":"X","epoch":E} — the holder of epoch E (only) hands over to X;
 *   {"cmd":"none"} or no file — nothing.
 * Every request carries `by` (the writing node, or 'cli'), a random `id` and `seq` (one more
 * than the request it replaces). The file is a signed envelope (format 2):
 *   {"v":2,"body":"<the request as JSON text>","mac":"<hex>", …the request's fields again}
 * The MAC (shared-key.ts, domain admin\0<group>\0) covers the body; the fields repeated beside it
 * are for nodes of an older release during a rolling upgrade and are never read here.
 *
 * Guarantees: parsing never throws. A request counts only when its MAC verifies: anything else
 * (forged, garbage, unsigned) is 'rejected', counted and logged, and acts as no request — so a
 * writer without the key can neither freeze, move nor keep a group frozen. A verified request
 * whose seq is lower than one this node already verified for the group is a replay: rejected.
 * With cluster.lease.acceptUnsigned an unsigned file (format 1) is read by the old rules: an
 * unparseable one is 'invalid', which counts as a persistent freeze. Not guaranteed: deleting
 * the file (or replaying an old record to a node that restarted since) is not detected — it
 * lifts a freeze (docs/lease.md, Who may write the shared directory).
 */
import { randomBytes } from 'node:crypto';
import { domains, type SharedDirKey } from './shared-key';
import type { IoResult, LeaseStore } from './store';

export const ADMIN_VERSION = 2;

/** What an operator may ask for. */
export interface AdminRequest {
  cmd: 'none' | 'freeze' | 'move';
  /** For 'move': the node that should take the group. */
  to?: string;
  /** For 'move': the epoch of the holder the request is for (a later holder ignores it). */
  epoch?: number;
  /** For 'freeze': 'offline' (an operator offline holds the group off) or 'persistent'. */
  why?: 'persistent' | 'offline';
}

/** A record as read back: a request, 'invalid' (unsigned and unparseable) or 'rejected'. */
export interface AdminCommand {
  cmd: AdminRequest['cmd'] | 'invalid' | 'rejected';
  to?: string;
  epoch?: number;
  why?: AdminRequest['why'];
  by?: string;
  id?: string;
  seq?: number;
  /** For 'rejected': why. */
  problem?: string;
  /** For 'rejected': the last request this node verified for the group, which stays in force. */
  last?: AdminCommand;
  /** Read from an unsigned file (acceptUnsigned). */
  unsigned?: boolean;
}

/** The group and key an admin file is read or written with. */
export interface AdminContext { key: SharedDirKey; group: string }

function request(v: Record<string, unknown>): AdminCommand | undefined {
  const id = typeof v.id === 'string' ? v.id : undefined;
  const extra = {
    ...(typeof v.by === 'string' ? { by: v.by } : {}),
    ...(Number.isSafeInteger(v.seq) ? { seq: v.seq as number } : {}),
  };
  if (v.cmd === 'none') return { cmd: 'none', id, ...extra };
  if (v.cmd === 'freeze') return { cmd: 'freeze', id, ...extra, ...(v.why === 'offline' || v.why === 'persistent' ? { why: v.why } : {}) };
  if (v.cmd === 'move' && typeof v.to === 'string' && v.to) {
    return { cmd: 'move', to: v.to, id, ...extra, ...(Number.isSafeInteger(v.epoch) ? { epoch: v.epoch as number } : {}) };
  }
  return undefined;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch { return undefined; }
}

/** The old rules (format 1): an unparseable file is 'invalid' (a persistent freeze). */
function parseUnsigned(text: string): AdminCommand {
  const v = parseJson(text);
  const r = v ? request(v) : undefined;
  if (r) return { ...r, unsigned: true };
  return { cmd: 'freeze' === text.trim() ? 'freeze' : 'invalid', unsigned: true };
}

/**
 * Parses the admin file's text. With `ctx`, verifies it (see the header); without, reads the
 * request without trusting it (only for display by a tool that has no key).
 */
export function parseAdmin(text: string | null, ctx?: AdminContext): AdminCommand {
  if (text === null || text.trim() === '') return { cmd: 'none' };
  const env = parseJson(text);
  const signed = env?.v === ADMIN_VERSION && typeof env.body === 'string' && typeof env.mac === 'string';
  if (!ctx) {
    const body = signed ? parseJson(env.body as string) : undefined;
    return (body && request(body)) ?? parseUnsigned(text);
  }
  const file = `groups/${ctx.group}/admin`;
  const reject = (problem: string): AdminCommand => {
    ctx.key.reject('admin', file, problem);
    const last = ctx.key.adminSeen(ctx.group)?.request as AdminCommand | undefined;
    return { cmd: 'rejected', problem, ...(last ? { last } : {}) };
  };
  if (!signed) {
    if (ctx.key.acceptUnsigned) return parseUnsigned(text);
    return reject(`the admin file of group ${ctx.group} is not signed (format 1, written by an older pm2-messaging-ha, or by someone without the cluster key)`);
  }
  const mac = Buffer.from(env.mac as string, 'hex');
  if (!ctx.key.verify(domains.admin(ctx.group), env.body as string, mac)) return reject('bad MAC (not written with this cluster\'s key for this group)');
  const body = parseJson(env.body as string);
  const r = body ? request(body) : undefined;
  if (!r) return reject('signed, but not a request this release knows');
  const seq = r.seq ?? 0;
  const seen = ctx.key.adminSeen(ctx.group)?.seq ?? 0;
  if (seq < seen) return reject(`replay: seq ${seq} is lower than ${seen}, already seen`);
  ctx.key.noteAdmin(ctx.group, seq, r);
  return r;
}

/**
 * How the cluster acts on a record: invalid (unsigned, unparseable) is a persistent freeze;
 * rejected leaves the last verified request in force (none when this node verified none).
 */
export function effectiveAdmin(a: AdminCommand): AdminCommand & { cmd: AdminRequest['cmd'] } {
  if (a.cmd === 'invalid') return { cmd: 'freeze', why: 'persistent' };
  if (a.cmd === 'rejected') return a.last && a.last.cmd !== 'rejected' ? effectiveAdmin(a.last) : { cmd: 'none' };
  return { ...a, cmd: a.cmd };
}

/** The envelope's text for a request (seq, by and id included). */
export function adminText(ctx: AdminContext, req: AdminRequest & { seq: number; by: string; id: string }): string {
  const body = JSON.stringify(req);
  return JSON.stringify({ v: ADMIN_VERSION, body, mac: ctx.key.mac(domains.admin(ctx.group), body).toString('hex'), ...req });
}

/**
 * The one writer of the admin file. `by`: the node name, or 'cli'. The new request's seq is one
 * more than any this writer verified, and at least the wall time in ms: a writer that cannot
 * read the current request (a fresh CLI over a damaged file) still writes a seq the nodes take
 * for newer. Wall time orders operator requests only, never a lease decision. An unreadable
 * file (I/O error) fails the write.
 */
export async function writeAdmin(store: Pick<LeaseStore, 'readAdmin' | 'writeAdmin'>, ctx: AdminContext, request: AdminRequest, by: string): Promise<IoResult<void>> {
  const cur = await store.readAdmin(ctx.group);
  if (!cur.ok) return cur;
  const now = parseAdmin(cur.value, ctx);
  const seq = Math.max((now.seq ?? 0) + 1, (ctx.key.adminSeen(ctx.group)?.seq ?? 0) + 1, Date.now());
  const req = { ...request, seq, by, id: randomBytes(6).toString('hex') };
  const w = await store.writeAdmin(ctx.group, adminText(ctx, req));
  if (w.ok) ctx.key.noteAdmin(ctx.group, seq, request.cmd === 'none' ? { cmd: 'none', seq } : { ...req });
  return w;
}
