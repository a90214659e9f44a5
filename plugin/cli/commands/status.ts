/**
 * `msgha status [--json] [--cluster FILE]`
 *
 * With a cluster file (--cluster FILE, or $MSGHA_CLUSTER_FILE) that has cluster.sharedDir: the
 * whole cluster from the shared directory, from any node (no coordinator needed): every node's
 * published view, every group's lease record and admin file → group × node state, holder, epoch,
 * frozen, last failover and why (JSON: coordinator/cluster-status.ts ClusterStatus, source
 * 'shared-dir'). The shared directory is read through an I/O helper process with a deadline.
 * Otherwise: the local coordinator (`pm2 trigger msgha status` through the PM2 daemon of
 * $PM2_HOME). A multi-node coordinator's answer is shown as the cluster table (JSON:
 * ClusterStatus with source 'coordinator' plus `local`, the coordinator's own reply); a one-node
 * coordinator's as the group × resource table (JSON: its reply, unchanged).
 * A coordinator's answer ends with one line about its /metrics exporter: listening (ours, with
 * the coordinator's pid) or not, and who holds the port instead (so a foreign /healthz shows).
 * Either way a node's published view is watched for about two of its publish periods (at most
 * 5 s; the shared directory is re-read, the coordinator asked twice): a node whose view did not
 * change is shown as `unknown (silent N s)` and its groups as `unknown (last said …)` — never
 * ONLINE from a stale view (a node that just lost power).
 * Exit (exit-codes.ts): 0 answered, 1 the coordinator runs no cluster or the shared directory
 * cannot be read, 3 no PM2 daemon / no coordinator here.
 */
import type { Command } from 'commander';
import type { ClusterStatusReply } from '../../cluster/multi-node';
import type { StatusReply } from '../../coordinator/status-reply';
import type { NodeView } from '../../cluster/node-view';
import { describeExporter } from '../../metrics/exporter-keeper';
import { clusterOption } from './action-verb';
import { CoordinatorLink } from './coordinator-link';
import { EXIT, type ExitCode } from './exit-codes';
import type { Output } from './output';
import { act, runVerbArgs, type Opts } from './program';


const STATUS_TIMEOUT_MS = 15_000;

async function fromSharedDir(file: string): Promise<{ status?: unknown; text?: string; error?: string } | undefined> {
  const { loadCluster } = await import('../../config/load');
  const loaded = await loadCluster(file);
  const cluster = loaded.cluster;
  if (!cluster) return { error: `cannot load ${file}: ${loaded.problems.filter((p) => p.severity === 'error').length} problem(s) (msgha validate ${file})` };
  if (!cluster.settings.sharedDir) return undefined;
  const { HelperStore, getProfile, leaseRoot } = await import('../../lease');
  const { readClusterStatus, formatClusterStatus } = await import('../../cluster/cluster-status');
  const { loadSharedDirKey } = await import('../../cluster/cluster-node');
  let key;
  try { key = loadSharedDirKey(cluster); } catch (err) { return { error: (err as Error).message }; }
  const profile = getProfile(cluster.settings.lease?.profile);
  const store = new HelperStore({ root: leaseRoot(cluster.settings.sharedDir, cluster.settings.name), node: 'cli', ioTimeoutMs: Math.max(profile.timings.ioTimeoutMs, 2000), wedgeKillMs: profile.timings.leaseMs, directIo: profile.directIo });
  try {
    const up = await store.start();
    if (!up.ok) return { error: `cannot read the shared directory ${cluster.settings.sharedDir}: ${up.message}` };
    const s = await readClusterStatus(cluster, store, { key });
    return { status: s, text: formatClusterStatus(s, cluster.settings.nodes) };
  } finally {
    store.close();
  }
}

type Reply = StatusReply & Partial<Pick<ClusterStatusReply, 'view' | 'peers'>> & { ok?: boolean; error?: string };

/** The peers' views as the coordinator last read them, and its own. */
function viewsOf(reply: Reply): Map<string, NodeView | undefined> {
  const views = new Map<string, NodeView | undefined>();
  if (reply.view) views.set(reply.view.node, reply.view);
  for (const p of reply.peers ?? []) views.set(p.node, p.view);
  return views;
}

/** `first`: a multi-node reply is followed by a second one a watch window later (see the header). */
async function fromCoordinator(): Promise<{ reply?: Reply; first?: Reply; watchedMs?: number; missing?: string; error?: string }> {
  const found = await CoordinatorLink.open();
  if ('missing' in found) return { missing: found.missing };
  const link = found.link;
  const { watchWindowMs } = await import('../../cluster/cluster-status');
  let reply: Reply | undefined;
  let first: Reply | undefined;
  let watchedMs: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const ask = async (): Promise<void> => {
      reply = await link.status(2500, 5) as Reply | undefined;
      if (reply?.mode !== 'multi-node' || !reply.peers?.length) return;
      first = reply;
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, watchWindowMs(viewsOf(first!).values())));
      const again = await link.status(2500, 5) as Reply | undefined;
      if (again?.mode === 'multi-node') { reply = again; watchedMs = performance.now() - t0; } else first = undefined;
    };
    // The status action answers at once; a silent PM2 must not hang the operator's shell.
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer from ${link.name} within ${STATUS_TIMEOUT_MS / 1000}s`)), STATUS_TIMEOUT_MS); });
    await Promise.race([ask(), timeout]);
    return reply ? { reply, first, watchedMs } : { error: `the coordinator ${link.name} did not answer status` };
  } catch (err) {
    return { reply, first: undefined, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
    link.close();
  }
}

export function define(program: Command): Command {
  const cmd = program.command('status')
    .description('the whole cluster (from the shared directory, with --cluster) or this node (its coordinator)')
    .option('--json', 'print the status as JSON (errors too)')
    .addOption(clusterOption('read the whole cluster from the shared directory of this cluster file (no coordinator needed)'))
    .addHelpText('after', '\nExamples:\n  msgha status\n  msgha status --cluster /etc/msgha/mail.config.js --json');
  return act(cmd, ({ opts, out }) => status(opts, out));
}

export function run(args: string[]): Promise<number> { return runVerbArgs('status', define, args); }

async function status(opts: Opts, out: Output): Promise<ExitCode> {
  const a = { json: out.json, cluster: opts.cluster as string | undefined };
  if (a.cluster) {
    const shared = await fromSharedDir(a.cluster);
    if (shared?.status) {
      process.stdout.write(a.json ? JSON.stringify(shared.status, null, 2) + '\n' : shared.text + '\n');
      return EXIT.OK;
    }
    if (shared?.error) process.stderr.write(`msgha status: ${shared.error}; asking the local coordinator\n`);
  }
  const asked = await fromCoordinator();
  const reply = asked.reply;
  if (!reply) return out.fail(EXIT.NO_COORDINATOR, asked.missing ?? asked.error ?? 'no coordinator answered');
  if (reply.mode === 'multi-node' && reply.view) {
    const { buildClusterStatus, formatClusterStatus, observeViews } = await import('../../cluster/cluster-status');
    const views = viewsOf(reply);
    const nodes = [...views.keys()];
    const groups = reply.groups.map((g) => ({ name: g.name, systemList: nodes.filter((n) => views.get(n)?.groups.some((x) => x.name === g.name)), resources: [], autoStart: true, dependsOn: [], frozen: false }));
    const cluster = { file: reply.file, settings: { name: reply.cluster, nodes }, groups };
    // The answering coordinator is alive by definition; its peers by whether their views moved.
    const observed = asked.first && asked.watchedMs !== undefined ? observeViews(viewsOf(asked.first), views, asked.watchedMs) : undefined;
    observed?.set(reply.view.node, { changed: true, watchedMs: asked.watchedMs ?? 0 });
    const s = buildClusterStatus({ cluster, source: 'coordinator', views, observed, nowWallMs: Date.now() });
    process.stdout.write(a.json ? JSON.stringify({ ...s, local: reply }, null, 2) + '\n' : formatClusterStatus(s, nodes) + '\n' + metricsLine(reply));
    return EXIT.OK;
  }
  if (reply.error) return out.fail(EXIT.FAILED, `the coordinator runs no cluster: ${reply.error}`);
  if (a.json) {
    process.stdout.write(JSON.stringify(reply, null, 2) + '\n');
    return EXIT.OK;
  }
  process.stdout.write(`${reply.summary}\n${metricsLine(reply)}`);
  const rows: string[][] = [['GROUP', 'RESOURCE', 'STATE', 'RESTARTS', 'REASON']];
  for (const g of reply.groups) {
    rows.push([g.name, '', g.state, '', g.last ? `${g.last.from} → ${g.last.to}: ${g.last.reason}` : g.reason]);
    for (const r of g.resources) rows.push(['', r.name, r.state, String(r.restarts), r.violation ?? r.reason]);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) {
    process.stdout.write(r.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd() + '\n');
  }
  return EXIT.OK;
}

/** Whether the exporter on the metrics port is this coordinator's (a coordinator older than this line sends none). */
function metricsLine(reply: Reply): string {
  return reply.metrics ? describeExporter(reply.metrics) + '\n' : '';
}
