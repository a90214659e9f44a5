/**
 * Entry point of the coordinator app (`msgha` from an ecosystem file, or `pm2-messaging-ha`
 * when installed with `pm2 install`). One code path for both.
 *
 * Guarantees: never crash-loops on a missing or invalid cluster file — it logs why, stays up and
 * answers `pm2 trigger … status` with the reason (a `pm2 set …:cluster_file` restarts it with the
 * new value). SIGINT/SIGTERM detach from PM2 without taking any group offline. Its soft
 * RLIMIT_NOFILE is raised to the hard limit before anything is forked (the lease I/O helpers and
 * the fence inherit it); `status` says whether the /metrics port is this coordinator's.
 */
import * as fs from 'node:fs';
import { execProgram } from './core/exec';
import { loadCluster } from './config/load';
import { formatProblem } from './model/problems';
import { createLogger } from './core/log';
import { registerActions, type ActionTarget } from './coordinator/actions';
import { clusterFileFromEnv, nodeName } from './coordinator/config-source';
import { Coordinator } from './coordinator/coordinator';
import { Observability } from './coordinator/observability';
import { MultiNodeMode } from './cluster/multi-node';
import type { ClusterModeFactory } from './coordinator/cluster-mode';

const log = createLogger('msgha', 'coordinator', process.env.MSGHA_LOG_LEVEL === 'TRACE' ? 'TRACE' : 'INFO');
let coordinator: Coordinator | undefined;
let observability: Observability | undefined;
let notRunning = 'starting';

// Our own @pm2/io (the app runs with pmx:false); required, never io.init() (it wipes actions).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const io = require('@pm2/io') as {
  action(name: string, fn: (...args: never[]) => void): void;
  metric(opts: { name?: string; unit?: string; value?: () => number }): unknown;
};
registerActions(io, (): ActionTarget | { error: string } => (coordinator && observability ? withExporter(coordinator, observability) : coordinator ?? { error: notRunning }), (line) => log.info(line));

/** The coordinator's actions, with its status saying whether the metrics port is ours. */
function withExporter(c: Coordinator, obs: Observability): ActionTarget {
  return {
    status: () => ({ ...c.status(), metrics: obs.exporterState() }),
    online: (g) => c.online(g), offline: (g) => c.offline(g), clear: (t) => c.clear(t), probe: (r) => c.probe(r),
    switchGroup: (p) => c.switchGroup(p), freeze: (p) => c.freeze(p), unfreeze: (g) => c.unfreeze(g),
    evacuate: () => c.evacuate(), drill: (g) => c.drill(g),
  };
}

/** RLIMIT_NOFILE of this process from /proc/self/limits ('unlimited' → Infinity). */
function fileLimit(): { soft: number; hard: number } | undefined {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const [soft, hard] = (line ?? '').replace('Max open files', '').trim().split(/\s+/).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
    return soft !== undefined && hard !== undefined && !Number.isNaN(soft) && !Number.isNaN(hard) ? { soft, hard } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Soft RLIMIT_NOFILE up to the hard limit (Node has no setrlimit; prlimit is util-linux), so that
 * descriptors run out as late as the system allows. Node raises its own soft limit at start too;
 * this covers a start that did not, and logs what the coordinator and its children work with.
 */
async function raiseFileLimit(): Promise<void> {
  const before = fileLimit();
  if (!before) { log.warn('cannot read /proc/self/limits: RLIMIT_NOFILE left as it is'); return; }
  if (before.soft >= before.hard || !Number.isFinite(before.hard)) {
    log.info(`open files: soft limit ${before.soft} is the hard limit already (the fence and the lease I/O helpers inherit it)`);
    return;
  }
  const r = await execProgram(['prlimit', '--pid', String(process.pid), `--nofile=${before.hard}:${before.hard}`], { timeoutMs: 5000 });
  const after = fileLimit();
  if (after && after.soft >= before.hard) log.info(`open files: soft limit raised ${before.soft} → ${after.soft} (hard ${after.hard}); the fence and the lease I/O helpers inherit it`);
  else log.warn(`open files: could not raise the soft limit ${before.soft} to the hard limit ${before.hard} with prlimit (${r.spawnError?.message ?? (r.stderr.trim() || `exit ${r.code}`)}): install util-linux`);
}

function idle(reason: string): void {
  notRunning = reason;
  log.error(`${reason}; coordinator idle`);
  setInterval(() => undefined, 1 << 30);
}

async function main(): Promise<void> {
  // First: every process forked later (I/O helpers, the fence) inherits the limit.
  await raiseFileLimit();
  const file = clusterFileFromEnv();
  if (!file) {
    const app = process.env.name ?? 'pm2-messaging-ha';
    idle(`no cluster file configured: set MSGHA_CLUSTER_FILE, or run: pm2 set ${app}:cluster_file /path/to/cluster.config.js`);
    return;
  }
  const loaded = await loadCluster(file);
  for (const p of loaded.problems) (p.severity === 'error' ? log.error : log.warn)(formatProblem(p));
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (!loaded.cluster || errors.length > 0) {
    idle(`${errors.length} problem(s) in ${file}: fix them and restart (pm2 restart ${process.env.name ?? 'msgha'})`);
    return;
  }
  const node = nodeName();
  observability = new Observability({ cluster: loaded.cluster, node, log, lease: (g) => coordinator?.leaseSnapshot(g) });
  const cluster = loaded.cluster;
  const obs = observability;
  // A shared directory makes it a multi-node cluster: leases, views and the cluster's verbs.
  const multiNode: ClusterModeFactory | undefined = cluster.settings.sharedDir
    ? (runners) => new MultiNodeMode(cluster, node, log, runners, obs.leaseEvents())
    : undefined;
  coordinator = new Coordinator(cluster, node, log, observability, multiNode);
  observability.attach(coordinator);
  observability.publishPm2(io);
  log.info(`cluster ${loaded.cluster.settings.name} from ${file}, node ${node}, groups here: ${[...coordinator.groups.keys()].join(', ') || 'none'}`);
  // Before start(): /metrics shows the groups coming online. A port in use does not stop the
  // start: it is retried with a backoff and shown in `msgha status` (metrics/exporter-keeper.ts).
  await observability.startExporter();
  await coordinator.start();
  log.info(coordinator.status().summary);
}

function shutdown(signal: string): void {
  // Deliberately no offline: restarting the coordinator must never bounce the mail service.
  // `pm2 kill` still stops everything, because every agent app runs offline on its own SIGINT.
  log.info(`${signal}: coordinator stopping; groups are left running`);
  coordinator?.stop();
  // Closing the listener lets the next coordinator bind the port at once.
  void Promise.race([observability?.close(), new Promise((r) => setTimeout(r, 500))]).finally(() => process.exit(0));
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

main().catch((err: unknown) => {
  // A lease profile mismatch is an operator's error: its message says what to change.
  const known = err instanceof Error && err.name === 'ProfileMismatchError';
  try { coordinator?.stop(); } catch { /* half started */ }
  coordinator = undefined;
  idle(`coordinator failed to start: ${err instanceof Error ? (known ? err.message : err.stack ?? err.message) : String(err)}`);
});
