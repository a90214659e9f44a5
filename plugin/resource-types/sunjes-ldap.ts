/**
 * SunJESLDAP: a Directory Server instance. Start `I/start-slapd` (certificate-database password
 * on stdin), stop `I/stop-slapd`. First level: the `ns-slapd` process whose arguments contain
 * I, pid file `I/logs/pid` first (counted only when it names that process; removed before a
 * start when it names anything else). Deep: bind + base search of cn=monitor on
 * LDAPHost:LDAPPort, and a TLS handshake on SSLPort when set (both must pass); the same probes,
 * aimed at the VIP, are its client probes.
 */
import * as path from 'node:path';
import { listInstanceProcesses } from '../proc/matching';
import type { AttrDecl } from '../model/attributes';
import { num } from '../model/check-context';
import { attrReader } from './attr-access';
import { missingDir, processesPresent, removeStaleMatcherPidFiles } from './first-level';
import { DAEMON_USER_ATTRIBUTE, processOwners } from './process-owner';
import type { LifecycleSpec } from './lifecycle';
import { clientProbesOf, runProbePlan, type PlannedProbe } from './deep-probes';
import type { LevelResult } from './monitor-levels';
import { commandDriven } from './command-driven-type';
import { defineType, rule, type AgentContext } from './contract';

export const LDAP_DAEMON = 'ns-slapd';

const ATTRIBUTES = [
  { name: 'InstanceRoot', kind: 'path', required: true, example: '/sunone/dirsrv/slapd-prod1',
    doc: 'Server root plus instance name; holds start-slapd, stop-slapd and logs/pid.' },
  { name: 'LDAPHost', kind: 'host', required: true, example: 'ldap.example.com',
    doc: 'Virtual host name (or IPv4 address) of the directory server.' },
  { name: 'LDAPPort', kind: 'port', default: 389, doc: 'Plain LDAP port.' },
  { name: 'SSLPort', kind: 'int', default: 0, min: 0, max: 65535,
    doc: 'LDAPS port (0 = none). When set, the deep check also needs a TLS handshake there.' },
  { name: 'SSLDbPasswd', kind: 'secret',
    doc: 'Certificate-database password, given to start-slapd on its standard input (never on a command line).' },
  DAEMON_USER_ATTRIBUTE,
] as const satisfies readonly AttrDecl[];

const attr = attrReader(ATTRIBUTES);

function spec(ctx: AgentContext): LifecycleSpec {
  const root = attr.required(ctx, 'InstanceRoot');
  const pidFile = path.join(root, 'logs', 'pid');
  const matchers = [{ name: LDAP_DAEMON, root, pidFile }];
  return {
    first: async () => processesPresent(matchers, root, await processOwners(ctx)),
    removeStalePidFiles: async () => removeStaleMatcherPidFiles(matchers, await processOwners(ctx)),
    leftovers: async () => listInstanceProcesses(root, { owners: await processOwners(ctx) }),
    start: { argv: [path.join(root, 'start-slapd')], stdinSecret: 'SSLDbPasswd' },
    stop: { argv: [path.join(root, 'stop-slapd')] },
    missingRoot: () => missingDir('InstanceRoot', root),
    deep: (budget, signal) => deep(ctx, budget, signal),
  };
}

/** The directory's probes on LDAPHost (no test account: an anonymous bind). */
function probePlan(ctx: AgentContext): PlannedProbe[] {
  const host = attr.required(ctx, 'LDAPHost');
  const port = attr.number(ctx, 'LDAPPort');
  const sslPort = attr.number(ctx, 'SSLPort');
  // Anonymous bind, base search of cn=monitor (OpenLDAP answers monitoredInfo, the JES server
  // version; the probe takes either). SSLPort: a full TLS handshake, certificate expiry reported.
  const plan: PlannedProbe[] = [{ check: `ldap:${port}`, probe: 'ldap', host, port }];
  if (sslPort > 0) plan.push({ check: `ldaps:${sslPort}`, probe: 'tls', host, port: sslPort });
  return plan;
}

async function deep(ctx: AgentContext, budgetMs: number, signal: AbortSignal): Promise<LevelResult> {
  return runProbePlan(probePlan(ctx), { budgetMs, signal, attrs: ctx.attrs });
}

export const SunJESLDAP = defineType({
  name: 'SunJESLDAP',
  summary: 'Directory Server instance (ns-slapd), deep-checked by a cn=monitor search.',
  attributes: ATTRIBUTES,
  rules: [
    rule(['SSLPort', 'LDAPPort'], (r) => {
      const ssl = num(r.attrs.SSLPort);
      if (ssl !== undefined && ssl > 0 && ssl === num(r.attrs.LDAPPort)) {
        r.error('SSLPort', `is the same port as LDAPPort (${ssl})`, 'LDAPS needs its own port, e.g. 636');
      }
    }),
  ],
  ...commandDriven(attr, spec),
  clientProbes: async (ctx, host) => {
    const missing = attr.missing(ctx);
    return missing ? { problem: missing } : clientProbesOf({ ok: true, plan: probePlan(ctx) }, host);
  },
});
