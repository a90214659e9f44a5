/** `msgha offline`: take a group offline (multi-node: and keep it offline cluster-wide) (action-verb.ts: the local coordinator through PM2). */
import type { Command } from 'commander';
import { defineActionVerb, runArgs, type VerbSpec } from './action-verb';

const SPEC: VerbSpec = {
  action: 'offline',
  arg: '<group>',
  argHelp: 'the group to take offline (multi-node: and keep it offline cluster-wide)',
  summary: 'take a group offline (multi-node: and keep it offline cluster-wide)',
  idempotent: true,
  waits: 'offline',
  examples: `  msgha offline mail --wait --timeout 300`,
};

export function define(program: Command): Command { return defineActionVerb(program, SPEC); }
export function run(args: string[]): Promise<number> { return runArgs(SPEC, args); }
