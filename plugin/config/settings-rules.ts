/**
 * Checks of the cluster settings and of the group-level keys (systemList, dependsOn, …),
 * including cycles between group dependencies. Resources are checked elsewhere.
 */
import { isPlainObject, type Report } from '../model/check-context';
import { suggestion } from './did-you-mean';
import { findCycles } from './graph';
import {
  CLUSTER_KEYS, DEPENDENCY_KINDS, GROUP_KEYS, LEASE_PROFILES, MAX_NODES, NAME_PATTERN, NODE_PATTERN, keyDefault, topNames,
} from './keys';
import { hasControlChar, isHost, pathProblem } from '../model/values';

function unknownKeys(report: Report, where: string, obj: Record<string, unknown>, known: readonly string[], prefix = ''): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) report.error(where, prefix + key, 'unknown key', suggestion(key, known, true) || undefined);
  }
}

/** Checks `cluster`; returns the valid node names (for systemList checks). */
export function checkClusterSettings(report: Report, raw: unknown): string[] {
  const where = 'cluster';
  if (!isPlainObject(raw)) {
    report.error(where, '', raw === undefined ? 'the "cluster" section is missing' : 'must be an object', 'cluster: { name, nodes, sharedDir, … }');
    return [];
  }
  unknownKeys(report, where, raw, topNames(CLUSTER_KEYS));

  if (raw.name === undefined) report.error(where, 'name', 'is required', 'e.g. name: "mail"');
  else if (typeof raw.name !== 'string' || !NAME_PATTERN.test(raw.name)) {
    report.error(where, 'name', 'must be a name of letters, digits, - and _ (at most 63 characters)');
  }

  const nodes: string[] = [];
  if (raw.nodes === undefined) report.error(where, 'nodes', 'is required', 'e.g. nodes: ["mx1", "mx2"]');
  else if (!Array.isArray(raw.nodes)) report.error(where, 'nodes', 'must be a list of node names');
  else {
    if (raw.nodes.length === 0 || raw.nodes.length > MAX_NODES) {
      report.error(where, 'nodes', `must list 1 to ${MAX_NODES} nodes, got ${raw.nodes.length}`);
    }
    for (const n of raw.nodes) {
      if (typeof n !== 'string' || !NODE_PATTERN.test(n)) {
        report.error(where, 'nodes', `${JSON.stringify(n)} is not a valid node name`, 'letters, digits, ., - and _');
      } else if (nodes.includes(n)) {
        report.error(where, 'nodes', `node ${n} is listed twice`);
      } else nodes.push(n);
    }
  }

  if (raw.sharedDir !== undefined) {
    const problem = pathProblem(raw.sharedDir);
    if (problem) report.error(where, 'sharedDir', problem);
  } else if (nodes.length > 1) {
    report.warn(where, 'sharedDir', 'is not set: without a shared directory there is no lease, so groups cannot fail over between nodes', 'set it to a directory shared by all nodes');
  }

  if (raw.lease !== undefined) {
    if (!isPlainObject(raw.lease)) report.error(where, 'lease', 'must be an object, e.g. { profile: "nfs" }');
    else {
      unknownKeys(report, where, raw.lease, ['profile', 'acceptUnsigned'], 'lease.');
      if (raw.lease.acceptUnsigned !== undefined && typeof raw.lease.acceptUnsigned !== 'boolean') report.error(where, 'lease.acceptUnsigned', 'must be true or false');
      const p = raw.lease.profile;
      if (p !== undefined && !(typeof p === 'string' && (LEASE_PROFILES as readonly string[]).includes(p))) {
        report.error(where, 'lease.profile', `must be one of ${LEASE_PROFILES.join(', ')}`, typeof p === 'string' ? suggestion(p, LEASE_PROFILES) || undefined : undefined);
      }
    }
  }

  if (raw.metrics !== undefined) checkMetrics(report, where, raw.metrics);
  if (raw.remoteProbes !== undefined) checkRemoteProbes(report, where, raw.remoteProbes);

  if (raw.keyFile !== undefined && pathProblem(raw.keyFile)) report.error(where, 'keyFile', pathProblem(raw.keyFile)!);
  return nodes;
}

function checkRemoteProbes(report: Report, where: string, rp: unknown): void {
  if (!isPlainObject(rp)) {
    report.error(where, 'remoteProbes', 'must be an object, e.g. { interval: 5, failures: 3 }');
    return;
  }
  unknownKeys(report, where, rp, ['interval', 'timeout', 'failures', 'act'], 'remoteProbes.');
  const whole = (key: string, min: number, max: number): number | undefined => {
    const v = rp[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      report.error(where, `remoteProbes.${key}`, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  };
  const interval = whole('interval', 1, 3600) ?? keyDefault<number>(CLUSTER_KEYS, 'remoteProbes.interval');
  const timeout = whole('timeout', 1, 3600) ?? keyDefault<number>(CLUSTER_KEYS, 'remoteProbes.timeout');
  whole('failures', 1, 100);
  if (timeout > interval) {
    report.error(where, 'remoteProbes.timeout', `${timeout} s is longer than remoteProbes.interval (${interval} s): a cycle must end before the next one starts`, `set remoteProbes.timeout to ${interval} or less`);
  }
  if (rp.act !== undefined && typeof rp.act !== 'boolean') report.error(where, 'remoteProbes.act', 'must be true or false');
}

/** Loopback addresses: the only ones /metrics may listen on without credentials. */
function isLoopbackHost(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === 'localhost';
}

function checkMetrics(report: Report, where: string, metrics: unknown): void {
  if (!isPlainObject(metrics)) {
    report.error(where, 'metrics', 'must be an object, e.g. { listen: "127.0.0.1:9464" }');
    return;
  }
  unknownKeys(report, where, metrics, ['listen', 'basicAuth', 'bearerTokenFile'], 'metrics.');
  let host = '127.0.0.1';
  const l = metrics.listen;
  if (l !== undefined) {
    const m = typeof l === 'string' ? /^(.+):(\d+)$/.exec(l) : null;
    const port = m ? Number(m[2]) : 0;
    if (!m || !isHost(m[1]!) || port < 1 || port > 65535) {
      report.error(where, 'metrics.listen', 'must be HOST:PORT with an IPv4 address or host name and a port 1–65535', 'e.g. 127.0.0.1:9464');
    } else host = m[1]!;
  }
  const auth = metrics.basicAuth;
  if (auth !== undefined) {
    if (!isPlainObject(auth)) report.error(where, 'metrics.basicAuth', 'must be { user, passwordFile }');
    else {
      unknownKeys(report, where, auth, ['user', 'passwordFile'], 'metrics.basicAuth.');
      if (typeof auth.user !== 'string' || auth.user === '' || auth.user.includes(':') || hasControlChar(auth.user)) {
        report.error(where, 'metrics.basicAuth.user', 'must be a non-empty user name without ":" or control characters');
      }
      if (pathProblem(auth.passwordFile)) {
        report.error(where, 'metrics.basicAuth.passwordFile', 'must be the absolute path of a file (mode 0600) holding the password',
          'the password itself never goes into the cluster file');
      }
    }
  }
  const token = metrics.bearerTokenFile;
  if (token !== undefined && pathProblem(token)) {
    report.error(where, 'metrics.bearerTokenFile', 'must be the absolute path of a file (mode 0600) holding the token');
  }
  if (auth !== undefined && token !== undefined) {
    report.error(where, 'metrics.bearerTokenFile', 'set either metrics.basicAuth or metrics.bearerTokenFile, not both');
  }
  if (auth === undefined && token === undefined && !isLoopbackHost(host)) {
    report.error(where, 'metrics.listen', `${host} is not a loopback address: anyone who can reach it could read /metrics`,
      'set metrics.basicAuth or metrics.bearerTokenFile, or listen on 127.0.0.1');
  }
}

/** Checks the keys of one group other than `resources`. */
export function checkGroupKeys(report: Report, group: string, raw: Record<string, unknown>, nodes: readonly string[], groups: readonly string[]): void {
  unknownKeys(report, group, raw, topNames(GROUP_KEYS));

  if (raw.systemList !== undefined) {
    if (!Array.isArray(raw.systemList) || raw.systemList.length === 0) {
      report.error(group, 'systemList', 'must be a non-empty list of node names, in priority order');
    } else {
      const seen = new Set<string>();
      for (const n of raw.systemList) {
        if (typeof n !== 'string') report.error(group, 'systemList', `${JSON.stringify(n)} is not a node name`);
        else if (seen.has(n)) report.error(group, 'systemList', `node ${n} is listed twice`);
        else if (nodes.length > 0 && !nodes.includes(n)) {
          report.error(group, 'systemList', `node ${n} is not in cluster.nodes`, suggestion(n, nodes) || undefined);
        }
        if (typeof n === 'string') seen.add(n);
      }
    }
  }
  for (const key of ['autoStart', 'frozen'] as const) {
    if (raw[key] !== undefined && typeof raw[key] !== 'boolean') report.error(group, key, 'must be true or false');
  }
  if (raw.failoverPolicy !== undefined && raw.failoverPolicy !== 'priority') {
    report.error(group, 'failoverPolicy', 'must be "priority"');
  }

  if (raw.dependsOn !== undefined) {
    if (!Array.isArray(raw.dependsOn)) {
      report.error(group, 'dependsOn', 'must be a list of { group, kind }');
      return;
    }
    const seen = new Set<string>();
    for (const dep of raw.dependsOn) {
      if (!isPlainObject(dep)) {
        report.error(group, 'dependsOn', 'each entry must be { group, kind }', `e.g. { group: "directory", kind: "online-global-soft" }`);
        continue;
      }
      unknownKeys(report, group, dep, ['group', 'kind'], 'dependsOn.');
      const target = dep.group;
      if (typeof target !== 'string') report.error(group, 'dependsOn', 'an entry has no group name');
      else if (target === group) report.error(group, 'dependsOn', 'a group cannot depend on itself');
      else if (!groups.includes(target)) {
        report.error(group, 'dependsOn', `group ${target} does not exist`, suggestion(target, groups) || undefined);
      } else if (seen.has(target)) report.warn(group, 'dependsOn', `group ${target} is listed twice`);
      if (typeof target === 'string') seen.add(target);
      if (dep.kind === undefined) {
        report.error(group, 'dependsOn', `the dependency on ${String(target)} has no kind`, `kind: ${DEPENDENCY_KINDS.join(' | ')}`);
      } else if (typeof dep.kind !== 'string' || !(DEPENDENCY_KINDS as readonly string[]).includes(dep.kind)) {
        report.error(group, 'dependsOn', `kind ${JSON.stringify(dep.kind)} is not a dependency kind`,
          (typeof dep.kind === 'string' && suggestion(dep.kind, DEPENDENCY_KINDS)) || `one of ${DEPENDENCY_KINDS.join(', ')}`);
      }
    }
  }
}

/** Cycles through dependsOn (an unbreakable wait: no group of the cycle could ever start). */
export function checkGroupCycles(report: Report, groups: Record<string, unknown>): void {
  const names = Object.keys(groups);
  const deps = (g: string): string[] => {
    const raw = groups[g];
    if (!isPlainObject(raw) || !Array.isArray(raw.dependsOn)) return [];
    return raw.dependsOn.flatMap((d) => (isPlainObject(d) && typeof d.group === 'string' && d.group !== g ? [d.group] : []));
  };
  for (const cycle of findCycles(names, deps)) {
    report.error(cycle[0]!, 'dependsOn', `group dependency cycle: ${cycle.join(' → ')}`, 'no group of a cycle could ever start; remove one dependency');
  }
}
