/**
 * SunJESAdm: an Administration Server instance. Start `R/start-admin` (the certificate-database
 * password on stdin), stop `R/stop-admin`. First level: the `uxwdog` watchdog and `ns-httpd`
 * with `R/admin-serv/config` in the command line, pid file `R/admin-serv/logs/pid` first
 * (counted only when it names one of them; removed before a start when it names anything
 * else). Deep: with AdminUser, an authenticated GET that asks the server for its port and
 * expects AdminPort back; otherwise a connection (a handshake with SSLEnabled). The same probe,
 * aimed at the VIP, is its client probe.
 */
import * as path from 'node:path';
import { listInstanceProcesses } from '../proc/matching';
import type { AttrDecl } from '../model/attributes';
import { attrReader } from './attr-access';
import { missingDir, processesPresent, removeStaleMatcherPidFiles } from './first-level';
import { DAEMON_USER_ATTRIBUTE, processOwners } from './process-owner';
import type { LifecycleSpec } from './lifecycle';
import { budgetClock, clientProbesOf, planWithTestAccount, runPlanRead, type PlanRead, type PlannedProbe } from './deep-probes';
import type { LevelResult } from './monitor-levels';
import { commandDriven } from './command-driven-type';
import { defineType, rule, type AgentContext } from './contract';

export const ADMIN_DAEMONS = ['uxwdog', 'ns-httpd'] as const;
export const ADMIN_PORT_PATH = '/admin-serv/tasks/configuration/getPort';

const ATTRIBUTES = [
  { name: 'ServerRoot', kind: 'path', required: true, example: '/sunone/admin',
    doc: 'Installation root of the administration server; holds start-admin, stop-admin and admin-serv/config.' },
  { name: 'AdminHost', kind: 'host', required: true, example: 'admin.example.com',
    doc: 'Virtual host name (or IPv4 address) of the administration server.' },
  { name: 'AdminPort', kind: 'port', default: 390, doc: 'Port of the administration server.' },
  { name: 'SSLEnabled', kind: 'bool', default: false, doc: 'The administration port speaks HTTPS.' },
  { name: 'AdminUser', kind: 'string', doc: 'Administrator used by the deep check to read back the server\'s port.' },
  { name: 'AdminPasswd', kind: 'secret', doc: 'Password of AdminUser (required with it), encrypted with `msgha encrypt`.' },
  { name: 'SSLDbPasswd', kind: 'secret',
    doc: 'Certificate-database password, given to start-admin on its standard input (never on a command line).' },
  DAEMON_USER_ATTRIBUTE,
] as const satisfies readonly AttrDecl[];

const attr = attrReader(ATTRIBUTES);

function spec(ctx: AgentContext): LifecycleSpec {
  const root = attr.required(ctx, 'ServerRoot');
  const config = path.join(root, 'admin-serv', 'config');
  const pidFile = path.join(root, 'admin-serv', 'logs', 'pid');
  const matchers = ADMIN_DAEMONS.map((name) => ({ name, root: config, pidFile }));
  return {
    first: async () => processesPresent(matchers, `${config}`, await processOwners(ctx)),
    removeStalePidFiles: async () => removeStaleMatcherPidFiles(matchers, await processOwners(ctx)),
    leftovers: async () => listInstanceProcesses(root, { owners: await processOwners(ctx) }),
    start: { argv: [path.join(root, 'start-admin')], stdinSecret: 'SSLDbPasswd' },
    stop: { argv: [path.join(root, 'stop-admin')] },
    missingRoot: () => missingDir('ServerRoot', root),
    deep: (budget, signal) => deep(ctx, budget, signal),
  };
}

/** The admin server's probe on AdminHost, with AdminUser's password read now. */
function probePlan(ctx: AgentContext): Promise<PlanRead> {
  const host = attr.required(ctx, 'AdminHost');
  const port = attr.number(ctx, 'AdminPort');
  const probe = attr.bool(ctx, 'SSLEnabled') ? 'admins' : 'admin';
  return planWithTestAccount(ctx, attr.text(ctx, 'AdminUser'), 'AdminPasswd', (account) => {
    // With AdminUser: an authenticated GET of getPort that must read back AdminPort; without:
    // a connection (a full TLS handshake with SSLEnabled).
    const options: PlannedProbe['options'] = account ? { user: account.user, password: account.password ?? '', path: ADMIN_PORT_PATH, expectPort: port } : {};
    return [{ check: `admin:${port}`, probe, host, port, options }];
  });
}

async function deep(ctx: AgentContext, budgetMs: number, signal: AbortSignal): Promise<LevelResult> {
  const remaining = budgetClock(budgetMs);
  const read = await probePlan(ctx);
  return runPlanRead(read, { budgetMs: remaining(), signal, attrs: ctx.attrs });
}

export const SunJESAdm = defineType({
  name: 'SunJESAdm',
  summary: 'Administration Server instance (uxwdog watchdog and ns-httpd processes).',
  attributes: ATTRIBUTES,
  rules: [
    rule(['AdminUser', 'AdminPasswd'], (r) => {
      if (r.given.has('AdminUser') && !r.given.has('AdminPasswd')) {
        r.error('AdminPasswd', 'is required when AdminUser is set', 'encrypt the password with `msgha encrypt`');
      }
      if (r.given.has('AdminPasswd') && !r.given.has('AdminUser')) r.warn('AdminPasswd', 'is set without AdminUser and is never used');
    }),
  ],
  ...commandDriven(attr, spec),
  clientProbes: async (ctx, host) => {
    const missing = attr.missing(ctx);
    return missing ? { problem: missing } : clientProbesOf(await probePlan(ctx), host);
  },
});
