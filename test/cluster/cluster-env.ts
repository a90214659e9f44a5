/**
 * Shared set-up of the failover tests: one three-node cluster (mx1, mx2, mx3; mx2 runs in a time
 * namespace with CLOCK_MONOTONIC +100000 s, so no scenario can lean on shared clocks), groups dir
 * and mail (mail depends on dir), the fast lease profile, and helpers that bring the cluster back
 * to a known state between scenarios and read what happened (node views, fence logs, pids).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { MsgCluster, RUN_LOCK_WAIT_MS } from '../fixtures/cluster/cluster';
import { mono } from '../fixtures/cluster/invariant';
import { dirPlan, mailPlan } from '../fixtures/cluster/plans';
import { portBlock } from '../helpers/ports';
import { failoverBounds, fenceMs, PROFILES } from '../../plugin/lease/profiles';

export const T = PROFILES.fast.timings;
export const L = T.leaseMs;
export const F = fenceMs(T);
export const CRASH_BOUND = failoverBounds(T).holderCrashMs;
export const NODES = ['mx1', 'mx2', 'mx3'];
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const log = (line: string): void => { process.stdout.write(`[cluster] ${line}\n`); };

export function makeCluster(): MsgCluster {
  return new MsgCluster({
    // A fixed tag: setup() removes what a killed earlier run left behind.
    tag: 'fo', net: 22, nodes: NODES, profile: 'fast',
    // Local experiments only (e.g. MH_VIP_ATTRS='{"ArpCheck":false}'); CI runs the product's defaults.
    ...(process.env.MH_VIP_ATTRS ? { vipAttrs: JSON.parse(process.env.MH_VIP_ATTRS) as Record<string, unknown> } : {}),
    monotonicOffsets: { mx2: 100_000 },
    groups: [dirPlan(['mx2', 'mx1', 'mx3'], portBlock('spare', 2)), mailPlan(['mx1', 'mx2', 'mx3'], portBlock('spare', 2) + 40, { dependsOnDir: true })],
  });
}

/**
 * Registers the file's cluster life: set up, every node started and healthy before the first
 * scenario; the checker's violations logged and everything removed after the last.
 */
export function clusterLifecycle(c: MsgCluster): void {
  // RUN_LOCK_WAIT_MS of it only to wait for another live run of this tag (see MsgCluster.setup), 240 s ours.
  beforeAll(async () => {
    await c.setup();
    await c.startAll();
    await healthy(c, 150_000);
  }, RUN_LOCK_WAIT_MS + 240_000);
  afterAll(async () => {
    if (c.monitor && c.monitor.violations.length) log(`all violations: ${c.monitor.report().join(' | ')}`);
    await c.teardown();
  }, 120_000);
}

/** Violations recorded since `from` (an index into monitor.violations). */
export function violationsSince(c: MsgCluster, from: number): string[] {
  return c.monitor!.violations.slice(from).map((v) => `${v.t.toFixed(0)} ${v.kind} of ${v.group} held by ${v.nodes.join(' and ')}${v.detail ? ` (${v.detail.slice(0, 160)})` : ''}`);
}

export function groupView(c: MsgCluster, node: string, group: string) {
  return c.views()[node]?.groups.find((g) => g.name === group);
}

/** Host pid of a sandbox daemon on a node, from its pid file as the node sees it. */
export function daemonPid(c: MsgCluster, node: string, group: string, daemon: string): number | undefined {
  return c.daemonPid(node, group, daemon);
}

export function fenceLog(c: MsgCluster, node: string): Array<Record<string, unknown>> {
  try {
    return fs.readFileSync(path.join(c.runDir(node), 'fence.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch { return []; }
}

/**
 * What a node did, for an assertion message when a scenario fails under CI load: the last fence
 * events and the coordinator's last lines about the group (its PM2 log).
 */
export function diag(c: MsgCluster, node: string, group = 'mail'): string {
  const fence = fenceLog(c, node).slice(-3).map((e) => JSON.stringify(e)).join(' ');
  let coord = '';
  try {
    coord = fs.readFileSync(path.join(c.pm2Home(node), 'logs', 'msgha-out.log'), 'utf8').split('\n')
      .filter((l) => l.includes(group) && !l.includes('DEBUG')).slice(-8).map((l) => l.slice(11, 220)).join(' | ');
  } catch { /* no log yet */ }
  return `${node}: fence ${fence || 'none'}; coordinator ${coord || 'none'}`;
}

/** Runs msgha on a node and expects success; returns stdout. */
export async function msgha(c: MsgCluster, node: string, args: string[]): Promise<string> {
  const r = await c.msgha(node, args);
  expect(r.code, `msgha ${args.join(' ')} on ${node}: ${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}

/**
 * Brings the cluster back to a known state: every node up with its PM2 and coordinator, no
 * freeze, no fault, both groups ONLINE somewhere and IMAP answering on the mail VIP.
 */
let unhealthy = 0;

export async function healthy(c: MsgCluster, maxMs = 90_000): Promise<{ mail: string; dir: string }> {
  // Once the cluster could not be brought back twice, later scenarios fail at once (CI wall time).
  if (unhealthy >= 2) throw new Error(`cluster left unhealthy by an earlier scenario: ${JSON.stringify(summary(c))}`);
  try {
    const r = await healthyOnce(c, maxMs);
    unhealthy = 0;
    return r;
  } catch (err) {
    unhealthy += 1;
    throw err;
  }
}

async function healthyOnce(c: MsgCluster, maxMs: number): Promise<{ mail: string; dir: string }> {
  await c.chores({ clearPartial: true });
  // ONLINE per the holder's own (fresh) view, and the checker sees that node, alone, holding the VIP.
  const ok = await c.waitFor(() => c.settledAt('mail') && c.settledAt('dir'), maxMs, 200);
  if (!ok) throw new Error(`cluster did not become healthy: ${JSON.stringify(summary(c))}`);
  const imap = await c.waitImap('mail', 30_000);
  if (!imap.ok) throw new Error(`IMAP on the mail VIP does not answer: ${imap.error}`);
  return { mail: c.onlineAt('mail')!, dir: c.onlineAt('dir')! };
}

export function summary(c: MsgCluster): Record<string, unknown> {
  return c.summary();
}

/**
 * Milliseconds from t0 to the first successful IMAP LOGIN through the mail VIP once another node
 * than `from` holds the VIP (the old holder may keep answering until it is fenced).
 */
export async function takeoverAfter(c: MsgCluster, from: string, t0: number, maxMs: number): Promise<number> {
  const moved = await c.waitFor(() => { const h = c.monitor!.holders('vip', 'mail'); return h.length === 1 && h[0] !== from; }, maxMs, 20);
  if (!moved) throw new Error(`the mail VIP did not move off ${from} within ${maxMs} ms; ${JSON.stringify(summary(c))}`);
  return imapBackAfter(c, t0, maxMs);
}

/** Milliseconds from t0 to the first successful IMAP LOGIN through the mail VIP. */
export async function imapBackAfter(c: MsgCluster, t0: number, maxMs: number): Promise<number> {
  const r = await c.waitImap('mail', maxMs, 50);
  if (!r.ok) throw new Error(`IMAP did not come back within ${maxMs} ms (${r.error}); ${JSON.stringify(summary(c))}`);
  return r.at! - t0;
}

export { mono };
