/** `msgha clear`: clear a FAULTED group or resource (action-verb.ts: the local coordinator through PM2). */
import { runVerb } from './action-verb';

export const usage = 'clear <group>|<group>.<resource> [--json]   clear FAULTED (the node may run the group again)';

export function run(args: string[]): Promise<number> {
  return runVerb({ action: 'clear', usage, param: true, idempotent: true }, args);
}
