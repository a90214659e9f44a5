/** `msgha evacuate`: switch every group held here away (action-verb.ts: the local coordinator through PM2). */
import { runVerb } from './action-verb';

export const usage = 'evacuate [--json]                switch every group held by this node away';

export function run(args: string[]): Promise<number> {
  return runVerb({ action: 'evacuate', usage, param: false, idempotent: true }, args);
}
