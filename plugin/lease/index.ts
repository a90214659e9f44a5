/**
 * What a command-line tool needs to read and write a cluster's lease store (docs/lease.md): the
 * profile, the store (I/O in a helper process with a deadline) and where the store lives.
 * Loaded on demand by the CLI; everything else imports the module it needs directly.
 */
import * as path from 'node:path';

export { HelperStore } from './helper-store';
export { getProfile } from './profiles';

/** The store root for a cluster: `<sharedDir>/.cluster/<cluster>`. */
export function leaseRoot(sharedDir: string, cluster: string): string {
  return path.join(sharedDir, '.cluster', cluster);
}
