/** `msgha clear`: clear FAULTED (the node may run the group again) (action-verb.ts: the local coordinator through PM2). */
import type { Command } from 'commander';
import { defineActionVerb, runArgs, type VerbSpec } from './action-verb';

const SPEC: VerbSpec = {
  action: 'clear',
  arg: '<group>|<group>.<resource>',
  argHelp: 'the FAULTED group or resource',
  summary: 'clear FAULTED (the node may run the group again)',
  idempotent: true,
  waits: 'clear',
  examples: `  msgha clear mail
  msgha clear mail.imap`,
};

export function define(program: Command): Command { return defineActionVerb(program, SPEC); }
export function run(args: string[]): Promise<number> { return runArgs(SPEC, args); }
