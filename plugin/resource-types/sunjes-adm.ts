/**
 * SunJESAdm: an Administration Server instance (SPEC §2.2). Start `R/start-admin` (the
 * certificate-database password on stdin), stop `R/stop-admin`. First level: the `uxwdog`
 * watchdog and `ns-httpd` with `R/admin-serv/config` in the command line, pid file
 * `R/admin-serv/logs/pid` first (counted only when it names one of them; removed before a start
 * when it names anything else). Deep: with AdminUser, an authenticated GET that asks the server
 * for its port and expects AdminPort back; otherwise a connection (a handshake with SSLEnabled).
 */
import * as path from 'node:path';
import { listInstanceProcesses } from '../proc/processes';
import { attrBool, attrNumber, attrString } from './attr-access';
import { missingDir, processesPresent, removeStaleMatcherPidFiles } from './first-level';
import type { LifecycleSpec } from './lifecycle';
import { budgetClock, readSecret, runProbePlan, type PlannedProbe } from './deep-probes';
import type { LevelResult } from './monitor-levels';
import { commandDrivenType } from './command-driven-type';
import type { AgentContext, ResourceType } from './contract';

export const ADMIN_DAEMONS = ['uxwdog', 'ns-httpd'] as const;
export const ADMIN_PORT_PATH = '/admin-serv/tasks/configuration/getPort';

function spec(ctx: AgentContext): LifecycleSpec {
  const root = attrString(ctx, 'ServerRoot') ?? '';
  const config = path.join(root, 'admin-serv', 'config');
  const pidFile = path.join(root, 'admin-serv', 'logs', 'pid');
  const matchers = ADMIN_DAEMONS.map((name) => ({ name, root: config, pidFile }));
  return {
    first: () => processesPresent(matchers, `${config}`),
    removeStalePidFiles: () => removeStaleMatcherPidFiles(matchers),
    leftovers: async () => (root ? listInstanceProcesses(root) : []),
    start: { argv: [path.join(root, 'start-admin')], stdinSecret: 'SSLDbPasswd' },
    stop: { argv: [path.join(root, 'stop-admin')] },
    missingRoot: () => missingDir('ServerRoot', root),
    deep: (budget, signal) => deep(ctx, budget, signal),
  };
}

async function deep(ctx: AgentContext, budgetMs: number, signal: AbortSignal): Promise<LevelResult> {
  const remaining = budgetClock(budgetMs);
  const host = attrString(ctx, 'AdminHost') ?? '127.0.0.1';
  const port = attrNumber(ctx, 'AdminPort', 390);
  const tls = attrBool(ctx, 'SSLEnabled');
  const user = attrString(ctx, 'AdminUser');
  const options: PlannedProbe['options'] = {};
  if (user) {
    const secret = await readSecret(ctx, 'AdminPasswd');
    if (!secret.ok) return secret.problem;
    // With AdminUser: an authenticated GET of getPort that must read back AdminPort; without:
    // a connection (a full TLS handshake with SSLEnabled).
    Object.assign(options, { user, password: secret.value ?? '', path: ADMIN_PORT_PATH, expectPort: port });
  }
  const plan: PlannedProbe[] = [{ check: `admin:${port}`, probe: tls ? 'admins' : 'admin', host, port, options }];
  return runProbePlan(plan, { budgetMs: remaining(), signal });
}

export const SunJESAdm: ResourceType = commandDrivenType('SunJESAdm', spec);

