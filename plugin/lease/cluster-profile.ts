/**
 * `cluster.json` in the shared directory: the timing profile every node must share. The first
 * node creates it (link(), so concurrent first starts agree on one file); every node compares
 * its own timings with it before starting any elector.
 *
 * Guarantees: a node whose timings differ from the file's refuses to join, with a message naming
 * both profiles and their numbers (client-go let mismatched nodes run: kubernetes #47671). An
 * unreadable or malformed file also refuses. Not guaranteed: that the file is never edited by
 * hand while nodes run — each node checks at start only (records also carry the digest).
 */
import { timingsDigest, timingsLine, type LeaseProfile, type LeaseTimings } from './profiles';
import type { LeaseStore } from './store';

export const CLUSTER_FILE = 'cluster.json';
export const CLUSTER_FILE_VERSION = 1;

interface ClusterFile { version: number; profile: string; timings: LeaseTimings; digest: number }

export function clusterFileText(p: LeaseProfile): string {
  const f: ClusterFile = { version: CLUSTER_FILE_VERSION, profile: p.name, timings: p.timings, digest: timingsDigest(p.timings) };
  return JSON.stringify(f, null, 2) + '\n';
}

export class ProfileMismatchError extends Error {
  constructor(message: string) { super(message); this.name = 'ProfileMismatchError'; }
}

/** Pure comparison: undefined when compatible, else the refusal message. */
export function compareClusterFile(text: string, mine: LeaseProfile, where: string): string | undefined {
  let f: Partial<ClusterFile>;
  try { f = JSON.parse(text) as Partial<ClusterFile>; } catch {
    return `${where} is not valid JSON: refusing to join (fix or remove it while no node runs)`;
  }
  if (f.version !== CLUSTER_FILE_VERSION || !f.timings || typeof f.profile !== 'string') {
    return `${where} has version ${String(f.version)} or lacks profile/timings: refusing to join`;
  }
  if (timingsDigest(f.timings) === timingsDigest(mine.timings)) return undefined;
  return `lease profile mismatch: this node runs profile '${mine.name}' (${timingsLine(mine.timings)}) but ${where} says the cluster runs profile '${f.profile}' (${timingsLine(f.timings)}); every node must use the same timings — set cluster.lease.profile to '${f.profile}' on this node, or stop every node and remove ${where} to change the cluster's profile`;
}

/** Creates cluster.json if absent, then checks it. Throws ProfileMismatchError on refusal. */
export async function checkClusterProfile(store: LeaseStore, mine: LeaseProfile, where = CLUSTER_FILE): Promise<'created' | 'matches'> {
  const c = await store.createMeta(CLUSTER_FILE, clusterFileText(mine));
  if (!c.ok) throw new ProfileMismatchError(`cannot create ${where} (${c.message}): refusing to join`);
  if (c.value === 'created') return 'created';
  const r = await store.readMeta(CLUSTER_FILE);
  if (!r.ok || r.value === null) throw new ProfileMismatchError(`cannot read ${where} (${r.ok ? 'missing' : r.message}): refusing to join`);
  const problem = compareClusterFile(r.value, mine, where);
  if (problem) throw new ProfileMismatchError(problem);
  return 'matches';
}
