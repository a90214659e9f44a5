/**
 * Runs every preflight check for this node (with a cluster file: all of them; without one:
 * the node's own), and prints the results as text or JSON.
 */
import type { ResolvedCluster } from '../model/cluster-types';
import { groupDaemons, managedDaemons } from './mail-config';
import { checkDovecot, checkMountPoints, checkPostfix, checkSlapd } from './mail-checks';
import { readMountinfo } from '../proc/mountinfo';
import { checkCgroupV2, checkClock, checkClusterKey, checkDistributionUnits, checkNodeName, checkPm2Startup, checkTools } from './node-checks';
import { nodeName as thisNodeName } from '../core/node-name';
import { fail, type CheckResult } from './result';
import { checkSharedDir } from './shared-dir';

export interface PreflightOptions {
  /** Loaded cluster file; undefined runs the node checks only. */
  cluster?: ResolvedCluster;
  node?: string;
  /** Skip the ~3 s latency measurement (and the shared-directory checks with it). */
  skipSharedDir?: boolean;
}

/** Guards a family of checks: an unexpected error becomes one FAIL naming it, never a stack. */
async function family(id: string, fn: () => Promise<CheckResult[]> | CheckResult[]): Promise<CheckResult[]> {
  try { return await fn(); } catch (err) {
    return [fail(id, id, `the check itself failed: ${(err as Error).message.split('\n')[0]}`, 'report this with the output of msgha preflight --json')];
  }
}

export async function runPreflight(o: PreflightOptions): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const c = o.cluster;
  const mounts = readMountinfo();
  const daemons = c ? c.groups.map(groupDaemons) : [];
  const nodes = c?.settings.nodes.length ?? 1;
  /** mail_uid of each group's Dovecot instances: service users for the mount-point check. */
  const mailUsers = new Map<string, string[]>();
  if (c) {
    out.push(checkNodeName(c, o.node ?? thisNodeName()));
    out.push(...await family('node.cluster-key', () => [checkClusterKey(c)]));
    if (!o.skipSharedDir) out.push(...await family('shared-dir', () => checkSharedDir(c)));
    for (const d of daemons) {
      const dove = await family('dovecot', async () => { const r = await checkDovecot(d, mounts, nodes); mailUsers.set(d.group, r.mailUsers); return r.results; });
      out.push(...dove);
      out.push(...await family('slapd.data', () => checkSlapd(d, nodes, mounts)));
      out.push(...await family('mount.unmounted-writable', () => checkMountPoints(d, mailUsers.get(d.group) ?? [], mounts)));
    }
    out.push(...await family('postfix', () => checkPostfix(daemons, nodes, mounts)));
  }
  out.push(...await family('node.clock', async () => [await checkClock()]));
  out.push(checkCgroupV2());
  const hasIp = !c || c.groups.some((g) => g.resources.some((r) => r.type === 'IP'));
  out.push(...checkTools(hasIp));
  out.push(checkPm2Startup());
  const managed = c ? managedDaemons(daemons, c.groups) : ['dovecot', 'postfix', 'slapd'];
  out.push(...await family('node.unit', () => checkDistributionUnits(managed)));
  return out;
}
export function formatText(results: readonly CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.status.padEnd(4)}  ${r.id}  ${r.subject}: ${r.detail}`);
    if (r.fix) lines.push(`      fix: ${r.fix}`);
  }
  const n = (s: string): number => results.filter((r) => r.status === s).length;
  lines.push(`${n('PASS')} passed, ${n('WARN')} warnings, ${n('FAIL')} failed${n('FAIL') ? ' — see docs/preflight.md for each check' : ''}`);
  return lines.join('\n') + '\n';
}
