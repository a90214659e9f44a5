/**
 * The lease module's public surface (research/lease.md): profiles and their checks, the record,
 * the stores, the elector, the local guard and agent hooks, and the explain text.
 */
export { Elector, type ElectorOptions, type ElectorStatus, type ElectorEvent, type LostReason, type RenewInfo, type AcquireInfo, type ResumeToken } from './elector';
export { PROFILES, getProfile, validateTimings, assertValidProfile, describeProfile, failoverBounds, fenceMs, timingsDigest, type LeaseProfile, type LeaseTimings, type ProfileName } from './profiles';
export { checkClusterProfile, compareClusterFile, ProfileMismatchError, CLUSTER_FILE } from './cluster-profile';
export { HelperStore, type HelperOptions } from './helper-store';
export { MemoryDirectory, MemoryStoreView } from './memory-store';
export { encodeRecord, decodeRecord, RECORD_SIZE, type LeaseRecord } from './record';
export { monotonicClock, monotonicMs, scaledClock, type Clock } from './clock';
export { writeGuard, readGuard, removeGuard, guardPath, DEFAULT_RUN_DIR, type Guard } from './guard';
export { leaseHooks, setLeaseHooks, guardHooks, type LeaseHooks } from './hooks';
export { explainLease } from './explain';
export type { LeaseStore, IoResult, IoCode } from './store';

import * as path from 'node:path';
/** The store root for a cluster: `<sharedDir>/.cluster/<cluster>`. */
export function leaseRoot(sharedDir: string, cluster: string): string {
  return path.join(sharedDir, '.cluster', cluster);
}
