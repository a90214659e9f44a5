/** `msgha unfreeze`: resume automatic actions for the group (action-verb.ts: the local coordinator through PM2; also without a local coordinator, through the shared directory). */
import type { Command } from 'commander';
import { defineActionVerb, runArgs, type VerbSpec } from './action-verb';

const SPEC: VerbSpec = {
  action: 'unfreeze',
  arg: '<group>',
  argHelp: 'the group',
  summary: 'resume automatic actions for the group',
  idempotent: true,
  sharedDir: true,
  examples: `  msgha unfreeze mail`,
};

export function define(program: Command): Command { return defineActionVerb(program, SPEC); }
export function run(args: string[]): Promise<number> { return runArgs(SPEC, args); }
