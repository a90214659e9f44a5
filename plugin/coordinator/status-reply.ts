/** What `pm2 trigger msgha status` answers (the CLI's `msgha status` reads it). */
import type { GroupStatus } from './group-runner';

export interface StatusReply {
  node: string;
  cluster: string;
  file: string;
  /** 'multi-node' when cluster.sharedDir is set. */
  mode: 'one-node' | 'multi-node';
  groups: GroupStatus[];
  summary: string;
  error?: string;
}
