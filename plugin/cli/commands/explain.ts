/**
 * `msgha explain [Type | cluster | group | lease | --markdown]`: the reference of the cluster
 * file, generated from the declarations. Exit 0, 1 for an unknown topic, 2 for a usage error.
 */
import { TYPE_NAMES } from '../../resource-types';
import { suggestion } from '../../config/did-you-mean';
import {
  explainKeys, explainMarkdown, explainType, explainTypeList, findType,
} from '../../config/explain';
import { CLUSTER_KEYS, GROUP_KEYS } from '../../config/keys';

export const usage = 'explain [Type|cluster|group|lease] [--markdown]   describe the attributes of the cluster file';

export async function run(args: string[]): Promise<number> {
  const markdown = args.includes('--markdown');
  const rest = args.filter((a) => a !== '--markdown');
  if (rest.length > 1 || rest.some((a) => a.startsWith('-'))) {
    process.stderr.write(`usage: msgha ${usage}\n`);
    return 2;
  }
  const out = (text: string): number => { process.stdout.write(text + '\n'); return 0; };
  if (markdown && rest.length === 0) return out(explainMarkdown());
  const topic = rest[0];
  if (topic === undefined) return out(explainTypeList());
  switch (topic.toLowerCase()) {
    case 'cluster': return out(explainKeys('cluster: { … } keys:', CLUSTER_KEYS));
    case 'group': case 'groups': return out(explainKeys('Keys of a group (groups: { name: { … } }):', GROUP_KEYS));
    // Loaded here: the lease module is only needed for this verb.
    case 'lease': return out((require('../../lease/explain') as typeof import('../../lease/explain')).explainLease());
  }
  const type = findType(topic);
  if (!type) {
    process.stderr.write(`msgha explain: unknown type "${topic}" (${suggestion(topic, [...TYPE_NAMES, 'cluster', 'group', 'lease']) || 'see msgha explain'})\n`);
    return 1;
  }
  return out(explainType(type));
}
