/** `msgha online`: bring a group online (action-verb.ts: the local coordinator through PM2). */
import { runVerb } from './action-verb';

export const usage = 'online <group> [--json]          bring a group online (multi-node: contend for its lease here)';

export function run(args: string[]): Promise<number> {
  return runVerb({ action: 'online', usage, param: true, idempotent: true }, args);
}
