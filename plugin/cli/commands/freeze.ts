/** `msgha freeze`: freeze a group (no automatic action) (action-verb.ts: the local coordinator through PM2; :persistent also without a local coordinator, through the shared directory). */
import { runVerb } from './action-verb';

export const usage = 'freeze <group>[:persistent] [--json] [--cluster FILE]   no automatic action for the group';

export function run(args: string[]): Promise<number> {
  return runVerb({ action: 'freeze', usage, param: true, idempotent: true }, args);
}
