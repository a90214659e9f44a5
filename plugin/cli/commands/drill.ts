/** `msgha drill`: check that a group could start on this node (action-verb.ts: the local coordinator through PM2). */
import { runVerb } from './action-verb';

export const usage = 'drill <group> [--json]           check that the group could start on this node, without starting it';

export function run(args: string[]): Promise<number> {
  return runVerb({ action: 'drill', usage, param: true, idempotent: true }, args);
}
