/**
 * SunJESLDAP: a Directory Server instance (SPEC §2.3). Start `I/start-slapd` (certificate-database
 * password on stdin), stop `I/stop-slapd`. First level: the `ns-slapd` process whose arguments
 * contain I, pid file `I/logs/pid` first (counted only when it names that process; removed
 * before a start when it names anything else). Deep: bind + base search of cn=monitor on
 * LDAPHost:LDAPPort, and a TLS handshake on SSLPort when set (both must pass).
 */
import * as path from 'node:path';
import { listInstanceProcesses } from '../proc/processes';
import { attrNumber, attrString } from './attr-access';
import { missingDir, processesPresent, removeStaleMatcherPidFiles } from './first-level';
import type { LifecycleSpec } from './lifecycle';
import { runProbePlan, type PlannedProbe } from './deep-probes';
import type { LevelResult } from './monitor-levels';
import { commandDrivenType } from './command-driven-type';
import type { AgentContext, ResourceType } from './contract';

export const LDAP_DAEMON = 'ns-slapd';

function spec(ctx: AgentContext): LifecycleSpec {
  const root = attrString(ctx, 'InstanceRoot') ?? '';
  const pidFile = path.join(root, 'logs', 'pid');
  const matchers = [{ name: LDAP_DAEMON, root, pidFile }];
  return {
    first: () => processesPresent(matchers, root),
    removeStalePidFiles: () => removeStaleMatcherPidFiles(matchers),
    leftovers: async () => (root ? listInstanceProcesses(root) : []),
    start: { argv: [path.join(root, 'start-slapd')], stdinSecret: 'SSLDbPasswd' },
    stop: { argv: [path.join(root, 'stop-slapd')] },
    missingRoot: () => missingDir('InstanceRoot', root),
    deep: (budget, signal) => deep(ctx, budget, signal),
  };
}

async function deep(ctx: AgentContext, budgetMs: number, signal: AbortSignal): Promise<LevelResult> {
  const host = attrString(ctx, 'LDAPHost') ?? '127.0.0.1';
  const port = attrNumber(ctx, 'LDAPPort', 389);
  const sslPort = attrNumber(ctx, 'SSLPort', 0);
  // Anonymous bind, base search of cn=monitor (OpenLDAP answers monitoredInfo, the JES server
  // version; the probe takes either). SSLPort: a full TLS handshake, certificate expiry reported.
  const plan: PlannedProbe[] = [{ check: `ldap:${port}`, probe: 'ldap', host, port }];
  if (sslPort > 0) plan.push({ check: `ldaps:${sslPort}`, probe: 'tls', host, port: sslPort });
  return runProbePlan(plan, { budgetMs, signal });
}

export const SunJESLDAP: ResourceType = commandDrivenType('SunJESLDAP', spec);

