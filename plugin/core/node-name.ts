/** This node's name in the cluster: $MSGHA_NODE, else the host name (the coordinator, its agents and preflight agree on it). */
import * as os from 'node:os';

export function nodeName(env: NodeJS.ProcessEnv = process.env): string {
  return env.MSGHA_NODE?.trim() || os.hostname();
}
