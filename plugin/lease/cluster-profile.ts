/**
 * `cluster.json` in the shared directory: the timing profile every node must share. The first
 * node creates it (link(), so concurrent first starts agree on one file); every node compares
 * its own timings with it before starting any elector.
 *
 * The file is signed (shared-key.ts, domain cluster\0): `body` holds the profile as JSON text and
 * `mac` its MAC; the same fields stand beside them in the clear (version 1) for nodes of an older
 * release during a rolling upgrade — they are never read here.
 *
 * Guarantees: a node whose timings differ from the file's refuses to join, with a message naming
 * both profiles and their numbers (client-go let mismatched nodes run: kubernetes #47671). A
 * file whose MAC does not verify, an unreadable or malformed file also refuse, naming the file.
 * An unsigned file (older release) is accepted only with cluster.lease.acceptUnsigned, and then
 * replaced by a signed one (tmp + rename). Not guaranteed: that the file is never edited by hand
 * while nodes run — each node checks at start only (records also carry the digest).
 */
import { timingsDigest, timingsLine, type LeaseProfile, type LeaseTimings } from './profiles';
import { domains, type SharedDirKey } from './shared-key';
import type { LeaseStore } from './store';

export const CLUSTER_FILE = 'cluster.json';
export const CLUSTER_FILE_VERSION = 1;
export const CLUSTER_FILE_SIGNED = 2;

interface ClusterFile { version: number; profile: string; timings: LeaseTimings; digest: number }

export function clusterFileText(p: LeaseProfile, key: SharedDirKey): string {
  const f: ClusterFile = { version: CLUSTER_FILE_VERSION, profile: p.name, timings: p.timings, digest: timingsDigest(p.timings) };
  const body = JSON.stringify(f);
  return JSON.stringify({ ...f, v: CLUSTER_FILE_SIGNED, body, mac: key.mac(domains.cluster(), body).toString('hex') }, null, 2) + '\n';
}

export class ProfileMismatchError extends Error {
  constructor(message: string) { super(message); this.name = 'ProfileMismatchError'; }
}

/** The profile a cluster.json text declares, verified; or the refusal; `unsigned` for an older release's file. */
export function readClusterFile(text: string, key: SharedDirKey, where: string): { file: Partial<ClusterFile>; unsigned: boolean } | { problem: string } {
  let env: Record<string, unknown>;
  try { env = JSON.parse(text) as Record<string, unknown>; } catch {
    return { problem: `${where} is not valid JSON: refusing to join (fix or remove it while no node runs)` };
  }
  if (env === null || typeof env !== 'object') return { problem: `${where} is not a JSON object: refusing to join` };
  if (env.v === CLUSTER_FILE_SIGNED && typeof env.body === 'string' && typeof env.mac === 'string') {
    if (!key.verify(domains.cluster(), env.body, Buffer.from(env.mac, 'hex'))) {
      key.reject('cluster', CLUSTER_FILE, 'bad MAC');
      return { problem: `${where} is not signed with this node's cluster key (bad MAC): refusing to join — every node needs the same key file (msgha keygen on one node, then copy it), or the file was written by someone without the key (remove it while no node runs)` };
    }
    try { return { file: JSON.parse(env.body) as Partial<ClusterFile>, unsigned: false }; } catch {
      return { problem: `${where} is signed but its body is not JSON: refusing to join` };
    }
  }
  if (!key.acceptUnsigned) {
    key.reject('cluster', CLUSTER_FILE, 'unsigned');
    return { problem: `${where} is not signed (written by an older pm2-messaging-ha, or by someone without the cluster key): refusing to join — during a rolling upgrade set cluster.lease.acceptUnsigned: true (docs/lease.md, Upgrading), or remove the file while no node runs` };
  }
  return { file: env as Partial<ClusterFile>, unsigned: true };
}

/** Pure comparison: undefined when compatible, else the refusal message. */
export function compareClusterFile(f: Partial<ClusterFile>, mine: LeaseProfile, where: string): string | undefined {
  if (f.version !== CLUSTER_FILE_VERSION || !f.timings || typeof f.profile !== 'string') {
    return `${where} has version ${String(f.version)} or lacks profile/timings: refusing to join`;
  }
  if (timingsDigest(f.timings) === timingsDigest(mine.timings)) return undefined;
  return `lease profile mismatch: this node runs profile '${mine.name}' (${timingsLine(mine.timings)}) but ${where} says the cluster runs profile '${f.profile}' (${timingsLine(f.timings)}); every node must use the same timings — set cluster.lease.profile to '${f.profile}' on this node, or stop every node and remove ${where} to change the cluster's profile`;
}

/** Creates cluster.json if absent, then checks it. Throws ProfileMismatchError on refusal. */
export async function checkClusterProfile(store: LeaseStore, mine: LeaseProfile, key: SharedDirKey, where = CLUSTER_FILE): Promise<'created' | 'matches'> {
  const c = await store.createMeta(CLUSTER_FILE, clusterFileText(mine, key));
  if (!c.ok) throw new ProfileMismatchError(`cannot create ${where} (${c.message}): refusing to join`);
  if (c.value === 'created') return 'created';
  const r = await store.readMeta(CLUSTER_FILE);
  if (!r.ok || r.value === null) throw new ProfileMismatchError(`cannot read ${where} (${r.ok ? 'missing' : r.message}): refusing to join`);
  const read = readClusterFile(r.value, key, where);
  if ('problem' in read) throw new ProfileMismatchError(read.problem);
  const problem = compareClusterFile(read.file, mine, where);
  if (problem) throw new ProfileMismatchError(problem);
  if (read.unsigned) {
    // acceptUnsigned: an older release's file is replaced by a signed one with the same profile.
    const w = await store.writeMeta(CLUSTER_FILE, clusterFileText(mine, key));
    if (!w.ok) throw new ProfileMismatchError(`cannot replace the unsigned ${where} with a signed one (${w.message}): refusing to join`);
  }
  return 'matches';
}
