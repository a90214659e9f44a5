/**
 * NetscapeMsg: the older Netscape messaging server root (SPEC §2.4). Start `R/start-msg`, stop
 * `R/stop-msg`; the first level needs all five daemons (smtpd popd imapd mshttpd stored) with R in
 * their command line. Deep: smtp, pop, imap AND http (the seed never probed http, so a hung
 * webmail went unnoticed), each under ProbeTimeout; ProbeFailurePolicy 'timeout-only' acts only
 * on timeouts, as the seed did.
 */
import * as path from 'node:path';
import { listInstanceProcesses } from '../../probes/processes';
import { serviceProbe } from '../../probes/registry';
import { attrNumber, attrPortMap, attrString } from './attr-access';
import { missingDir, processesPresent } from './first-level';
import { cleanFlow, offlineFlow, onlineFlow, type LifecycleSpec } from './lifecycle';
import { foldProbes, runMonitor, type LevelResult, type NamedProbe } from './monitor-levels';
import { NETSCAPE_DAEMONS } from './netscape-msg.attrs';
import type { AgentContext, ResourceType } from './types';

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

async function deep(ctx: AgentContext, budgetMs: number, signal: AbortSignal): Promise<LevelResult> {
  const host = attrString(ctx, 'MsgHost') ?? '127.0.0.1';
  const ports = { ...DEFAULT_PORTS, ...attrPortMap(ctx, 'Ports') };
  const probeTimeout = attrNumber(ctx, 'ProbeTimeout', 30) * 1000;
  // ProbeTimeout is the probe's deadline, but a monitor cycle still ends within MonitorTimeout.
  const timeoutMs = Math.max(200, Math.min(probeTimeout, budgetMs * 0.9));
  const policy = attrString(ctx, 'ProbeFailurePolicy') === 'timeout-only' ? 'timeout-only' : 'any';
  const probes: Promise<NamedProbe>[] = [];
  for (const service of ['smtp', 'pop', 'imap', 'http']) {
    const port = ports[service];
    const probe = serviceProbe(service);
    if (!probe || !port) continue;
    probes.push(probe({ host, port }, { timeoutMs }, signal).then((result) => ({ check: `${service}:${port}`, result })));
  }
  return foldProbes(await Promise.all(probes), policy);
}

export const NetscapeMsg: ResourceType = {
  name: 'NetscapeMsg',
  online: (ctx) => onlineFlow(ctx, spec(ctx)),
  offline: (ctx) => offlineFlow(ctx, spec(ctx)),
  clean: (ctx) => cleanFlow(ctx, spec(ctx)),
  monitor: (ctx, options) => {
    const s = spec(ctx);
    return runMonitor(ctx, options, { first: s.first, second: s.deep });
  },
};
