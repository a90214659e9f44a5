/**
 * Checks of the node itself: its name, the cluster key, the clock, cgroup v2 for the fence, the
 * tools the IP agent runs, PM2 at boot, and the distribution's units of the managed daemons.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execProgram } from '../core/exec';
import type { ResolvedCluster } from '../model/cluster-types';
import { keyFilePath, keyFileProblem } from '../secrets';
import { fail, pass, warn, type CheckResult } from './result';
import { nodeName as thisNodeName } from '../core/node-name';

const RUN_MS = 10_000;


export function checkNodeName(cluster: ResolvedCluster, node: string): CheckResult {
  const nodes = cluster.settings.nodes;
  if (nodes.includes(node)) return pass('node.name', node, `this node is '${node}', listed in cluster.nodes of ${cluster.file}`);
  return fail('node.name', node, `this node is '${node}' (from ${process.env.MSGHA_NODE ? '$MSGHA_NODE' : 'the host name'}), not in cluster.nodes of ${cluster.file} (${nodes.join(', ')})`,
    `hostnamectl set-hostname <one of ${nodes.join(', ')}>, or start PM2 with MSGHA_NODE=<name> (e.g. \`systemctl edit pm2-root\` → [Service] Environment=MSGHA_NODE=mx1), or add '${node}' to cluster.nodes on every node`);
}

export function checkClusterKey(cluster: ResolvedCluster): CheckResult {
  const file = keyFilePath(cluster.settings);
  const needed = cluster.settings.sharedDir !== undefined && cluster.settings.nodes.length >= 2;
  const problem = keyFileProblem(file);
  if (!problem) return pass('node.cluster-key', file, 'present, a regular file owned by root, mode 0600, in a directory only root can write');
  const fix = problem.code === 'key-missing'
    ? `msgha keygen --key-file ${file} on ONE node, then scp -p ${file} <node>:${file} to every other node`
    : `chown root:root ${path.dirname(file)} ${file}; chmod 700 ${path.dirname(file)}; chmod 600 ${file}`;
  if (!needed && problem.code === 'key-missing') return pass('node.cluster-key', file, 'absent; not needed (no shared directory with two nodes or more), only for enc: secrets');
  return fail('node.cluster-key', file, problem.message, fix);
}

/** Offset in seconds from `chronyc tracking` ("System time : 0.000123 seconds slow of NTP time"), with its sync state. */
export function parseChronyTracking(text: string): { offsetS?: number; synced: boolean } {
  const m = /^System time\s*:\s*([0-9.]+) seconds (fast|slow)/m.exec(text);
  const leap = /^Leap status\s*:\s*(.+)$/m.exec(text)?.[1]?.trim();
  return { offsetS: m ? Number(m[1]) : undefined, synced: leap !== undefined && leap !== 'Not synchronised' };
}

/** Offset from `timedatectl timesync-status` ("Offset: -1.234ms"). */
export function parseTimesyncStatus(text: string): { offsetS?: number } {
  const m = /^\s*Offset:\s*([+-]?[0-9.]+)(us|µs|ms|s|min)\b/m.exec(text);
  if (!m) return {};
  const scale: Record<string, number> = { us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, min: 60 };
  return { offsetS: Math.abs(Number(m[1])) * scale[m[2]!]! };
}

const MAX_OFFSET_S = 1;

export async function checkClock(): Promise<CheckResult> {
  const id = 'node.clock';
  const fix = 'apt-get install chrony && systemctl enable --now chrony (same NTP servers on every node); then chronyc tracking';
  const chrony = await execProgram(['chronyc', '-n', 'tracking'], { timeoutMs: RUN_MS });
  let offset: number | undefined;
  let source = '';
  if (chrony.code === 0) {
    const t = parseChronyTracking(chrony.stdout);
    if (t.synced) { offset = t.offsetS; source = 'chronyc tracking'; }
  }
  if (offset === undefined) {
    const sd = await execProgram(['timedatectl', 'timesync-status'], { timeoutMs: RUN_MS });
    if (sd.code === 0) { offset = parseTimesyncStatus(sd.stdout).offsetS; source = 'timedatectl timesync-status'; }
  }
  if (offset === undefined) return warn(id, 'clock', 'the clock offset is unknown: neither a synchronised chrony (chronyc tracking) nor systemd-timesyncd (timedatectl timesync-status) answered', fix);
  if (offset > MAX_OFFSET_S) return fail(id, 'clock', `clock offset ${offset.toFixed(3)} s (${source}), more than ${MAX_OFFSET_S} s: Dovecot sees errors when a store's clocks differ by more than 1 s`, fix);
  return pass(id, 'clock', `clock offset ${offset.toFixed(6)} s (${source})`);
}

export function checkCgroupV2(root = '/sys/fs/cgroup'): CheckResult {
  const file = path.join(root, 'cgroup.controllers');
  if (fs.existsSync(file)) return pass('node.cgroup-v2', file, 'cgroup v2 is mounted: the fence can kill a group by cgroup');
  return fail('node.cgroup-v2', file, `${file} is missing: no cgroup v2 hierarchy, so a daemon's child that calls setsid escapes the fence`,
    'boot with the unified hierarchy (Debian 12\'s default): remove systemd.unified_cgroup_hierarchy=0 from GRUB_CMDLINE_LINUX in /etc/default/grub, update-grub, reboot; in a container, give it a cgroup v2 /sys/fs/cgroup');
}

const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function findProgram(name: string, dirs: readonly string[]): string | undefined {
  for (const d of dirs) {
    const p = path.join(d, name);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return undefined;
}

export function checkTools(needArping: boolean, dirs: readonly string[] = SEARCH_PATH): CheckResult[] {
  const tools: Array<[string, string]> = [['ip', 'iproute2']];
  if (needArping) tools.push(['arping', 'iputils-arping']);
  return tools.map(([name, pkg]) => {
    const found = findProgram(name, dirs);
    return found ? pass(`node.tool.${name}`, name, `${found}`)
      : fail(`node.tool.${name}`, name, `${name} is not installed (looked in ${dirs.join(':')}); the IP resource runs it`, `apt-get install ${pkg}`);
  });
}

/** `pm2 startup` writes /etc/systemd/system/pm2-<user>.service and enables it. */
export function checkPm2Startup(etc = '/etc/systemd/system'): CheckResult {
  const id = 'node.pm2-startup';
  let units: string[] = [];
  try { units = fs.readdirSync(etc).filter((n) => /^pm2-[A-Za-z0-9_.-]+\.service$/.test(n)); } catch { /* no directory */ }
  const wants = path.join(etc, 'multi-user.target.wants');
  const enabled = units.filter((u) => fs.existsSync(path.join(wants, u)));
  const fix = 'pm2 startup systemd -u root --hp /root && pm2 save (after `pm2 start` of the cluster file)';
  if (enabled.length) return pass(id, enabled.join(', '), `PM2 starts at boot (${path.join(wants, enabled[0]!)})`);
  if (units.length) return fail(id, units.join(', '), `${path.join(etc, units[0]!)} exists but is not enabled: PM2 does not start at boot`, `systemctl enable ${units[0]}`);
  return fail(id, 'pm2 startup', `no pm2-<user>.service in ${etc}: after a reboot nothing starts the cluster on this node`, fix);
}

/** Debian's units for a daemon; dovecot also has a socket unit. */
export const DISTRIBUTION_UNITS: Readonly<Record<string, readonly string[]>> = {
  slapd: ['slapd.service'],
  dovecot: ['dovecot.service', 'dovecot.socket'],
  postfix: ['postfix.service'],
};

/**
 * Whether a unit starts at boot. `systemctl is-enabled` reads unit files and works without a
 * running systemd; when systemctl is missing, the .wants links and the SysV rc?.d links decide.
 */
async function unitEnabled(unit: string, etc: string): Promise<{ enabled: boolean; how: string } | undefined> {
  if (etc === '/etc') {
    const r = await execProgram(['systemctl', 'is-enabled', unit], { timeoutMs: RUN_MS });
    const state = r.stdout.trim().split('\n').pop()?.trim() ?? '';
    if (r.spawnError === undefined && state) {
      if (state.includes('No such file') || state === 'not-found') return undefined;
      return { enabled: ['enabled', 'enabled-runtime', 'alias', 'indirect', 'generated'].includes(state), how: `systemctl is-enabled: ${state}` };
    }
  }
  const base = unit.replace(/\.(service|socket)$/, '');
  const sysd = path.join(etc, 'systemd', 'system');
  let wantsDirs: string[] = [];
  try { wantsDirs = fs.readdirSync(sysd).filter((d) => d.endsWith('.wants')); } catch { /* none */ }
  for (const d of wantsDirs) if (fs.existsSync(path.join(sysd, d, unit))) return { enabled: true, how: `${path.join(sysd, d, unit)} exists` };
  if (unit.endsWith('.service')) {
    for (const level of ['2', '3', '4', '5']) {
      let links: string[] = [];
      try { links = fs.readdirSync(path.join(etc, `rc${level}.d`)); } catch { continue; }
      const hit = links.find((n) => n === `S${n.slice(1, 3)}${base}` && /^S\d\d/.test(n));
      if (hit) return { enabled: true, how: `${path.join(etc, `rc${level}.d`, hit)} exists` };
    }
  }
  const known = fs.existsSync(path.join(etc, 'init.d', base)) || fs.existsSync(path.join('/lib/systemd/system', unit));
  return known ? { enabled: false, how: 'no boot link' } : undefined;
}

export async function checkDistributionUnits(daemons: readonly string[], etc = '/etc'): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const d of daemons) {
    for (const unit of DISTRIBUTION_UNITS[d] ?? []) {
      const st = await unitEnabled(unit, etc);
      const id = `node.unit.${d}`;
      if (!st) { out.push(pass(id, unit, 'not installed')); continue; }
      if (!st.enabled) { out.push(pass(id, unit, `does not start at boot (${st.how})`)); continue; }
      out.push(fail(id, unit, `starts ${d} at boot (${st.how}): on a standby it would run beside the cluster's instance`,
        `systemctl disable --now ${unit} && systemctl mask ${unit}${unit.endsWith('.service') ? `   # without systemd: update-rc.d ${d} disable` : ''}`));
    }
  }
  return out;
}
