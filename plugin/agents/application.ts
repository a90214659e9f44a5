/**
 * Application: any daemon given by its programs (e.g. OpenLDAP slapd, Dovecot, Postfix).
 * online runs StartProgram (StartInputSecret on stdin); offline runs StopProgram, or SIGTERMs
 * the daemon's processes when there is none; clean runs CleanProgram (else StopProgram) and
 * kills what is left. First level: every PidFiles entry names a live process and every
 * MonitorProcesses string is in some live command line (with neither, any process under
 * ProcessRoot). Deep: ProbeServices on ProbeHost. Leftovers: pid-file processes, matching
 * processes, everything under ProcessRoot, and their descendants.
 */
import { findProcesses, listInstanceProcesses, readPidFile, snapshot, containsPath, withDescendants } from '../../probes/processes';
import { serviceProbe } from '../../probes/registry';
import { attrList, attrPortMap, attrString } from './attr-access';
import { toArgv } from './command-line';
import { cleanFlow, offlineFlow, onlineFlow, type LifecycleSpec, type ProgramSpec } from './lifecycle';
import { foldProbes, runMonitor, type LevelResult, type NamedProbe } from './monitor-levels';
import type { AgentContext, ProcessMatcher, ResourceType } from './types';

function program(value: unknown, stdinSecret?: string): ProgramSpec | undefined {
  const argv = toArgv(value);
  return argv ? { argv, stdinSecret } : undefined;
}

async function first(ctx: AgentContext): Promise<LevelResult> {
  const pidFiles = attrList(ctx, 'PidFiles');
  const patterns = attrList(ctx, 'MonitorProcesses');
  const root = attrString(ctx, 'ProcessRoot');
  const missing: string[] = [];
  const pids: number[] = [];
  for (const f of pidFiles) {
    const pid = await readPidFile(f);
    if (pid === undefined) missing.push(`pid file ${f} names no live process`);
    else pids.push(pid);
  }
  if (patterns.length > 0) {
    const matchers: ProcessMatcher[] = patterns.map((name) => ({ name, match: 'substring' }));
    const found = await findProcesses(matchers);
    for (const [name, list] of found) {
      if (list.length === 0) missing.push(`no process whose command line contains "${name}"`);
      else pids.push(...list);
    }
  }
  if (pidFiles.length === 0 && patterns.length === 0) {
    if (!root) return { state: 'UNKNOWN', recovery: 'configuration', reason: 'none of PidFiles, MonitorProcesses or ProcessRoot is set: nothing to monitor' };
    const list = (await snapshot()).filter((p) => containsPath(p.cmdline, root));
    if (list.length === 0) missing.push(`no process with ${root} in its command line`);
    else pids.push(...list.map((p) => p.pid));
  }
  const unique = [...new Set(pids)];
  if (missing.length > 0) return { state: 'OFFLINE', recovery: 'restartable', pids: unique, reason: missing.join('; ') };
  return { state: 'ONLINE', pids: unique, reason: `running: pids ${unique.join(',')}` };
}

async function leftovers(ctx: AgentContext): Promise<number[]> {
  const pids = new Set<number>();
  for (const f of attrList(ctx, 'PidFiles')) {
    const pid = await readPidFile(f);
    if (pid !== undefined) pids.add(pid);
  }
  const patterns = attrList(ctx, 'MonitorProcesses');
  if (patterns.length > 0) {
    const found = await findProcesses(patterns.map((name) => ({ name, match: 'substring' as const })), { fresh: true });
    for (const list of found.values()) for (const p of list) pids.add(p);
  }
  const root = attrString(ctx, 'ProcessRoot');
  if (root) for (const p of await listInstanceProcesses(root)) pids.add(p);
  if (pids.size === 0) return [];
  return [...(await withDescendants(pids))].sort((a, b) => a - b);
}

function spec(ctx: AgentContext): LifecycleSpec {
  return {
    first: () => first(ctx),
    leftovers: () => leftovers(ctx),
    start: program(ctx.attrs.StartProgram, 'StartInputSecret'),
    stop: program(ctx.attrs.StopProgram),
    clean: program(ctx.attrs.CleanProgram) ?? program(ctx.attrs.StopProgram),
    deep: (budget, signal) => deep(ctx, budget, signal),
  };
}

async function deep(ctx: AgentContext, budgetMs: number, signal: AbortSignal): Promise<LevelResult> {
  const host = attrString(ctx, 'ProbeHost') ?? '127.0.0.1';
  const services = attrPortMap(ctx, 'ProbeServices');
  const timeoutMs = Math.max(200, budgetMs * 0.9);
  const probes: Promise<NamedProbe>[] = [];
  for (const [service, port] of Object.entries(services)) {
    const probe = serviceProbe(service);
    if (!probe) continue;
    probes.push(probe({ host, port }, { timeoutMs }, signal).then((result) => ({ check: `${service}:${port}`, result })));
  }
  return foldProbes(await Promise.all(probes));
}

export const Application: ResourceType = {
  name: 'Application',
  online: (ctx) => onlineFlow(ctx, spec(ctx)),
  offline: (ctx) => offlineFlow(ctx, spec(ctx)),
  clean: (ctx) => cleanFlow(ctx, spec(ctx)),
  monitor: (ctx, options) => runMonitor(ctx, options, { first: () => first(ctx), second: (b, s) => deep(ctx, b, s) }),
};
