/** `msgha evacuate`: switch every group held by this node away (action-verb.ts: the local coordinator through PM2). */
import type { Command } from 'commander';
import { defineActionVerb, runArgs, type VerbSpec } from './action-verb';

const SPEC: VerbSpec = {
  action: 'evacuate',
  summary: 'switch every group held by this node away',
  idempotent: true,
  waits: 'evacuate',
  examples: `  msgha evacuate --wait`,
};

export function define(program: Command): Command { return defineActionVerb(program, SPEC); }
export function run(args: string[]): Promise<number> { return runArgs(SPEC, args); }
