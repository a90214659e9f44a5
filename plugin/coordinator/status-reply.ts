/** What `pm2 trigger msgha status` answers (the CLI's `msgha status` reads it). */
import type { ExporterState } from '../metrics/exporter-keeper';
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
  /** Whether this coordinator's /metrics exporter holds its port (added by plugin/main.ts). */
  metrics?: ExporterState;
}
