/**
 * Entry point of an agent app: the PM2 app `<group>:<resource>` (namespace = group) that the
 * coordinator registers for every resource it may run, and starts only while the resource should
 * run here: PM2 shows it `online` with the component, `stopped` without. Environment:
 * MSGHA_CLUSTER_FILE, MSGHA_RESOURCE (`group.resource`), MSGHA_NODE.
 *
 * Guarantees: a bad configuration never crash-loops — the agent logs every problem, stays up and
 * answers every command with a 'configuration' failure. SIGINT/SIGTERM (`pm2 stop`, `pm2 kill`)
 * runs a complete offline (clean if offline fails) before exit 0, so a PM2 stop is a real stop
 * (the app runs with treekill:false and a kill_timeout above OfflineTimeout + CleanTimeout).
 * Losing the PM2 daemon ('disconnect') is logged; without a lease (one-node mode) the resource
 * is left as it is. With a lease (MSGHA_LEASE=1, set by a multi-node coordinator), the agent
 * reads its group's serve deadline from the local guard file ($MSGHA_RUN_DIR/<group>.lease) and
 * cleans its resource by itself when that deadline passes without renewal (docs/lease.md, "The
 * layers that stop a holder") — also after 'disconnect', when it keeps serving only until the
 * deadline, cleans, and exits (the fence kills the daemons at F in any case). A retire (the
 * coordinator no longer needs the app here) ends it with RETIRED_EXIT_CODE: PM2 shows it stopped.
 * `pm2 show <app>` shows the component (state, reason, daemons, their CPU and memory, restarts in
 * place, last probe) within a second of any change.
 */
import { loadCluster } from '../config/load';
import { formatProblem } from '../model/problems';
import { getResourceType } from '../resource-types';
import { isDeepCycle } from '../resource-types/monitor-levels';
import { watchPids } from '../proc/pid-watch';
import { createSecretResolver } from '../secrets';
import { createLogger, type Logger } from '../core/log';
import { DEFAULT_RUN_DIR, readGuard } from '../lease/guard';
import { monotonicMs } from '../lease/clock';
import { publishAgentMetrics } from '../metrics/pm2-io';
import { usageSampler } from '../proc/usage';
import { AgentCore, type WatchPids } from './agent-core';
import { createAxmPublisher } from '../pm2/axm-metrics';
import { logLevelOf } from '../resource-types/function-runner';
import {
  OBSERVE_EVENT, OBSERVE_FLUSH_MS, parseCommand, RESULT_EVENT, RETIRED_EXIT_CODE, retiredReply, STATE_EVENT, type AgentCommand, type Observation, type ObservedMessage, type OutgoingMessage,
} from '../pm2/protocol';

const resourceId = process.env.MSGHA_RESOURCE ?? '';
const clusterFile = process.env.MSGHA_CLUSTER_FILE ?? '';
let log: Logger = createLogger(resourceId || 'agent', 'agent');

function send(message: OutgoingMessage | ObservedMessage): void {
  // After a 'disconnect' process.send would throw; the state is kept locally until a new daemon.
  if (process.send && process.connected) process.send(message);
  // `pm2 show` fresh after every change, not at the next period.
  if (message.type === STATE_EVENT) showSoon();
}

let core: AgentCore | undefined;
let configurationError: string | undefined;
const early: AgentCommand[] = [];
let exiting = false;
/** The PM2 daemon is gone: with a lease, exit once the resource is cleaned. */
let orphaned = false;
const leaseManaged = process.env.MSGHA_LEASE === '1';
const runDir = process.env.MSGHA_RUN_DIR || DEFAULT_RUN_DIR;

// `pm2 show <app>` / `pm2 monit`: the component. A small publisher of PM2's axm:monitor messages
// rather than @pm2/io (see axm-metrics.ts for why): right after each state report, and every
// 15 s for the daemons' CPU and memory — an agent that has nothing to do must not wake up often
// (a node may run a hundred of them).
const sampleUsage = usageSampler();
const publisher = createAxmPublisher({ intervalMs: 15_000 });
publishAgentMetrics(publisher, () => {
  if (!core) return { state: configurationError !== undefined ? 'CONFIGURATION ERROR' : 'STARTING', restarts: 0, ...(configurationError ? { reason: configurationError } : {}) };
  const view = core.metricsView();
  const usage = sampleUsage(view.pids ?? []);
  return usage ? { ...view, usage } : view;
});
let showPending = false;
function showSoon(): void {
  if (showPending) return;
  showPending = true;
  setImmediate(() => { showPending = false; publisher.flush(); });
}

// Observations (metrics only) go to the coordinator in one batch at most every OBSERVE_FLUSH_MS;
// the timer runs only while some are waiting.
const observations: Observation[] = [];
let observeTimer: NodeJS.Timeout | undefined;
function observed(o: Observation): void {
  observations.push(o);
  observeTimer ??= setTimeout(flushObservations, OBSERVE_FLUSH_MS).unref();
}
function flushObservations(): void {
  observeTimer = undefined;
  if (observations.length > 0) send({ type: OBSERVE_EVENT, data: observations.splice(0) });
}

function refuse(command: AgentCommand, reason: string): void {
  send({ type: RESULT_EVENT, data: { resource: resourceId, pid: process.pid, fn: command.cmd, reqId: command.reqId, ok: false, state: 'UNKNOWN', recovery: 'configuration', reason } });
}

process.on('message', (packet: unknown) => {
  const command = parseCommand(packet);
  if (!command) return;
  if (core) core.handle(command);
  else if (configurationError !== undefined && command.cmd === 'retire') {
    retire(command.why, retiredReply(resourceId, command.reqId, 'UNKNOWN'));
  } else if (configurationError !== undefined) refuse(command, configurationError);
  else early.push(command);
});

async function onSignal(signal: NodeJS.Signals): Promise<void> {
  if (exiting) return;
  exiting = true;
  if (core) {
    try { await core.shutdown(signal); } catch (err) { log.error(`shutdown failed: ${String(err)}`); }
    core.dispose();
  } else {
    log.info(`${signal} received; no resource to stop (${configurationError ?? 'not started yet'})`);
  }
  process.exit(0);
}
process.on('SIGINT', (s) => { void onSignal(s); });
process.on('SIGTERM', (s) => { void onSignal(s); });

process.on('disconnect', () => {
  // The PM2 daemon is gone (killed or crashed). Without a lease we keep the resource as it is.
  // With one we serve until the deadline, clean (self-fence) and exit; the fence kills at F anyway.
  if (!leaseManaged) {
    log.error('PM2 daemon connection lost: keeping the resource as it is; nothing reports to a coordinator until PM2 is back');
    return;
  }
  orphaned = true;
  const running = core && (core.target === 'online' || core.state === 'ONLINE' || core.state === 'FAULTED');
  if (!running) {
    log.error('PM2 daemon connection lost; resource not running here: exiting');
    core?.dispose();
    process.exit(0);
  }
  log.error('PM2 daemon connection lost: serving only until the lease serve deadline, then cleaning and exiting');
});

/** Self-fence: the guard's deadline (written by the coordinator after each renewal) has passed. */
function leaseLapsed(group: string): string | undefined {
  const g = readGuard(runDir, group);
  if (!g) return undefined;
  const late = monotonicMs() - g.serveUntilMono;
  return late >= 0 ? `serve deadline of group ${group} (epoch ${g.epoch}) passed ${Math.round(late)} ms ago without renewal` : undefined;
}

/** The coordinator no longer needs this app: answer, then exit so that PM2 marks it stopped. */
function retire(why: string, reply: OutgoingMessage): void {
  exiting = true;
  log.info(`exiting: ${why || 'not needed on this node'}`);
  flushObservations();
  const done = (): never => process.exit(RETIRED_EXIT_CODE);
  if (!process.send || !process.connected) done();
  // The callback runs once the reply is written to the channel: the coordinator gets it.
  process.send!(reply, undefined, {}, () => done());
  setTimeout(done, 2000).unref();
}

function idleWithConfigurationError(reason: string): void {
  configurationError = reason;
  log.error(`configuration error, agent idle until the cluster file is fixed: ${reason}`);
  send({ type: STATE_EVENT, data: { resource: resourceId, pid: process.pid, fn: 'hello', state: 'UNKNOWN', target: 'none', recovery: 'configuration', reason } });
  for (const command of early.splice(0)) refuse(command, reason);
  // Stay alive (PM2 would otherwise restart us in a loop); signals still end us.
  setInterval(() => undefined, 1 << 30);
}

async function boot(): Promise<void> {
  if (!resourceId || !clusterFile) {
    idleWithConfigurationError('MSGHA_RESOURCE and MSGHA_CLUSTER_FILE must be set (the coordinator sets them)');
    return;
  }
  let loaded: Awaited<ReturnType<typeof loadCluster>>;
  try {
    loaded = await loadCluster(clusterFile);
  } catch (err) {
    idleWithConfigurationError(`cannot load ${clusterFile}: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  for (const p of loaded.problems) (p.severity === 'error' ? log.error : log.warn)(formatProblem(p));
  if (!loaded.cluster || errors.length > 0) {
    idleWithConfigurationError(`${errors.length} problem(s) in ${clusterFile} (see above)`);
    return;
  }
  const cluster = loaded.cluster;
  const resource = cluster.groups.flatMap((g) => g.resources).find((r) => r.id === resourceId);
  if (!resource) {
    idleWithConfigurationError(`resource ${resourceId} is not in ${clusterFile}`);
    return;
  }
  const type = getResourceType(resource.type);
  if (!type) {
    idleWithConfigurationError(`resource type ${resource.type} has no agent`);
    return;
  }
  const resolveSecret = createSecretResolver(cluster);
  const byCoordinator = process.env.MSGHA_PID_WATCH === 'coordinator';
  core = new AgentCore({
    resource, type, resolveSecret, send, isDeepCycle, retire,
    // The coordinator watches this agent's processes: exits and presence, one scan per node.
    ...(byCoordinator ? { presenceElsewhere: true } : { watchPids: watchPids as WatchPids }),
    observe: observed,
    ...(leaseManaged ? {
      leaseLapsed: () => leaseLapsed(resource.group),
      onLapsed: (ok: boolean) => {
        if (!orphaned) return;
        log.error(`resource ${ok ? 'cleaned' : 'clean FAILED'} after the serve deadline; PM2 is gone: exiting`);
        core?.dispose();
        process.exit(0);
      },
    } : {}),
  });
  log = createLogger(resourceId, 'agent', logLevelOf(resource));
  log.info(`agent ready (type ${resource.type}, node ${process.env.MSGHA_NODE ?? '?'}, pid ${process.pid})`);
  core.hello();
  for (const command of early.splice(0)) core.handle(command);
}

void boot().catch((err: unknown) => {
  idleWithConfigurationError(`agent failed to start: ${err instanceof Error ? err.message : String(err)}`);
});
