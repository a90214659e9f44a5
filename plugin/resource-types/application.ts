/**
 * Application: any daemon given by its programs (e.g. OpenLDAP slapd, Dovecot, Postfix).
 * online runs StartProgram (StartInputSecret on stdin); offline runs StopProgram, or SIGTERMs
 * the daemon's processes when there is none; clean runs CleanProgram (else StopProgram) and
 * kills what is left. First level: every PidFiles entry names a live process OF THIS INSTANCE
 * and every MonitorProcesses string is in the command line of a live process of the instance
 * (with neither, any such process with a ProcessRoot path in its command line). A process is
 * this instance's when it runs as one of its owners (DaemonUser or root, else User, else root:
 * process-owner.ts), is none of the processes proc/identity.ts refuses (pid 1, an ancestor, …)
 * and, for a pid file: its command line contains a MonitorProcesses string or a ProcessRoot
 * path, or its working directory is under a ProcessRoot; with neither attribute set, it runs
 * StartProgram's program (and its script, for an interpreter). A pid file or a lookalike
 * process naming anything else is ignored and named in the reason; such a pid file is removed
 * before a start. Deep: ProbeServices on ProbeHost, in parallel, logging in as ProbeUser.
 * Leftovers: pid-file processes, matching processes, everything under every ProcessRoot (all of
 * them verified as above), their descendants, and every process the agent saw of the resource
 * (lifecycle.ts).
 */
import * as path from 'node:path';
import { realpathSync } from 'node:fs';
import { cwdOf, exeOf } from '../proc/table';
import { containsPath, isUnder } from '../proc/paths';
import type { Owners } from '../proc/identity';
import { checkPidFile, pidFileSentence, removeStalePidFiles, type InstanceTest } from '../proc/pid-files';
import { findByRoots, findProcesses, isInstanceRoot, listInstanceProcesses, nameMatches } from '../proc/matching';
import { withDescendants } from '../proc/tree';
import type { AttrDecl } from '../model/attributes';
import { portMap } from '../model/check-context';
import { attrReader } from './attr-access';
import type { LifecycleSpec, ProgramSpec } from './lifecycle';
import { budgetClock, clientProbesOf, planWithTestAccount, runPlanRead, type PlanRead, type PlannedProbe } from './deep-probes';
import type { LevelResult } from './monitor-levels';
import { commandDriven } from './command-driven-type';
import { checkServiceNames, checkTestAccount } from './rule-helpers';
import { ignoredNote } from './first-level';
import { DAEMON_USER_ATTRIBUTE, processOwners } from './process-owner';
import type { ProcessMatcher } from '../core/results';
import { defineType, rule, type AgentContext } from './contract';

/** Services the Application type can probe (probes/ registry names). */
export const APPLICATION_PROBE_SERVICES = ['imap', 'imaps', 'pop', 'pops', 'smtp', 'lmtp', 'http', 'https', 'ldap', 'ldaps', 'tcp'] as const;

const ATTRIBUTES = [
  { name: 'StartProgram', kind: 'command', required: true, example: '/usr/sbin/dovecot -c /srv/mail/dovecot.conf',
    doc: 'Program (absolute path) and arguments that start the daemon; it may fork into the background.' },
  { name: 'StopProgram', kind: 'command', example: '/usr/sbin/dovecot -c /srv/mail/dovecot.conf stop',
    doc: 'Program and arguments that stop the daemon gracefully (default: SIGTERM to the daemon\'s processes).' },
  { name: 'CleanProgram', kind: 'command', doc: 'Program run by clean before leftovers are killed (optional).' },
  { name: 'PidFiles', kind: 'stringList', example: ['/srv/mail/run/master.pid'],
    doc: 'Absolute pid files of the daemon; checked first by the monitor.' },
  { name: 'MonitorProcesses', kind: 'stringList', example: ['/usr/sbin/dovecot -c /srv/mail/dovecot.conf'],
    doc: 'Strings a process command line must contain to count as the daemon; every one must be present.' },
  { name: 'ProcessRoot', kind: 'paths', example: ['/srv/mail/dovecot', '/srv/mail/dovecot-run'],
    doc: 'Instance directory, or a list of them: a process whose command line names one or whose working directory is under one belongs to the daemon (a pid file naming anything else is ignored); its leftovers are killed by offline and clean.' },
  { name: 'ProbeHost', kind: 'host', default: '127.0.0.1', doc: 'Host probed by second-level monitoring.' },
  { name: 'ProbeServices', kind: 'portMap', example: { imap: 143, smtp: 25 },
    doc: 'Services probed by second-level monitoring and their ports (imap imaps pop pops smtp lmtp http https ldap ldaps tcp).' },
  { name: 'ProbeUser', kind: 'string', doc: 'Test account for synthetic logins (optional).' },
  { name: 'ProbePasswd', kind: 'secret', doc: 'Password of ProbeUser, encrypted with `msgha encrypt`.' },
  { name: 'StartInputSecret', kind: 'secret',
    doc: 'A secret given to StartProgram on its standard input (e.g. a key passphrase).' },
  DAEMON_USER_ATTRIBUTE,
] as const satisfies readonly AttrDecl[];

const attr = attrReader(ATTRIBUTES);

/** ProcessRoot: one directory or a list of them. */
function roots(ctx: AgentContext): string[] {
  return attr.list(ctx, 'ProcessRoot');
}

/**
 * What makes the process a pid file names this instance's: running as `owners`, and its command
 * line (or working directory) as MonitorProcesses and ProcessRoot say; with neither set, running
 * StartProgram's program — by executable or by name, and its script when StartProgram gives an
 * interpreter one (`node /srv/svc.js start`).
 */
function instanceTest(ctx: AgentContext, owners: Owners): InstanceTest {
  const patterns = attr.list(ctx, 'MonitorProcesses');
  const dirs = roots(ctx).filter(isInstanceRoot);
  if (patterns.length > 0 || dirs.length > 0) {
    const said = [
      ...(patterns.length > 0 ? [`no MonitorProcesses string (${patterns.map((x) => `"${x}"`).join(', ')})`] : []),
      ...(dirs.length > 0 ? [`no ProcessRoot path (${dirs.join(', ')}) and its working directory is not under one`] : []),
    ];
    return {
      owners,
      rule: `its command line contains ${said.join(', and ')}`,
      belongs: (p) => {
        if (patterns.some((x) => p.cmdline.includes(x)) || dirs.some((r) => containsPath(p.cmdline, r))) return true;
        const cwd = dirs.length > 0 ? cwdOf(p.pid) : undefined;
        return !!cwd && dirs.some((r) => isUnder(cwd, r));
      },
    };
  }
  const start = attr.command(ctx, 'StartProgram') ?? [];
  const prog = start[0];
  if (!prog) return { owners };
  const script = start[1] !== undefined && path.isAbsolute(start[1]) ? start[1] : undefined;
  let progPath: string | undefined;
  return {
    owners,
    rule: `it does not run StartProgram's program ${prog}${script ? ` with ${script}` : ''} (MonitorProcesses or ProcessRoot would say what else the daemon's command line is)`,
    belongs: (p) => {
      if (script && !containsPath(p.cmdline, script)) return false;
      if (nameMatches(p.argv, path.basename(prog))) return true;
      if (progPath === undefined) { try { progPath = realpathSync(prog); } catch { progPath = prog; } }
      return exeOf(p.pid) === progPath;
    },
  };
}

function program(argv: string[] | undefined, stdinSecret?: string): ProgramSpec | undefined {
  return argv ? { argv, stdinSecret } : undefined;
}

async function first(ctx: AgentContext): Promise<LevelResult> {
  const pidFiles = attr.list(ctx, 'PidFiles');
  const patterns = attr.list(ctx, 'MonitorProcesses');
  const dirs = roots(ctx);
  const owners = await processOwners(ctx);
  const test = instanceTest(ctx, owners);
  const missing: string[] = [];
  const rejected: string[] = [];
  const pids: number[] = [];
  for (const f of pidFiles) {
    const v = await checkPidFile(f, test);
    if (v.ok) pids.push(v.pid!);
    else missing.push(pidFileSentence(v));
  }
  if (patterns.length > 0) {
    const matchers: ProcessMatcher[] = patterns.map((name) => ({ name, match: 'substring' }));
    const found = await findProcesses(matchers, { owners, rejected });
    for (const [name, list] of found) {
      if (list.length === 0) missing.push(`no process of this instance whose command line contains "${name}"`);
      else pids.push(...list);
    }
  }
  if (pidFiles.length === 0 && patterns.length === 0) {
    if (dirs.length === 0) return { state: 'UNKNOWN', recovery: 'configuration', reason: 'none of PidFiles, MonitorProcesses or ProcessRoot is set: nothing to monitor' };
    const list = await findByRoots(dirs, { owners, rejected });
    if (list.length === 0) missing.push(`no process of this instance with ${dirs.join(' or ')} in its command line`);
    else pids.push(...list);
  }
  const unique = [...new Set(pids)];
  const note = ignoredNote(rejected);
  if (missing.length > 0) return { state: 'OFFLINE', recovery: 'restartable', pids: unique, reason: `${missing.join('; ')}${note}` };
  return { state: 'ONLINE', pids: unique, reason: `running: pids ${unique.join(',')}${note}` };
}

/** Every verified process of the instance, and the descendants of those only. */
async function leftovers(ctx: AgentContext): Promise<number[]> {
  const pids = new Set<number>();
  const owners = await processOwners(ctx);
  const test = instanceTest(ctx, owners);
  for (const f of attr.list(ctx, 'PidFiles')) {
    const v = await checkPidFile(f, test);
    if (v.ok) pids.add(v.pid!);
  }
  const patterns = attr.list(ctx, 'MonitorProcesses');
  if (patterns.length > 0) {
    const found = await findProcesses(patterns.map((name) => ({ name, match: 'substring' as const })), { fresh: true, owners });
    for (const list of found.values()) for (const p of list) pids.add(p);
  }
  const dirs = roots(ctx);
  if (dirs.length > 0) for (const p of await listInstanceProcesses(dirs, { owners })) pids.add(p);
  if (pids.size === 0) return [];
  return [...(await withDescendants(pids))].sort((a, b) => a - b);
}

function spec(ctx: AgentContext): LifecycleSpec {
  return {
    first: () => first(ctx),
    leftovers: () => leftovers(ctx),
    start: program(attr.command(ctx, 'StartProgram'), 'StartInputSecret'),
    stop: program(attr.command(ctx, 'StopProgram')),
    clean: program(attr.command(ctx, 'CleanProgram') ?? attr.command(ctx, 'StopProgram')),
    deep: (budget, signal) => deep(ctx, budget, signal),
    removeStalePidFiles: () => removeStale(ctx),
  };
}

async function removeStale(ctx: AgentContext): Promise<string[]> {
  const test = instanceTest(ctx, await processOwners(ctx));
  const verdicts = await Promise.all(attr.list(ctx, 'PidFiles').map((f) => checkPidFile(f, test)));
  return removeStalePidFiles(verdicts, () => test);
}

/** Services whose probe logs in as ProbeUser (ldap binds only when ProbeUser is a DN). */
const LOGIN_PROBES = new Set(['imap', 'imaps', 'pop', 'pops', 'http', 'https']);

/** ProbeServices on ProbeHost, logging in as ProbeUser: the deep check's plan and the remote probes'. */
function probePlan(ctx: AgentContext): Promise<PlanRead> {
  const host = attr.text(ctx, 'ProbeHost');
  const services = attr.portMap(ctx, 'ProbeServices');
  return planWithTestAccount(ctx, attr.text(ctx, 'ProbeUser'), 'ProbePasswd', (account) => {
    const login = account?.password !== undefined ? { user: account.user, password: account.password } : undefined;
    return Object.entries(services).map(([service, port]) => {
      const options: PlannedProbe['options'] = {};
      if (login && (LOGIN_PROBES.has(service) || ((service === 'ldap' || service === 'ldaps') && login.user.includes('=')))) {
        Object.assign(options, login);
      }
      // smtp/lmtp: RCPT TO the test address when ProbeUser is one (no domain to derive it from).
      if (login && (service === 'smtp' || service === 'lmtp') && login.user.includes('@')) options.recipient = login.user;
      return { check: `${service}:${port}`, probe: service, host, port, options };
    });
  });
}

async function deep(ctx: AgentContext, budgetMs: number, signal: AbortSignal): Promise<LevelResult> {
  const remaining = budgetClock(budgetMs);
  return runPlanRead(await probePlan(ctx), { budgetMs: remaining(), signal, attrs: ctx.attrs });
}

export const Application = defineType({
  name: 'Application',
  summary: 'Any daemon given by start/stop programs, pid files and process patterns (e.g. slapd, Dovecot, Postfix).',
  attributes: ATTRIBUTES,
  rules: [
    rule(['ProbeServices'], (r) => checkServiceNames(r, 'ProbeServices', Object.keys(portMap(r.attrs.ProbeServices)), APPLICATION_PROBE_SERVICES, '')),
    rule(['PidFiles', 'MonitorProcesses'], (r) => {
      const pidFiles = Array.isArray(r.attrs.PidFiles) ? (r.attrs.PidFiles as string[]) : [];
      for (const f of pidFiles) {
        if (!path.isAbsolute(f)) r.error('PidFiles', `"${f}" must be an absolute path`);
      }
      if (!r.given.has('PidFiles') && !r.given.has('MonitorProcesses')) {
        r.warn('MonitorProcesses', 'neither PidFiles nor MonitorProcesses is set: the monitor cannot recognise a daemon that forks into the background',
          'list the daemon\'s pid file or a string of its command line');
      }
    }),
    rule(['PidFiles', 'MonitorProcesses', 'ProcessRoot', 'StartProgram'], (r) => {
      // Without them, a pid is checked only against StartProgram: a wrapper script's daemon never passes.
      if (r.given.has('PidFiles') && !r.given.has('MonitorProcesses') && !r.given.has('ProcessRoot')) {
        r.warn('PidFiles', 'is set without MonitorProcesses or ProcessRoot: a pid file counts only when it names a process running StartProgram\'s program',
          'when StartProgram is a wrapper that starts another program, add a string of the daemon\'s command line to MonitorProcesses');
      }
    }),
    rule(['ProbeUser', 'ProbePasswd'], (r) => checkTestAccount(r, 'ProbeUser', 'ProbePasswd')),
  ],
  ...commandDriven(attr, spec),
  // Only services probed on the VIP itself are the clients' (ProbeHost 127.0.0.1, the default,
  // may be a daemon that listens on loopback only): anything else is not probed remotely.
  clientProbes: async (ctx, host) => {
    const missing = attr.missing(ctx);
    if (missing) return { problem: missing };
    return attr.text(ctx, 'ProbeHost') === host ? clientProbesOf(await probePlan(ctx), host) : { plan: [] };
  },
});
