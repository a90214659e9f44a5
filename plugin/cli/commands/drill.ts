/** `msgha drill`: check that the group could start on this node, without starting it (action-verb.ts: the local coordinator through PM2). */
import type { Command } from 'commander';
import { defineActionVerb, runArgs, type VerbSpec } from './action-verb';

const SPEC: VerbSpec = {
  action: 'drill',
  arg: '<group>',
  argHelp: 'the group to check',
  summary: 'check that the group could start on this node, without starting it',
  idempotent: true,
  examples: `  msgha drill mail --json`,
};

export function define(program: Command): Command { return defineActionVerb(program, SPEC); }
export function run(args: string[]): Promise<number> { return runArgs(SPEC, args); }
