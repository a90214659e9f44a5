/**
 * The per-group operator command file `groups/<g>/admin` (JSON, replaced with tmp + rename):
 * {"cmd":"freeze"} — followers never claim; {"cmd":"move","to":"X"} — the holder hands over to X;
 * {"cmd":"none"} or no file — nothing. Guarantees: parsing never throws; unreadable or unknown
 * content is 'invalid', which followers treat like freeze (no claim on an unreadable command).
 */

export interface AdminCommand {
  cmd: 'none' | 'freeze' | 'move' | 'invalid';
  to?: string;
  /** Random id, so the same target requested twice is two requests. */
  id?: string;
}

export function parseAdmin(text: string | null): AdminCommand {
  if (text === null || text.trim() === '') return { cmd: 'none' };
  try {
    const v = JSON.parse(text) as { cmd?: unknown; to?: unknown; id?: unknown };
    const id = typeof v.id === 'string' ? v.id : undefined;
    if (v.cmd === 'none') return { cmd: 'none', id };
    if (v.cmd === 'freeze') return { cmd: 'freeze', id };
    if (v.cmd === 'move' && typeof v.to === 'string' && v.to) return { cmd: 'move', to: v.to, id };
  } catch { /* fall through */ }
  return { cmd: 'freeze' === text.trim() ? 'freeze' : 'invalid' };
}
