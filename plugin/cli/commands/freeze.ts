/** `msgha freeze`: no automatic action for the group (action-verb.ts: the local coordinator through PM2; :persistent also without a local coordinator, through the shared directory). */
import type { Command } from 'commander';
import { defineActionVerb, runArgs, type VerbSpec } from './action-verb';

const SPEC: VerbSpec = {
  action: 'freeze',
  arg: '<group>[:persistent]',
  argHelp: 'the group; :persistent freezes it cluster-wide (stored in the shared directory)',
  summary: 'no automatic action for the group',
  idempotent: true,
  sharedDir: true,
  examples: `  msgha freeze mail
  msgha freeze mail:persistent --cluster /etc/msgha/mail.config.js`,
};

export function define(program: Command): Command { return defineActionVerb(program, SPEC); }
export function run(args: string[]): Promise<number> { return runArgs(SPEC, args); }
