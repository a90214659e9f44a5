/**
 * The per-group operator command file `groups/<g>/admin` (JSON, replaced with tmp + rename), its
 * one parser and its one writer (writeAdmin; the operator verbs and the CLI's shared-directory
 * fallback both write through it):
 *   {"cmd":"freeze","why":"persistent"|"offline"} — followers never claim;
 *   {"cmd":"move","to":"X"} — the holder hands over to X;
 *   {"cmd":"none"} or no file — nothing.
 * Every record also carries `by` (the writing node, or 'cli') and a random `id`, so the same
 * request made twice is two requests. Guarantees: parsing never throws; unreadable or unknown
 * content is 'invalid', which every node treats as a persistent freeze (no claim, no automatic
 * action on an unreadable command) until an operator writes a new record (`msgha unfreeze`).
 */
import { randomBytes } from 'node:crypto';
import type { IoResult, LeaseStore } from './store';

/** What an operator may ask for. */
export interface AdminRequest {
  cmd: 'none' | 'freeze' | 'move';
  /** For 'move': the node that should take the group. */
  to?: string;
  /** For 'freeze': 'offline' (an operator offline holds the group off) or 'persistent'. */
  why?: 'persistent' | 'offline';
}

/** A record as read back: a request, or 'invalid'. */
export interface AdminCommand {
  cmd: AdminRequest['cmd'] | 'invalid';
  to?: string;
  why?: AdminRequest['why'];
  by?: string;
  id?: string;
}

export function parseAdmin(text: string | null): AdminCommand {
  if (text === null || text.trim() === '') return { cmd: 'none' };
  try {
    const v = JSON.parse(text) as { cmd?: unknown; to?: unknown; id?: unknown; why?: unknown; by?: unknown };
    const id = typeof v.id === 'string' ? v.id : undefined;
    const by = typeof v.by === 'string' ? { by: v.by } : {};
    if (v.cmd === 'none') return { cmd: 'none', id, ...by };
    if (v.cmd === 'freeze') return { cmd: 'freeze', id, ...by, ...(v.why === 'offline' || v.why === 'persistent' ? { why: v.why } : {}) };
    if (v.cmd === 'move' && typeof v.to === 'string' && v.to) return { cmd: 'move', to: v.to, id, ...by };
  } catch { /* fall through */ }
  return { cmd: 'freeze' === text.trim() ? 'freeze' : 'invalid' };
}

/** How the cluster acts on a record: an invalid one counts as a persistent freeze. */
export function effectiveAdmin(a: AdminCommand): AdminCommand & { cmd: AdminRequest['cmd'] } {
  return a.cmd === 'invalid' ? { cmd: 'freeze', why: 'persistent' } : { ...a, cmd: a.cmd };
}

/** The one writer of the admin file. `by`: the node name, or 'cli'. */
export function writeAdmin(store: Pick<LeaseStore, 'writeAdmin'>, group: string, request: AdminRequest, by: string): Promise<IoResult<void>> {
  return store.writeAdmin(group, JSON.stringify({ ...request, by, id: randomBytes(6).toString('hex') }));
}
