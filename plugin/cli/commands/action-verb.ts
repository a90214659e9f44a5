/**
 * Shared code of the operator verbs (`msgha online|offline|switch|freeze|unfreeze|clear|evacuate|drill`):
 * each is `pm2 trigger <coordinator> <action> [param]` to the coordinator of this node (the PM2
 * daemon of $PM2_HOME; app `msgha` or the module's name `pm2-messaging-ha`). Prints the reply's
 * one-line summary (or the whole JSON reply with --json).
 * For another node: `switch`, `freeze <g>:persistent` and `unfreeze` also work with no local
 * coordinator, given the cluster file (--cluster FILE or $MSGHA_CLUSTER_FILE): the request is
 * written into the group's admin file in the shared directory (through an I/O helper process)
 * and the holder carries it out at its next admin check.
 * Exit: 0 ok, 1 refused or failed, 2 usage, 3 no coordinator answered (and no shared-directory fallback).
 * Not a module of `msgha` itself: main.ts loads only the names in VERBS.
 */
import type { AdminRequest } from '../../lease/admin';

/** App names the coordinator runs under: ecosystem app, or PM2 module. */
export const COORDINATOR_NAMES = ['msgha', 'pm2-messaging-ha'];

export interface VerbSpec {
  /** The @pm2/io action. */
  action: string;
  usage: string;
  /** Needs one parameter. */
  param: boolean;
  /** Safe to ask again when no reply came within an attempt (pm2-client.ts triggerWithRetry). */
  idempotent: boolean;
}

export function parseArgs(args: string[]): { json: boolean; cluster?: string; rest: string[]; bad?: string } {
  const rest: string[] = [];
  let json = false;
  let cluster: string | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i]!;
    if (a === '--json') json = true;
    else if (a === '--cluster') { cluster = args[i + 1]; i += 1; if (!cluster) return { json, rest, bad: '--cluster needs a file' }; }
    else if (a.startsWith('--')) return { json, rest, bad: `unknown option ${a}` };
    else rest.push(a);
  }
  return { json, cluster: cluster ?? process.env.MSGHA_CLUSTER_FILE, rest };
}

/** Asks the local coordinator; undefined when none runs or none answered. */
export async function askCoordinator(action: string, param: string | undefined, idempotent: boolean): Promise<{ reply?: Record<string, unknown>; tried: string; error?: string }> {
  const client = await import('../../pm2/pm2-client');
  let tried = COORDINATOR_NAMES.join(' or ');
  try {
    await client.connect();
    const apps = await client.list();
    const name = COORDINATOR_NAMES.find((n) => apps.some((a) => a.name === n && a.status === 'online'));
    if (!name) return { tried };
    tried = name;
    const rows = idempotent
      ? await client.triggerWithRetry(name, action, param, 15_000, 20)
      // Not idempotent (a default-target switch would switch back): one attempt, a long wait.
      : await client.triggerWithRetry(name, action, param, 600_000, 1);
    return { reply: rows[0]?.value as Record<string, unknown> | undefined, tried };
  } catch (err) {
    return { tried, error: err instanceof Error ? err.message : String(err) };
  } finally {
    client.disconnect();
    // Whatever PM2 socket is still closing must not keep the command alive.
    setTimeout(() => process.exit(), 200).unref();
  }
}

/** Writes a request into a group's admin file (shared directory), for a node without a local coordinator. */
export async function writeAdminRequest(clusterFile: string, group: string, request: AdminRequest): Promise<{ ok: boolean; reason: string }> {
  const { loadCluster } = await import('../../config/load');
  const loaded = await loadCluster(clusterFile);
  const cluster = loaded.cluster;
  if (!cluster) return { ok: false, reason: `cannot load ${clusterFile}` };
  if (!cluster.settings.sharedDir) return { ok: false, reason: `${clusterFile} has no cluster.sharedDir: there is no shared directory to write a request to` };
  const g = cluster.groups.find((x) => x.name === group);
  if (!g) return { ok: false, reason: `no group '${group}' in ${clusterFile}` };
  if (request.to !== undefined && !g.systemList.includes(request.to)) return { ok: false, reason: `node ${request.to} is not in the systemList of ${group} (${g.systemList.join(', ')})` };
  const { HelperStore, getProfile, leaseRoot } = await import('../../lease');
  const { writeAdmin } = await import('../../lease/admin');
  const { loadSharedDirKey } = await import('../../cluster/cluster-node');
  const { readLease } = await import('../../cluster/cluster-status');
  let key;
  try { key = loadSharedDirKey(cluster); } catch (err) { return { ok: false, reason: (err as Error).message }; }
  const profile = getProfile(cluster.settings.lease?.profile);
  const store = new HelperStore({ root: leaseRoot(cluster.settings.sharedDir, cluster.settings.name), node: 'cli', ioTimeoutMs: profile.timings.ioTimeoutMs, wedgeKillMs: profile.timings.leaseMs, directIo: profile.directIo });
  try {
    const up = await store.start();
    if (!up.ok) return { ok: false, reason: `the I/O helper did not start: ${up.message}` };
    let req = request;
    if (request.cmd === 'move') {
      // A move is for the holder of the newest verified epoch only (a later holder ignores it).
      const l = await store.listEpochs(group);
      const lease = l.ok ? await readLease(store, key, group, l.value) : undefined;
      if (!lease || lease.leaseState !== 'HELD' || lease.epoch === null) return { ok: false, reason: `nobody holds ${group} now (no verified HELD record in the shared directory): nothing to move` };
      req = { ...request, epoch: lease.epoch };
    }
    const w = await writeAdmin(store, { key, group }, req, 'cli');
    return w.ok ? { ok: true, reason: 'written' } : { ok: false, reason: `cannot write the admin file of ${group}: ${w.message}` };
  } finally {
    store.close();
  }
}

/** The shared-directory fallback of switch / freeze :persistent / unfreeze. */
async function fallback(action: string, param: string, clusterFile: string): Promise<{ ok: boolean; reason: string } | undefined> {
  const [group = '', arg] = param.split(':');
  if (action === 'switch') {
    if (!arg) return { ok: false, reason: 'without a local coordinator, name the target: switch <group>:<node>' };
    const r = await writeAdminRequest(clusterFile, group, { cmd: 'move', to: arg });
    return r.ok ? { ok: true, reason: `move request for ${group} to ${arg} written to the shared directory; its holder acts at its next admin check (msgha status --cluster ${clusterFile})` } : r;
  }
  if (action === 'freeze' && arg === 'persistent') {
    const r = await writeAdminRequest(clusterFile, group, { cmd: 'freeze', why: 'persistent' });
    return r.ok ? { ok: true, reason: `${group} frozen cluster-wide (persistent) in the shared directory` } : r;
  }
  if (action === 'unfreeze') {
    const r = await writeAdminRequest(clusterFile, group, { cmd: 'none' });
    return r.ok ? { ok: true, reason: `${group}: persistent freeze lifted in the shared directory (a local freeze on a node stays until unfreeze there)` } : r;
  }
  return undefined;
}

export async function runVerb(spec: VerbSpec, args: string[]): Promise<number> {
  const a = parseArgs(args);
  if (a.bad || a.rest.length !== (spec.param ? 1 : 0)) {
    process.stderr.write(`${a.bad ? `msgha ${spec.action}: ${a.bad}\n` : ''}usage: msgha ${spec.usage}\n`);
    return 2;
  }
  const param = a.rest[0];
  const asked = await askCoordinator(spec.action, param, spec.idempotent);
  let reply = asked.reply;
  if (!reply && a.cluster && param !== undefined) {
    const fb = await fallback(spec.action, param, a.cluster);
    if (fb) reply = { ...fb, summary: `${fb.ok ? 'ok' : 'refused/failed'}: ${fb.reason}`, via: 'shared-dir' };
  }
  if (!reply) {
    process.stderr.write(`msgha ${spec.action}: no coordinator answered (looked for a running ${asked.tried} in PM2_HOME ${process.env.PM2_HOME ?? '~/.pm2'})${asked.error ? `: ${asked.error}` : ''}\n`);
    return 3;
  }
  if (a.json) process.stdout.write(JSON.stringify(reply, null, 2) + '\n');
  else process.stdout.write(`${String(reply.summary ?? reply.reason ?? JSON.stringify(reply))}\n`);
  return reply.ok === true ? 0 : 1;
}
