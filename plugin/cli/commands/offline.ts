/** `msgha offline`: take a group offline (action-verb.ts: the local coordinator through PM2). */
import { runVerb } from './action-verb';

export const usage = 'offline <group> [--json]         take a group offline (multi-node: and keep it offline cluster-wide)';

export function run(args: string[]): Promise<number> {
  return runVerb({ action: 'offline', usage, param: true, idempotent: true }, args);
}
