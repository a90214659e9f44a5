/**
 * `msgha explain [Type | cluster | group | lease | --markdown]`: the reference of the cluster
 * file, generated from the declarations. Exit 0, 1 for an unknown topic (exit-codes.ts).
 */
import type { Command } from 'commander';
import { TYPE_NAMES } from '../../resource-types';
import { suggestion } from '../../config/did-you-mean';
import {
  explainKeys, explainMarkdown, explainType, explainTypeList, findType,
} from '../../config/explain';
import { CLUSTER_KEYS, GROUP_KEYS } from '../../config/keys';

import { EXIT, type ExitCode } from './exit-codes';
import type { Output } from './output';
import { act, runVerbArgs } from './program';

export function define(program: Command): Command {
  const cmd = program.command('explain').description('describe the attributes of the cluster file (docs/cli.md has the whole reference)')
    .argument('[topic]', 'a resource type, cluster, group or lease (none: the list of types)')
    .option('--markdown', 'the whole reference as Markdown')
    .addHelpText('after', '\nExamples:\n  msgha explain SunJESMsg\n  msgha explain lease\n  msgha explain --markdown > cluster-file.md');
  return act(cmd, ({ args, opts, out }) => explain(args[0] as string | undefined, opts.markdown === true, out));
}

export function run(args: string[]): Promise<number> { return runVerbArgs('explain', define, args); }

async function explain(topic: string | undefined, markdown: boolean, o: Output): Promise<ExitCode> {
  const out = (text: string): ExitCode => { process.stdout.write(text + '\n'); return EXIT.OK; };
  if (markdown && topic === undefined) return out(explainMarkdown());
  if (topic === undefined) return out(explainTypeList());
  switch (topic.toLowerCase()) {
    case 'cluster': return out(explainKeys('cluster: { … } keys:', CLUSTER_KEYS));
    case 'group': case 'groups': return out(explainKeys('Keys of a group (groups: { name: { … } }):', GROUP_KEYS));
    // Loaded here: the lease module is only needed for this verb.
    case 'lease': return out((require('../../lease/explain') as typeof import('../../lease/explain')).explainLease());
  }
  const type = findType(topic);
  if (!type) return o.fail(EXIT.FAILED, `unknown type "${topic}" (${suggestion(topic, [...TYPE_NAMES, 'cluster', 'group', 'lease']) || 'see msgha explain'})`);
  return out(explainType(type));
}
