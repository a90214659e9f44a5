/** `msgha online`: bring a group online (multi-node: contend for its lease here) (action-verb.ts: the local coordinator through PM2). */
import type { Command } from 'commander';
import { defineActionVerb, runArgs, type VerbSpec } from './action-verb';

const SPEC: VerbSpec = {
  action: 'online',
  arg: '<group>',
  argHelp: 'the group to bring online (multi-node: contend for its lease here)',
  summary: 'bring a group online (multi-node: contend for its lease here)',
  idempotent: true,
  waits: 'online',
  examples: `  msgha online mail              # waits and shows each resource starting (on a terminal)
  msgha online mail --no-wait --json`,
};

export function define(program: Command): Command { return defineActionVerb(program, SPEC); }
export function run(args: string[]): Promise<number> { return runArgs(SPEC, args); }
