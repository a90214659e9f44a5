/** `msgha switch`: move a group to another node (clean offline, handoff) (action-verb.ts: the local coordinator through PM2; with no local coordinator, a move request in the shared directory). */
import type { Command } from 'commander';
import { defineActionVerb, runArgs, type VerbSpec } from './action-verb';

const SPEC: VerbSpec = {
  action: 'switch',
  arg: '<group>[:<node>]',
  argHelp: 'the group, and the node to move it to (default: the next one of its systemList)',
  summary: 'move a group to another node (clean offline, handoff)',
  idempotent: false,
  waits: 'switch',
  sharedDir: true,
  examples: `  msgha switch mail:mx2          # waits until mx2 runs it (on a terminal)
  msgha switch mail:mx2 --cluster /etc/msgha/mail.config.js   # from a node without a coordinator`,
};

export function define(program: Command): Command { return defineActionVerb(program, SPEC); }
export function run(args: string[]): Promise<number> { return runArgs(SPEC, args); }
