/**
 * Shared code of the operator verbs (`msgha online|offline|switch|freeze|unfreeze|clear|evacuate|drill`):
 * each is `pm2 trigger <coordinator> <action> [param]` to the coordinator of this node
 * (coordinator-link.ts; never starts a PM2 daemon). Prints the reply's one-line summary (the whole
 * JSON reply with --json). `online`, `offline`, `switch`, `evacuate` and `clear` can wait for the
 * state they ask for (progress.ts): by default when stdout is a terminal and --json is not given,
 * else only with --wait.
 * For another node: `switch`, `freeze <g>:persistent` and `unfreeze` also work with no local
 * coordinator, given the cluster file (--cluster FILE or $MSGHA_CLUSTER_FILE): the request is
 * written into the group's admin file in the shared directory (through an I/O helper process)
 * and the holder carries it out at its next admin check (no wait: no coordinator to follow).
 * Exit codes: exit-codes.ts.
 */
import { Option, type Command } from 'commander';
import type { AdminRequest } from '../../lease/admin';
import { EXIT, type ExitCode } from './exit-codes';
import { CoordinatorLink } from './coordinator-link';
import type { Output } from './output';
import { UsageError } from './output';
import { act, type Opts } from './program';
import type { Goal, Reply, WaitOutcome, WaitVerb } from './progress';

export { COORDINATOR_NAMES } from './coordinator-link';

export interface VerbSpec {
  /** The @pm2/io action, and the verb's name. */
  action: string;
  /** The argument as help shows it, e.g. '<group>' or '<group>[:<node>]'; none for evacuate. */
  arg?: string;
  /** What the argument is, for help. */
  argHelp?: string;
  summary: string;
  /** Safe to ask again when no reply came within an attempt (pm2-client.ts triggerWithRetry). */
  idempotent: boolean;
  /** Can wait for its outcome (--wait / --no-wait / --timeout). */
  waits?: WaitVerb;
  /** Has the shared-directory fallback (--cluster FILE). */
  sharedDir?: boolean;
  /** More help text (examples). */
  examples?: string;
}

/** --cluster FILE, also from $MSGHA_CLUSTER_FILE. */
export function clusterOption(what: string): Option {
  return new Option('--cluster <file>', what).env('MSGHA_CLUSTER_FILE');
}

/** Adds the verb's subcommand. */
export function defineActionVerb(program: Command, spec: VerbSpec): Command {
  const cmd = program.command(spec.action).description(spec.summary);
  const plain = spec.arg !== undefined && /^<\w+>$/.test(spec.arg);
  if (spec.arg) cmd.argument(plain ? spec.arg : '<target>', spec.argHelp ?? '');
  cmd.option('--json', 'print the reply as JSON (errors too)');
  if (spec.sharedDir) cmd.addOption(clusterOption('without a local coordinator: write the request into the shared directory of this cluster file'));
  if (spec.waits) {
    cmd.option('--wait', 'wait for the state asked for, showing each transition (default on a terminal)')
      .option('--no-wait', 'return once the coordinator has answered (default when stdout is not a terminal)')
      .option('--timeout <seconds>', 'with --wait: give up after this long (default: the summed OnlineTimeout/OfflineTimeout of the group plus 30 s)');
  }
  if (spec.arg && !plain) cmd.usage(`[options] ${spec.arg}`);
  if (spec.examples) cmd.addHelpText('after', `\nExamples:\n${spec.examples}`);
  return act(cmd, ({ args, opts, out }) => runVerb(spec, args[0] as string | undefined, opts, out));
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

/** Checks the shape of the parameter before anything is asked. */
function checkParam(action: string, param: string | undefined): void {
  if (param === undefined) return;
  if (!param || /\s/.test(param)) throw new UsageError(`bad argument ${JSON.stringify(param)}`);
  if (action === 'freeze') { const m = param.split(':')[1]; if (m !== undefined && m !== 'persistent') throw new UsageError(`unknown freeze mode '${m}' (only ${param.split(':')[0]}:persistent)`); }
  else if (action === 'switch') { if (param.split(':').length > 2) throw new UsageError(`give <group>[:<node>], not ${JSON.stringify(param)}`); }
  else if (action === 'clear') { if (param.split('.').length > 2) throw new UsageError(`give <group> or <group>.<resource>, not ${JSON.stringify(param)}`); }
  else if (param.includes(':') || param.includes('.')) throw new UsageError(`give a group name, not ${JSON.stringify(param)}`);
}

/** `clear g.r`: the group and the resource are checked here, so each gets its own message. */
function clearTarget(status: Reply | undefined, param: string): string | undefined {
  const [group = '', res] = param.split('.');
  const g = status?.groups?.find((x) => x.name === group);
  if (!status?.groups) return undefined;
  if (!g) return `no group '${group}' on node ${status.node} (groups here: ${status.groups.map((x) => x.name).join(', ') || 'none'})`;
  if (res !== undefined && !g.resources.some((r) => r.name === res)) return `no resource '${res}' in group ${group} (resources: ${g.resources.map((r) => r.name).join(', ')})`;
  return undefined;
}

function seconds(text: unknown): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--timeout must be a number of seconds > 0, not ${JSON.stringify(text)}`);
  return n;
}

async function defaultTimeout(goal: Goal, status: Reply, clusterFile: string | undefined): Promise<number> {
  const { defaultTimeoutS } = await import('./progress');
  let cluster;
  try {
    const { loadCluster } = await import('../../config/load');
    cluster = (await loadCluster(clusterFile ?? status.file)).cluster;
  } catch { /* the attribute defaults then */ }
  const counts = new Map(status.groups.map((g) => [g.name, g.resources.length]));
  let takeoverS = 0;
  if (status.view) {
    const { getProfile } = await import('../../lease');
    const t = getProfile(status.view.profile).timings;
    takeoverS = (t.leaseMs + 5 * t.renewMs + 2 * t.pollMs) / 1000;
  }
  return defaultTimeoutS(goal, cluster, counts, takeoverS);
}

export async function runVerb(spec: VerbSpec, param: string | undefined, opts: Opts, out: Output): Promise<ExitCode> {
  checkParam(spec.action, param);
  const timeoutS = seconds(opts.timeout);
  const found = await CoordinatorLink.open();
  if ('missing' in found) {
    const file = opts.cluster as string | undefined;
    const fb = file && param !== undefined && spec.sharedDir ? await fallback(spec.action, param, file) : undefined;
    if (!fb) return out.fail(EXIT.NO_COORDINATOR, found.missing);
    const reply = { ...fb, summary: `${fb.ok ? 'ok' : 'refused/failed'}: ${fb.reason}`, via: 'shared-dir' };
    if (out.json) out.result({ ...reply, exit: fb.ok ? EXIT.OK : EXIT.FAILED });
    else if (fb.ok) out.say(reply.summary);
    else process.stderr.write(`msgha ${spec.action}: ${reply.summary}\n`);
    return fb.ok ? EXIT.OK : EXIT.FAILED;
  }
  const link = found.link;
  try {
    const wait = spec.waits !== undefined && (opts.wait === true || (opts.wait === undefined && !out.json && process.stdout.isTTY === true));
    const before = wait || spec.action === 'clear' ? await link.status() as Reply | undefined : undefined;
    if (spec.action === 'clear' && param !== undefined) {
      const bad = clearTarget(before, param);
      if (bad) return out.fail(EXIT.FAILED, bad);
    }
    const progress = wait ? await import('./progress') : undefined;
    const watch = progress ? new progress.Watch(performance.now(), out.json ? undefined : (l) => out.say(l)) : undefined;
    const groups = spec.action === 'evacuate' ? (before?.groups ?? []).map((g) => g.name) : param !== undefined ? [param.split(/[:.]/)[0]!] : [];
    if (progress && watch && before?.groups) {
      watch.seed(progress.snapshot(before, groups));
      await progress.followBus(link, before.node, groups, watch).catch(() => undefined);
    }
    const rows = await link.trigger(spec.action, param, spec.idempotent);
    const reply = rows[0]?.value as Record<string, unknown> | undefined;
    if (!reply) return out.fail(EXIT.FAILED, `the coordinator ${link.name} sent an empty reply to ${spec.action}`);
    const summary = String(reply.summary ?? reply.reason ?? JSON.stringify(reply));
    if (reply.ok !== true) {
      if (out.json) out.result({ ...reply, exit: EXIT.FAILED });
      else process.stderr.write(`msgha ${spec.action}: ${summary}\n`);
      return EXIT.FAILED;
    }
    if (!progress || !watch || !before?.groups) {
      if (out.json) out.result({ ...reply, exit: EXIT.OK });
      else out.say(summary);
      if (wait && !before?.groups) process.stderr.write(`msgha ${spec.action}: cannot follow the progress: the coordinator sent no status\n`);
      return EXIT.OK;
    }
    out.say(`${watch.stamp()}  ${summary}`);
    const goal: Goal = {
      verb: spec.waits!,
      groups: spec.action === 'evacuate' ? ((reply.groups as Array<{ group: string; ok: boolean }> | undefined) ?? []).filter((g) => g.ok).map((g) => g.group) : groups,
      ...(spec.action === 'clear' && param?.includes('.') ? { resource: param.split('.')[1]! } : {}),
      ...(spec.action === 'switch' && param?.includes(':') ? { to: param.split(':')[1]! } : {}),
    };
    const limitS = timeoutS ?? await defaultTimeout(goal, before, opts.cluster as string | undefined);
    const w: WaitOutcome = goal.groups.length ? await progress.pollUntil(link, goal, watch, limitS * 1000)
      : { reached: true, timedOut: false, final: 'nothing to wait for', elapsedMs: Math.round(watch.elapsed()), transitions: watch.transitions };
    const code = w.reached ? EXIT.OK : w.timedOut ? EXIT.TIMEOUT : EXIT.FAILED;
    if (out.json) out.result({ ...reply, wait: { ...w, timeoutS: limitS }, exit: code });
    else if (w.reached) out.say(`${watch.stamp(w.elapsedMs)}  done: ${w.final}`);
    else process.stderr.write(`msgha ${spec.action}: ${w.timedOut ? `not reached within ${limitS} s (--timeout)` : 'did not reach the state asked for'}: ${w.final}\n`);
    return code;
  } finally {
    link.close();
  }
}

/** A verb file's `run(args)` (tests, scripts): the same parsing as `msgha <verb> args…`. */
export async function runArgs(spec: VerbSpec, args: string[]): Promise<number> {
  const { runVerbArgs } = await import('./program');
  return runVerbArgs(spec.action, (p) => defineActionVerb(p, spec), args);
}
