/**
 * Application: any daemon given by its programs (e.g. OpenLDAP slapd, Dovecot, Postfix).
 * online runs StartProgram (StartInputSecret on stdin); offline runs StopProgram, or SIGTERMs
 * the daemon's processes when there is none; clean runs CleanProgram (else StopProgram) and
 * kills what is left. First level: every PidFiles entry names a live process OF THIS INSTANCE
 * and every MonitorProcesses string is in some live command line (with neither, any process
 * with a ProcessRoot path in its command line). A pid file's process is this instance's when
 * its command line contains a MonitorProcesses string or a ProcessRoot path, or its working
 * directory is under a ProcessRoot (with neither attribute set, any live process that is not a
 * thread nor one of ours); a pid file naming anything else is ignored, and removed before a
 * start. Deep: ProbeServices on ProbeHost, in parallel, logging in as ProbeUser. Leftovers:
 * pid-file processes, matching processes, everything under every ProcessRoot, their
 * descendants, and every process the agent saw of the resource (lifecycle.ts).
 */
import {
  checkPidFile, containsPath, cwdOf, findProcesses, isInstanceRoot, isUnder, listInstanceProcesses, removeStalePidFiles, snapshot,
  withDescendants, type ProcessInfo,
} from '../proc/processes';
import { attrList, attrPortMap, attrString } from './attr-access';
import { toArgv } from '../core/argv';
import { cleanFlow, monitorRemembering, offlineFlow, onlineFlow, type LifecycleSpec, type ProgramSpec } from './lifecycle';
import { budgetClock, readSecret, runProbePlan, type PlannedProbe } from './deep-probes';
import { runMonitor, type LevelResult } from './monitor-levels';
import type { ProcessMatcher } from '../core/results';
import type { AgentContext, ResourceType } from './contract';

/** ProcessRoot: one directory or a list of them. */
function roots(ctx: AgentContext): string[] {
  return attrList(ctx, 'ProcessRoot');
}

/**
 * Is the process a pid file names this instance's? Undefined when nothing says how to tell
 * (neither MonitorProcesses nor a usable ProcessRoot): then only the generic checks apply.
 */
function belongs(ctx: AgentContext): ((p: ProcessInfo) => boolean) | undefined {
  const patterns = attrList(ctx, 'MonitorProcesses');
  const dirs = roots(ctx).filter(isInstanceRoot);
  if (patterns.length === 0 && dirs.length === 0) return undefined;
  return (p) => {
    if (patterns.some((s) => p.cmdline.includes(s)) || dirs.some((r) => containsPath(p.cmdline, r))) return true;
    const cwd = dirs.length > 0 ? cwdOf(p.pid) : undefined;
    return !!cwd && dirs.some((r) => isUnder(cwd, r));
  };
}

function program(value: unknown, stdinSecret?: string): ProgramSpec | undefined {
  const argv = toArgv(value);
  return argv ? { argv, stdinSecret } : undefined;
}

async function first(ctx: AgentContext): Promise<LevelResult> {
  const pidFiles = attrList(ctx, 'PidFiles');
  const patterns = attrList(ctx, 'MonitorProcesses');
  const dirs = roots(ctx);
  const test = belongs(ctx);
  const missing: string[] = [];
  const pids: number[] = [];
  for (const f of pidFiles) {
    const v = await checkPidFile(f, test);
    if (v.ok) pids.push(v.pid!);
    else missing.push(`pid file ${f} ${v.why ?? 'names no process of this instance'}`);
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
    if (dirs.length === 0) return { state: 'UNKNOWN', recovery: 'configuration', reason: 'none of PidFiles, MonitorProcesses or ProcessRoot is set: nothing to monitor' };
    const list = (await snapshot()).filter((p) => dirs.some((r) => containsPath(p.cmdline, r)));
    if (list.length === 0) missing.push(`no process with ${dirs.join(' or ')} in its command line`);
    else pids.push(...list.map((p) => p.pid));
  }
  const unique = [...new Set(pids)];
  if (missing.length > 0) return { state: 'OFFLINE', recovery: 'restartable', pids: unique, reason: missing.join('; ') };
  return { state: 'ONLINE', pids: unique, reason: `running: pids ${unique.join(',')}` };
}

async function leftovers(ctx: AgentContext): Promise<number[]> {
  const pids = new Set<number>();
  const test = belongs(ctx);
  for (const f of attrList(ctx, 'PidFiles')) {
    const v = await checkPidFile(f, test);
    if (v.ok) pids.add(v.pid!);
  }
  const patterns = attrList(ctx, 'MonitorProcesses');
  if (patterns.length > 0) {
    const found = await findProcesses(patterns.map((name) => ({ name, match: 'substring' as const })), { fresh: true });
    for (const list of found.values()) for (const p of list) pids.add(p);
  }
  const dirs = roots(ctx);
  if (dirs.length > 0) for (const p of await listInstanceProcesses(dirs)) pids.add(p);
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
    removeStalePidFiles: () => removeStale(ctx),
  };
}

async function removeStale(ctx: AgentContext): Promise<string[]> {
  const test = belongs(ctx);
  const verdicts = await Promise.all(attrList(ctx, 'PidFiles').map((f) => checkPidFile(f, test)));
  return removeStalePidFiles(verdicts, () => test);
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
  monitor: (ctx, options) => monitorRemembering(ctx, () => runMonitor(ctx, options, { first: () => first(ctx), second: (b, s) => deep(ctx, b, s) })),
};
