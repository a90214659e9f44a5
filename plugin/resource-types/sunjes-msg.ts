/**
 * SunJESMsg: a Messaging Server (MSG) or Multiplexor (MMP) instance (SPEC §2.1).
 *
 * One resource manages either `core` (store, sched, watcher) or a set of services of ServerRoot
 * R, or the MMP. Start/stop go through `R/lib/msstart`; the first level needs every daemon of the
 * configured services with R in its command line; the deep check is `R/lib/stored -tv` for core
 * and a protocol check per service otherwise. Offline of a services or MMP resource kills
 * leftovers of ITS daemons only (and their children), never the core's; offline/clean of core
 * kill what is left of the whole instance.
 */
import * as path from 'node:path';
import { commandProbe } from '../../probes/command';
import { listInstanceProcesses } from '../proc/processes';
import { attrPortMap, attrString, execBase } from './attr-access';
import { budgetClock, domainOf, probeDeadlineMs, readSecret, runProbePlan, type PlannedProbe } from './deep-probes';
import { matchedWithDescendants, missingDir, processesPresent } from './first-level';
import type { LifecycleSpec } from './lifecycle';
import { foldProbes, type LevelResult } from './monitor-levels';
import { commandDrivenType } from './command-driven-type';
import type { ProcessMatcher } from '../core/results';
import type { AgentContext, ResourceType } from './contract';

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
  const root = attrString(ctx, 'ServerRoot') ?? '';
  const ports = attrPortMap(ctx, 'MsgServices');
  const services = Object.keys(ports);
  const msstart = path.join(root, 'lib', 'msstart');
  const kind: Kind = attrString(ctx, 'ServerType') === 'MMP' ? 'mmp' : services.includes('core') ? 'core' : 'services';
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
    first: () => processesPresent(matchers(p), `${p.root} with that daemon name`),
    // Services and MMP: their own daemons only (an MMP may share its root with a MSG).
    // Core: offline waits for its own daemons, then whatever is left of the instance goes.
    leftovers: async () => (p.kind === 'core' && p.root ? listInstanceProcesses(p.root) : matchedWithDescendants(matchers(p))),
    running: () => matchedWithDescendants(matchers(p)),
    start: { argv: p.start },
    stop: { argv: p.stop },
    missingRoot: () => missingDir('ServerRoot', p.root),
    deep: (budget, signal) => deep(ctx, p, budget, signal),
  };
}

/** Services with a login when a test user is set (SPEC §2.1); the TLS forms only greet. */
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
  // smtp and lmtp are one dispatcher: when both are listed, only smtp is checked (SPEC §2.1).
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

async function deep(ctx: AgentContext, p: Plan, budgetMs: number, signal: AbortSignal): Promise<LevelResult> {
  const log = ctx.log.child('monitor');
  const remaining = budgetClock(budgetMs);
  if (p.kind === 'core') {
    const argv = [path.join(p.root, 'lib', 'stored'), '-tv'];
    const result = await commandProbe(argv, { ...execBase(ctx, log), timeoutMs: probeDeadlineMs(remaining()), signal });
    return foldProbes([{ check: 'stored -tv', result }]);
  }
  const host = attrString(ctx, 'MsgHost') ?? '127.0.0.1';
  const user = attrString(ctx, 'LDAPTestUser');
  let password: string | undefined;
  if (user !== undefined) {
    const secret = await readSecret(ctx, 'LDAPTestPasswd');
    if (!secret.ok) return secret.problem;
    password = secret.value;
  }
  return runProbePlan(planServiceProbes(p, host, user, password), { budgetMs: remaining(), signal });
}

export const SunJESMsg: ResourceType = commandDrivenType('SunJESMsg', spec);

