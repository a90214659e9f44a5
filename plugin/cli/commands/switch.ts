/** `msgha switch`: move a group to another node (action-verb.ts: the local coordinator through PM2; with no local coordinator, a move request in the shared directory). */
import { runVerb } from './action-verb';

export const usage = 'switch <group>[:<node>] [--json] [--cluster FILE]   move a group to another node (clean offline, handoff)';

export function run(args: string[]): Promise<number> {
  return runVerb({ action: 'switch', usage, param: true, idempotent: false }, args);
}
