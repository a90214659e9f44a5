/** `msgha unfreeze`: unfreeze a group (action-verb.ts: the local coordinator through PM2; also without a local coordinator, through the shared directory). */
import { runVerb } from './action-verb';

export const usage = 'unfreeze <group> [--json] [--cluster FILE]   resume automatic actions for the group';

export function run(args: string[]): Promise<number> {
  return runVerb({ action: 'unfreeze', usage, param: true, idempotent: true }, args);
}
