/** Selectors, colours and variables shared by the three dashboards. */
import { GROUP_STATES, RESOURCE_STATES } from '../snapshot';
import { queryVariable, stateMappings, type QueryVariable, type ValueMapping } from './builder';

/** `{node=~"$node", group=~"$group", …}` with extra matchers appended. */
export function sel(...extra: string[]): string {
  return `{${['node=~"$node"', 'group=~"$group"', ...extra].join(', ')}}`;
}

const COLORS: Record<string, string> = {
  OFFLINE: 'text', STARTING: 'blue', ONLINE: 'green', PARTIAL: 'orange', STOPPING: 'purple', FAULTED: 'red', UNKNOWN: 'yellow',
};

export const GROUP_STATE_MAPPINGS: ValueMapping[] = stateMappings(GROUP_STATES, COLORS);
export const RESOURCE_STATE_MAPPINGS: ValueMapping[] = stateMappings(RESOURCE_STATES, COLORS);
export const HOLDER_MAPPINGS: ValueMapping[] = stateMappings(['standby', 'holder'], { standby: 'text', holder: 'green' });
/** msgha_link_up and msgha_remote_probe_success: 0 / 1. */
export const UP_MAPPINGS: ValueMapping[] = stateMappings(['DOWN', 'up'], { DOWN: 'red', up: 'green' });
export const REACHED_MAPPINGS: ValueMapping[] = stateMappings(['no', 'yes'], { no: 'red', yes: 'green' });
/** msgha_group_unreachable_from_network: 0 / 1. */
export const UNREACHABLE_MAPPINGS: ValueMapping[] = stateMappings(['reachable', 'UNREACHABLE'], { reachable: 'green', UNREACHABLE: 'red' });

export const NODE_VAR: QueryVariable = queryVariable('node', 'Node', 'label_values(msgha_group_state_code, node)');
export const GROUP_VAR: QueryVariable = queryVariable('group', 'Group', 'label_values(msgha_group_state_code{node=~"$node"}, group)');
export const RESOURCE_VAR: QueryVariable = queryVariable('resource', 'Resource', 'label_values(msgha_resource_state_code{node=~"$node", group=~"$group"}, resource)');
