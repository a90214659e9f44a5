/**
 * SunJESMsg: a Messaging Server (MSG) or Multiplexor (MMP) instance.
 *
 * One resource manages either `core` (store, sched, watcher) or a set of services of ServerRoot
 * R, or the MMP. Start/stop go through `R/lib/msstart`; the first level needs every daemon of the
 * configured services with R in its command line; the deep check is `R/lib/stored -tv` for core
 * and a protocol check per service otherwise — the same probes, aimed at the VIP, are the
 * resource's client probes (none for core). Offline of a services or MMP resource kills
 * leftovers of ITS daemons only (and their children), never the core's; offline/clean of core
 * kill what is left of the whole instance.
 */
import * as path from 'node:path';
import { commandProbe } from '../../probes/command';
import { listInstanceProcesses } from '../proc/matching';
import { domainOf } from '../core/net';
import type { AttrDecl } from '../model/attributes';
import { portMap, str } from '../model/check-context';
import { isFqdn } from '../model/values';
import { attrReader, execBase } from './attr-access';
import { budgetClock, clientProbesOf, planWithTestAccount, probeDeadlineMs, runPlanRead, type PlanRead, type PlannedProbe } from './deep-probes';
import { matchedWithDescendants, missingDir, processesPresent } from './first-level';
import { DAEMON_USER_ATTRIBUTE, processOwners } from './process-owner';
import type { LifecycleSpec } from './lifecycle';
import { foldProbes, type LevelResult } from './monitor-levels';
import { commandDriven } from './command-driven-type';
import { checkServiceNames, checkTestAccount } from './rule-helpers';
import type { ProcessMatcher } from '../core/results';
import { defineType, rule, type AgentContext } from './contract';

/** Services a MSG instance may list in MsgServices; `core` must stand alone. */
export const MSG_SERVICES = ['ens', 'imap', 'imaps', 'pop', 'pops', 'snmp', 'http', 'https', 'sms', 'lmtp', 'smtp', 'core'] as const;
/** Services an MMP (multiplexor) instance may list. */
export const MMP_SERVICES = ['imap', 'imaps', 'pop', 'pops'] as const;

const ATTRIBUTES = [
  { name: 'ServerType', kind: 'enum', values: ['MSG', 'MMP'], default: 'MSG',
    doc: 'MSG = messaging server (a webmail multiplexor is an MSG with only http); MMP = IMAP/POP multiplexor.' },
  { name: 'ServerRoot', kind: 'path', required: true, example: '/sunone/msg',
    doc: 'Installation root of the instance, on the shared disk; holds lib/msstart and lib/stored.' },
  { name: 'MsgHost', kind: 'host', required: true, example: 'mail.example.com',
    doc: 'Virtual host name (or IPv4 address) of the instance; probes connect to it. Must be a FQDN when smtp or lmtp is listed.' },
  { name: 'MsgServices', kind: 'portMap', required: true, example: { imap: 143, pop: 110, smtp: 25 },
    doc: 'Services managed by this resource and their ports. MSG: ens imap imaps pop pops snmp http https sms lmtp smtp core (core alone, with the watcher port); MMP: imap imaps pop pops.' },
  { name: 'LDAPTestUser', kind: 'string', example: 'probe',
    doc: 'Test account for synthetic transactions (login, and RCPT TO for smtp/lmtp).' },
  { name: 'LDAPTestPasswd', kind: 'secret',
    doc: 'Password of LDAPTestUser, encrypted with `msgha encrypt`.' },
  DAEMON_USER_ATTRIBUTE,
] as const satisfies readonly AttrDecl[];

const attr = attrReader(ATTRIBUTES);

/** Daemon names (as they appear in command lines) of each service or core part. */
export const MSG_DAEMONS: Readonly<Record<string, readonly string[]>> = {
  store: ['stored'],
  sched: ['sched'],
  watcher: ['watcher'],
  imap: ['imapd'], imaps: ['imapd'],
  pop: ['popd'], pops: ['popd'],
  smtp: ['dispatcher', 'tcp_lmtp_server'], lmtp: ['dispatcher', 'tcp_lmtp_server'],
  http: ['mshttpd'], https: ['mshttpd'],
  ens: ['enpd'],
  snmp: ['snmpproxy'],
  sms: ['smsgateway'],
  mmp: ['AService'],
};

type Kind = 'core' | 'services' | 'mmp';

export interface Plan {
  root: string;
  kind: Kind;
  services: string[];
  ports: Record<string, number>;
  daemons: string[];
  start: string[];
  stop: string[];
}

function plan(ctx: AgentContext): Plan {
  const root = attr.required(ctx, 'ServerRoot');
  const ports = attr.portMap(ctx, 'MsgServices');
  const services = Object.keys(ports);
  const msstart = path.join(root, 'lib', 'msstart');
  const kind: Kind = attr.text(ctx, 'ServerType') === 'MMP' ? 'mmp' : services.includes('core') ? 'core' : 'services';
  const parts = kind === 'core' ? ['store', 'sched', 'watcher'] : kind === 'mmp' ? ['mmp'] : services;
  const daemons = [...new Set(parts.flatMap((s) => MSG_DAEMONS[s] ?? [s]))];
  if (kind === 'core') return { root, kind, services, ports, daemons, start: [msstart, 'store', 'sched'], stop: [msstart, '-k', 'sched', 'store', 'watcher'] };
  if (kind === 'mmp') return { root, kind, services, ports, daemons, start: [msstart, 'mmp'], stop: [msstart, '-k', 'mmp'] };
  return { root, kind, services, ports, daemons, start: [msstart, ...services], stop: [msstart, '-k', ...services] };
}

function matchers(p: Plan): ProcessMatcher[] {
  return p.daemons.map((name) => ({ name, root: p.root }));
}

function spec(ctx: AgentContext): LifecycleSpec & { plan: Plan } {
  const p = plan(ctx);
  return {
    plan: p,
    first: async () => processesPresent(matchers(p), `${p.root} with that daemon name`, await processOwners(ctx)),
    // Services and MMP: their own daemons only (an MMP may share its root with a MSG).
    // Core: offline waits for its own daemons, then whatever is left of the instance goes.
    leftovers: async () => {
      const owners = await processOwners(ctx);
      return p.kind === 'core' ? listInstanceProcesses(p.root, { owners }) : matchedWithDescendants(matchers(p), owners);
    },
    running: async () => matchedWithDescendants(matchers(p), await processOwners(ctx)),
    start: { argv: p.start },
    stop: { argv: p.stop },
    missingRoot: () => missingDir('ServerRoot', p.root),
    deep: (budget, signal) => deep(ctx, p, budget, signal),
  };
}

/** Services with a login when a test user is set; the TLS forms only greet. */
const LOGIN_SERVICES = new Set(['imap', 'pop', 'http']);
/** Registry probe of each service; MMP services log in through the proxy. */
const MSG_PROBES: Readonly<Record<string, string>> = {
  imap: 'imap', imaps: 'imaps', pop: 'pop', pops: 'pops', http: 'http', https: 'https', smtp: 'smtp', lmtp: 'lmtp',
};
const MMP_PROBES: Readonly<Record<string, string>> = { imap: 'mmp-imap', imaps: 'mmp-imaps', pop: 'mmp-pop', pops: 'mmp-pops' };

/**
 * The probes of one services or MMP resource. With LDAPTestUser (and its password): a login for
 * imap, pop and http (webmail), RCPT TO:<user@domain of MsgHost> for smtp/lmtp; otherwise, and
 * always for imaps/pops/https, the greeting over a full TLS handshake (certificate expiry in the
 * report). snmp, ens and sms have no deep check.
 */
export function planServiceProbes(p: Pick<Plan, 'kind' | 'services' | 'ports'>, host: string, user: string | undefined, password: string | undefined): PlannedProbe[] {
  // smtp and lmtp are one dispatcher: when both are listed, only smtp is checked.
  const services = p.services.filter((s) => !(s === 'lmtp' && p.services.includes('smtp')));
  const table = p.kind === 'mmp' ? MMP_PROBES : MSG_PROBES;
  const login = user !== undefined && password !== undefined;
  const domain = domainOf(host);
  const plan: PlannedProbe[] = [];
  for (const service of services) {
    const probe = table[service];
    const port = p.ports[service];
    if (!probe || port === undefined) continue;
    const options: PlannedProbe['options'] = {};
    if (login && LOGIN_SERVICES.has(service)) Object.assign(options, { user, password });
    // No AUTH for smtp/lmtp: the transaction proves the MTA accepts mail for the test user.
    if (login && (service === 'smtp' || service === 'lmtp') && domain) options.recipient = `${user}@${domain}`;
    plan.push({ check: `${service}:${port}`, probe, host, port, options });
  }
  return plan;
}

/** The protocol probes of a services or MMP resource on MsgHost, with the test account read now. */
function servicePlan(ctx: AgentContext, p: Plan): Promise<PlanRead> {
  const host = attr.required(ctx, 'MsgHost');
  return planWithTestAccount(ctx, attr.text(ctx, 'LDAPTestUser'), 'LDAPTestPasswd', (account) => planServiceProbes(p, host, account?.user, account?.password));
}

async function deep(ctx: AgentContext, p: Plan, budgetMs: number, signal: AbortSignal): Promise<LevelResult> {
  const log = ctx.log.child('monitor');
  const remaining = budgetClock(budgetMs);
  if (p.kind === 'core') {
    const argv = [path.join(p.root, 'lib', 'stored'), '-tv'];
    const result = await commandProbe(argv, { ...execBase(ctx, log), timeoutMs: probeDeadlineMs(remaining()), signal });
    return foldProbes([{ check: 'stored -tv', result }]);
  }
  const read = await servicePlan(ctx, p);
  return runPlanRead(read, { budgetMs: remaining(), signal, attrs: ctx.attrs });
}

export const SunJESMsg = defineType({
  name: 'SunJESMsg',
  summary: 'Messaging Server or Messaging Multiplexor instance: core (store, sched, watcher) or services (imap, pop, smtp, http, …).',
  attributes: ATTRIBUTES,
  rules: [
    rule(['MsgServices', 'ServerType', 'MsgHost'], (r) => {
      const services = Object.keys(portMap(r.attrs.MsgServices));
      if (r.attrs.MsgServices !== undefined && services.length === 0) {
        r.error('MsgServices', 'lists no service', 'e.g. { core: 49994 } or { imap: 143, pop: 110 }');
      }
      if (r.attrs.ServerType === 'MMP') checkServiceNames(r, 'MsgServices', services, MMP_SERVICES, ' for ServerType MMP (only imap, imaps, pop, pops)');
      else checkServiceNames(r, 'MsgServices', services, MSG_SERVICES, '');
      if (services.includes('core') && services.length > 1) {
        r.error('MsgServices', `core must be alone in its resource, found with ${services.filter((s) => s !== 'core').join(', ')}`,
          'put core in its own resource and make the services resource require it');
      }
      const host = str(r.attrs.MsgHost);
      const mta = services.filter((s) => s === 'smtp' || s === 'lmtp');
      if (host !== undefined && mta.length > 0 && !isFqdn(host)) {
        r.error('MsgHost', `must be a fully qualified domain name when ${mta.join(' and ')} is listed (the probe address is LDAPTestUser@<domain of MsgHost>), got "${host}"`,
          'e.g. mail.example.com');
      }
      if (mta.length === 2) {
        r.warn('MsgServices', 'smtp and lmtp are both listed: deep monitoring checks only smtp', 'they cannot be controlled separately; this is expected, not an error');
      }
    }),
    rule(['LDAPTestUser', 'LDAPTestPasswd'], (r) => checkTestAccount(r, 'LDAPTestUser', 'LDAPTestPasswd')),
  ],
  ...commandDriven(attr, spec),
  // The deep check's service probes through the VIP; core has only `stored -tv`, no client service.
  clientProbes: async (ctx, host) => {
    const missing = attr.missing(ctx);
    if (missing) return { problem: missing };
    const p = plan(ctx);
    return p.kind === 'core' ? { plan: [] } : clientProbesOf(await servicePlan(ctx, p), host);
  },
});
