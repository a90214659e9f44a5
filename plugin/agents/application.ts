/**
 * Application: any daemon given by its programs (e.g. OpenLDAP slapd, Dovecot, Postfix).
 * online runs StartProgram (StartInputSecret on stdin); offline runs StopProgram, or SIGTERMs
 * the daemon's processes when there is none; clean runs CleanProgram (else StopProgram) and
 * kills what is left. First level: every PidFiles entry names a live process and every
 * MonitorProcesses string is in some live command line (with neither, any process under
 * ProcessRoot). Deep: ProbeServices on ProbeHost, in parallel, logging in as ProbeUser. Leftovers: pid-file processes, matching
 * processes, everything under ProcessRoot, and their descendants.
 */
import { findProcesses, listInstanceProcesses, readPidFile, snapshot, containsPath, withDescendants } from '../../probes/processes';
import { attrList, attrPortMap, attrString } from './attr-access';
import { toArgv } from './command-line';
import { cleanFlow, offlineFlow, onlineFlow, type LifecycleSpec, type ProgramSpec } from './lifecycle';
import { budgetClock, readSecret, runProbePlan, type PlannedProbe } from './deep-probes';
import { runMonitor, type LevelResult } from './monitor-levels';
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

/** Services whose probe logs in as ProbeUser (ldap binds only when ProbeUser is a DN). */
const LOGIN_PROBES = new Set(['imap', 'imaps', 'pop', 'pops', 'http', 'https']);

async function deep(ctx: AgentContext, budgetMs: number, signal: AbortSignal): Promise<LevelResult> {
  const remaining = budgetClock(budgetMs);
  const host = attrString(ctx, 'ProbeHost') ?? '127.0.0.1';
  const services = attrPortMap(ctx, 'ProbeServices');
  const user = attrString(ctx, 'ProbeUser');
  let password: string | undefined;
  if (user !== undefined) {
    const secret = await readSecret(ctx, 'ProbePasswd');
    if (!secret.ok) return secret.problem;
    password = secret.value;
  }
  const login = user !== undefined && password !== undefined;
  const plan: PlannedProbe[] = Object.entries(services).map(([service, port]) => {
    const options: PlannedProbe['options'] = {};
    if (login && (LOGIN_PROBES.has(service) || ((service === 'ldap' || service === 'ldaps') && user.includes('=')))) {
      Object.assign(options, { user, password });
    }
    // smtp/lmtp: RCPT TO the test address when ProbeUser is one (no domain to derive it from).
    if (login && (service === 'smtp' || service === 'lmtp') && user.includes('@')) options.recipient = user;
    return { check: `${service}:${port}`, probe: service, host, port, options };
  });
  return runProbePlan(plan, { budgetMs: remaining(), signal });
}

export const Application: ResourceType = {
  name: 'Application',
  online: (ctx) => onlineFlow(ctx, spec(ctx)),
  offline: (ctx) => offlineFlow(ctx, spec(ctx)),
  clean: (ctx) => cleanFlow(ctx, spec(ctx)),
  monitor: (ctx, options) => runMonitor(ctx, options, { first: () => first(ctx), second: (b, s) => deep(ctx, b, s) }),
};
