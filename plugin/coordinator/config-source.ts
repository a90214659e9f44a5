/**
 * Where the coordinator finds its cluster file and its node name.
 *
 * Cluster file: MSGHA_CLUSTER_FILE (ecosystem app), else the module configuration
 * (`pm2 set pm2-messaging-ha:cluster_file /path`): PM2 injects each key as its own variable and
 * the whole JSON in a variable named after the app. Node: MSGHA_NODE, else the host name.
 */
import * as path from 'node:path';

export function clusterFileFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const direct = env.MSGHA_CLUSTER_FILE || env.cluster_file;
  if (direct && direct.trim()) return path.resolve(direct.trim());
  const appName = env.name;
  const json = appName ? env[appName] : undefined;
  if (json) {
    try {
      const conf = JSON.parse(json) as { cluster_file?: unknown };
      if (typeof conf.cluster_file === 'string' && conf.cluster_file.trim()) return path.resolve(conf.cluster_file.trim());
    } catch { /* not ours or not JSON: ignore */ }
  }
  return undefined;
}

export { nodeName } from '../core/node-name';
