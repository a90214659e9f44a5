/**
 * NetscapeMsg: the older Netscape messaging server root. Start `R/start-msg`, stop `R/stop-msg`;
 * the first level needs all five daemons (smtpd popd imapd mshttpd stored) with R in their
 * command line. Deep: smtp, pop, imap AND http (the seed never probed http, so a hung webmail
 * went unnoticed), in parallel, each under ProbeTimeout (capped by what is left of
 * MonitorTimeout); with LDAPTestUser a login for pop, imap and http and RCPT TO the test
 * address for smtp; ProbeFailurePolicy 'timeout-only' acts only on timeouts, as the seed did.
 * The same probes, aimed at the VIP and counted under the same policy, are its client probes.
 */
import * as path from 'node:path';
import type { ProbePolicy } from '../../probes/registry';
import { listInstanceProcesses } from '../proc/matching';
import { domainOf } from '../core/net';
import type { AttrDecl } from '../model/attributes';
import { num, portMap } from '../model/check-context';
import { attrReader } from './attr-access';
import { missingDir, processesPresent } from './first-level';
import { DAEMON_USER_ATTRIBUTE, processOwners } from './process-owner';
import type { LifecycleSpec } from './lifecycle';
import { budgetClock, clientProbesOf, planWithTestAccount, runPlanRead, type PlanRead, type PlannedProbe } from './deep-probes';
import type { LevelResult } from './monitor-levels';
import { commandDriven } from './command-driven-type';
import { checkServiceNames, checkTestAccount } from './rule-helpers';
import { defineType, rule, type AgentContext } from './contract';

/** The five daemons of a Netscape server root; each starts, stops and fails on its own. */
export const NETSCAPE_DAEMONS = ['smtpd', 'popd', 'imapd', 'mshttpd', 'stored'] as const;
/** Keys of Ports: the probed daemons (stored has no port). */
export const NETSCAPE_PORT_KEYS = ['smtp', 'pop', 'imap', 'http'] as const;

const ATTRIBUTES = [
  { name: 'ServerRoot', kind: 'path', required: true, example: '/netscape/suitespot',
    doc: 'Server root of the one instance of this logical host; holds start-msg and stop-msg.' },
  { name: 'MsgHost', kind: 'host', required: true, example: 'mail.example.com',
    doc: 'Logical host name (or IPv4 address) of the instance; probes connect to it.' },
  { name: 'Ports', kind: 'portMap', default: { smtp: 25, pop: 110, imap: 143, http: 80 },
    doc: 'Ports probed for smtpd, popd, imapd and mshttpd (keys smtp, pop, imap, http).' },
  { name: 'ProbeTimeout', kind: 'seconds', default: 5, min: 1, unit: 's',
    doc: 'Deadline of one protocol probe; it must fit inside MonitorTimeout (default 8 s), which still bounds the whole monitor. The seed used 660 s so that a slow server never failed over: to wait longer, raise MonitorTimeout together with ProbeTimeout.' },
  { name: 'ProbeFailurePolicy', kind: 'enum', values: ['any', 'timeout-only'], default: 'any',
    doc: 'any = every failed probe counts; timeout-only = act only on probe timeouts, as the seed did.' },
  { name: 'LDAPTestUser', kind: 'string', doc: 'Test account for synthetic logins (optional).' },
  { name: 'LDAPTestPasswd', kind: 'secret', doc: 'Password of LDAPTestUser, encrypted with `msgha encrypt`.' },
  DAEMON_USER_ATTRIBUTE,
] as const satisfies readonly AttrDecl[];

const attr = attrReader(ATTRIBUTES);

function spec(ctx: AgentContext): LifecycleSpec {
  const root = attr.required(ctx, 'ServerRoot');
  return {
    first: async () => processesPresent(NETSCAPE_DAEMONS.map((name) => ({ name, root })), root, await processOwners(ctx)),
    leftovers: async () => listInstanceProcesses(root, { owners: await processOwners(ctx) }),
    start: { argv: [path.join(root, 'start-msg')] },
    stop: { argv: [path.join(root, 'stop-msg')] },
    missingRoot: () => missingDir('ServerRoot', root),
    deep: (budget, signal) => deep(ctx, budget, signal),
  };
}

/** How the probes' failures count: ProbeFailurePolicy, and ProbeTimeout as each probe's deadline. */
function counting(ctx: AgentContext): { policy: ProbePolicy; capMs: number } {
  // The declared values of ProbeFailurePolicy are the probe policies.
  return { policy: attr.text(ctx, 'ProbeFailurePolicy') as ProbePolicy, capMs: attr.ms(ctx, 'ProbeTimeout') };
}

/** smtp, pop, imap and http on MsgHost, with the test account read now. */
function probePlan(ctx: AgentContext): Promise<PlanRead> {
  const host = attr.required(ctx, 'MsgHost');
  // A Ports map that names some daemons keeps the declared ports of the others.
  const ports = { ...(attr.defaultOf('Ports') as Record<string, number>), ...attr.portMap(ctx, 'Ports') };
  const domain = domainOf(host);
  return planWithTestAccount(ctx, attr.text(ctx, 'LDAPTestUser'), 'LDAPTestPasswd', (account) => {
    const login = account?.password !== undefined ? { user: account.user, password: account.password } : undefined;
    const plan: PlannedProbe[] = [];
    for (const service of NETSCAPE_PORT_KEYS) {
      const port = ports[service];
      if (!port) continue;
      const options: PlannedProbe['options'] = {};
      if (login && service !== 'smtp') Object.assign(options, login);
      if (login && service === 'smtp' && domain) options.recipient = `${login.user}@${domain}`;
      plan.push({ check: `${service}:${port}`, probe: service, host, port, options });
    }
    return plan;
  });
}

async function deep(ctx: AgentContext, budgetMs: number, signal: AbortSignal): Promise<LevelResult> {
  const remaining = budgetClock(budgetMs);
  const read = await probePlan(ctx);
  // ProbeTimeout is each probe's deadline, but a monitor cycle still ends within MonitorTimeout.
  return runPlanRead(read, { budgetMs: remaining(), signal, ...counting(ctx), attrs: ctx.attrs });
}

export const NetscapeMsg = defineType({
  name: 'NetscapeMsg',
  summary: 'Older Netscape messaging server root: smtpd, popd, imapd, mshttpd and stored.',
  attributes: ATTRIBUTES,
  rules: [
    rule(['Ports'], (r) => {
      checkServiceNames(r, 'Ports', Object.keys(portMap(r.attrs.Ports)), NETSCAPE_PORT_KEYS,
        ` (Ports keys: ${NETSCAPE_PORT_KEYS.join(', ')}; ${NETSCAPE_DAEMONS.length - NETSCAPE_PORT_KEYS.length} daemon, stored, has no port)`);
    }),
    // The monitor as a whole ends at MonitorTimeout, so a longer ProbeTimeout is never waited
    // for. Only a ProbeTimeout the user wrote: the default is a cap, and MonitorTimeout follows
    // MonitorInterval when unset, so lowering MonitorInterval alone must stay clean.
    rule(['ProbeTimeout', 'MonitorTimeout'], (r) => {
      const probe = r.given.has('ProbeTimeout') ? num(r.attrs.ProbeTimeout) : undefined;
      const monitor = num(r.attrs.MonitorTimeout);
      if (probe !== undefined && monitor !== undefined && probe > monitor) {
        r.warn('ProbeTimeout', `ProbeTimeout (${probe} s) is longer than MonitorTimeout (${monitor} s): the monitor ends first and a probe never gets its full ProbeTimeout`,
          'raise MonitorTimeout together with ProbeTimeout (the seed waited 660 s), or lower ProbeTimeout');
      }
    }),
    rule(['LDAPTestUser', 'LDAPTestPasswd'], (r) => checkTestAccount(r, 'LDAPTestUser', 'LDAPTestPasswd')),
  ],
  ...commandDriven(attr, spec),
  // The deep check's probes through the VIP, counted as the deep check counts them (timeout-only: the seed's remote probes).
  clientProbes: async (ctx, host) => {
    const missing = attr.missing(ctx);
    return missing ? { problem: missing } : clientProbesOf(await probePlan(ctx), host, counting(ctx));
  },
});
