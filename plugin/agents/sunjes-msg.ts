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
import { listInstanceProcesses } from '../../probes/processes';
import { serviceProbe } from '../../probes/registry';
import { attrPortMap, attrString, execBase } from './attr-access';
import { matchedWithDescendants, missingDir, processesPresent } from './first-level';
import { cleanFlow, offlineFlow, onlineFlow, type LifecycleSpec } from './lifecycle';
import { foldProbes, runMonitor, type LevelResult, type NamedProbe } from './monitor-levels';
import type { AgentContext, ProcessMatcher, ResourceType } from './types';

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

interface Plan {
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

async function deep(ctx: AgentContext, p: Plan, budgetMs: number, signal: AbortSignal): Promise<LevelResult> {
  const log = ctx.log.child('monitor');
  const timeoutMs = Math.max(200, budgetMs * 0.9);
  if (p.kind === 'core') {
    const argv = [path.join(p.root, 'lib', 'stored'), '-tv'];
    const result = await commandProbe(argv, { ...execBase(ctx, log), timeoutMs, signal });
    return foldProbes([{ check: 'stored -tv', result }]);
  }
  const host = attrString(ctx, 'MsgHost') ?? '127.0.0.1';
  // smtp and lmtp are one dispatcher: when both are listed, one check is enough (SPEC §2.1).
  const services = p.services.filter((s) => !(s === 'lmtp' && p.services.includes('smtp')));
  const probes: Promise<NamedProbe>[] = [];
  for (const service of services) {
    const probe = serviceProbe(service);
    const port = p.ports[service];
    if (!probe || port === undefined) continue;
    probes.push(probe({ host, port }, { timeoutMs }, signal).then((result) => ({ check: `${service}:${port}`, result })));
  }
  return foldProbes(await Promise.all(probes));
}

export const SunJESMsg: ResourceType = {
  name: 'SunJESMsg',
  online: (ctx) => onlineFlow(ctx, spec(ctx)),
  offline: (ctx) => offlineFlow(ctx, spec(ctx)),
  clean: (ctx) => cleanFlow(ctx, spec(ctx)),
  monitor: (ctx, options) => {
    const s = spec(ctx);
    return runMonitor(ctx, options, { first: s.first, second: s.deep });
  },
};
