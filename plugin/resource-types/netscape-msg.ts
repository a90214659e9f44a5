/**
 * NetscapeMsg: the older Netscape messaging server root (SPEC §2.4). Start `R/start-msg`, stop
 * `R/stop-msg`; the first level needs all five daemons (smtpd popd imapd mshttpd stored) with R in
 * their command line. Deep: smtp, pop, imap AND http (the seed never probed http, so a hung
 * webmail went unnoticed), in parallel, each under ProbeTimeout (capped by what is left of
 * MonitorTimeout); with LDAPTestUser a login for pop, imap and http and RCPT TO the test address
 * for smtp; ProbeFailurePolicy 'timeout-only' acts only on timeouts, as the seed did.
 */
import * as path from 'node:path';
import { listInstanceProcesses } from '../proc/processes';
import { attrNumber, attrPortMap, attrString } from './attr-access';
import { missingDir, processesPresent } from './first-level';
import type { LifecycleSpec } from './lifecycle';
import { budgetClock, domainOf, readSecret, runProbePlan, type PlannedProbe } from './deep-probes';
import type { LevelResult } from './monitor-levels';
import { NETSCAPE_DAEMONS } from './netscape-msg.attrs';
import { commandDrivenType } from './command-driven-type';
import type { AgentContext, ResourceType } from './contract';

const DEFAULT_PORTS: Record<string, number> = { smtp: 25, pop: 110, imap: 143, http: 80 };

function spec(ctx: AgentContext): LifecycleSpec {
  const root = attrString(ctx, 'ServerRoot') ?? '';
  return {
    first: () => processesPresent(NETSCAPE_DAEMONS.map((name) => ({ name, root })), root),
    leftovers: async () => (root ? listInstanceProcesses(root) : []),
    start: { argv: [path.join(root, 'start-msg')] },
    stop: { argv: [path.join(root, 'stop-msg')] },
    missingRoot: () => missingDir('ServerRoot', root),
    deep: (budget, signal) => deep(ctx, budget, signal),
  };
}

/** Default ProbeTimeout (s), as declared in netscape-msg.attrs.ts. */
const DEFAULT_PROBE_TIMEOUT_S = 5;

async function deep(ctx: AgentContext, budgetMs: number, signal: AbortSignal): Promise<LevelResult> {
  const remaining = budgetClock(budgetMs);
  const host = attrString(ctx, 'MsgHost') ?? '127.0.0.1';
  const ports = { ...DEFAULT_PORTS, ...attrPortMap(ctx, 'Ports') };
  const policy = attrString(ctx, 'ProbeFailurePolicy') === 'timeout-only' ? 'timeout-only' : 'any';
  const user = attrString(ctx, 'LDAPTestUser');
  let password: string | undefined;
  if (user !== undefined) {
    const secret = await readSecret(ctx, 'LDAPTestPasswd');
    if (!secret.ok) return secret.problem;
    password = secret.value;
  }
  const login = user !== undefined && password !== undefined;
  const domain = domainOf(host);
  const plan: PlannedProbe[] = [];
  for (const service of ['smtp', 'pop', 'imap', 'http']) {
    const port = ports[service];
    if (!port) continue;
    const options: PlannedProbe['options'] = {};
    if (login && service !== 'smtp') Object.assign(options, { user, password });
    if (login && service === 'smtp' && domain) options.recipient = `${user}@${domain}`;
    plan.push({ check: `${service}:${port}`, probe: service, host, port, options });
  }
  // ProbeTimeout is each probe's deadline, but a monitor cycle still ends within MonitorTimeout.
  const capMs = attrNumber(ctx, 'ProbeTimeout', DEFAULT_PROBE_TIMEOUT_S) * 1000;
  return runProbePlan(plan, { budgetMs: remaining(), signal, policy, capMs });
}

export const NetscapeMsg: ResourceType = commandDrivenType('NetscapeMsg', spec);

