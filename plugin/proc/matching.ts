/**
 * First-level process detection: which live processes are an instance's daemons (matchers:
 * pid file, daemon name, instance root, working directory), and every process of an instance
 * (for killing its leftovers).
 *
 * Guarantees: a process is attributed to an instance only when its command line contains the
 * instance root as a whole path (so `/srv/msg` never matches `/srv/msg2`) and it passes
 * identity.ts: not pid 1, a namespace's init, an ancestor, a thread, a kernel thread or one of
 * our own processes, and running as one of the instance's `Owners` (a `nobody` process whose
 * command line looks like the daemon's is not the daemon). Descendants are added only below
 * processes that passed. A process or pid file refused is reported in one sentence (`rejected`).
 * One monitor cycle reads /proc/<pid>/cmdline once per process for all its matchers (the shared
 * snapshot); the owner is read only for the processes whose command line matched.
 * Not guaranteed: pid reuse between a scan and a later kill (callers re-check the start time,
 * `sameProcess`).
 *
 * Cost (why it is built this way): on a virtual machine a read of a /proc file costs tens to
 * hundreds of microseconds, and a node runs one agent process per resource. So a monitor cycle
 * re-checks the processes it found last time (one stat and one cmdline read each) instead of
 * rescanning all of /proc, and rescans only when one of them is gone or every RESCAN_MS.
 */
import * as path from 'node:path';
import type { ProcessMatcher } from '../core/results';
import { agentOwners, describeProcess, ownerRefusal, printable, refusal, type Owners } from './identity';
import { ownProcess } from './own';
import { containsPath, isUnder } from './paths';
import { checkPidFile, pidFileSentence } from './pid-files';
import {
  SNAPSHOT_MAX_AGE_MS, cwdOf, invalidateSnapshot, protectedPids, readCmdlineSync, readStatSync, readStatusSync, snapshot, snapshotGeneration,
  type ProcessInfo,
} from './table';
import { withDescendants } from './tree';

/** How the processes of one instance are looked for. */
export interface MatchOptions {
  /** Scan /proc now rather than trust the processes found last time. */
  fresh?: boolean;
  /** The users the instance's processes run as (default: the agent's user). */
  owners?: Owners;
  /** Collects one sentence per lookalike process or foreign pid file that was refused. */
  rejected?: string[];
}

/**
 * Whether a process whose command line matched counts: undefined when it does, 'gone' when it
 * is no longer there, else the sentence saying what it is and the rule it broke. One read of
 * /proc/<pid>/status (state, tgid, uid): a process with a command line is no kernel thread.
 */
function admit(pid: number, argv: string[], owners: Owners, looksLike: string): string | 'gone' | undefined {
  const status = readStatusSync(pid);
  if (!status || status.state === 'Z' || status.state === 'X') return 'gone';
  const why = refusal(pid, undefined, status, argv) ?? ownerRefusal(status.uid, owners);
  if (!why) return undefined;
  return `pid ${pid}, ${describeProcess(pid, argv, status.uid)}, looks like ${looksLike} but is not this instance: ignored (${why})`;
}

/**
 * Does the daemon `name` appear in argv? As the basename of argv[0] (or of a word of argv[0],
 * for processes that retitle themselves, e.g. "stored -d /srv/msg"), as the basename of
 * argv[1] (interpreted daemons: `node /srv/msg/lib/stored`), or as a component of a path
 * argument. Bare words in later arguments do not count: `msstart -k sched store` is not sched.
 */
export function nameMatches(argv: string[], name: string): boolean {
  if (argv.length === 0) return false;
  const first = argv[0]!.split(/\s+/).filter(Boolean);
  for (const w of first) if (path.basename(w) === name) return true;
  if (argv.length > 1 && path.basename(argv[1]!) === name) return true;
  for (const arg of [...first, ...argv.slice(1)]) {
    if (!arg.includes('/')) continue;
    for (const part of arg.split(/[/=:,\s]+/)) if (part === name) return true;
  }
  return false;
}

function matchesWithoutCwd(p: ProcessInfo, m: ProcessMatcher): boolean {
  if (m.match === 'substring') return p.cmdline.includes(m.name) && (!m.root || containsPath(p.cmdline, m.root));
  if (!nameMatches(p.argv, m.name)) return false;
  return !m.root || containsPath(p.cmdline, m.root);
}

async function matches(p: ProcessInfo, m: ProcessMatcher): Promise<boolean> {
  if (matchesWithoutCwd(p, m)) return true;
  if (!m.cwdUnder) return false;
  const nameOk = m.match === 'substring' ? p.cmdline.includes(m.name) : nameMatches(p.argv, m.name);
  if (!nameOk) return false;
  const cwd = cwdOf(p.pid);
  return !!cwd && isUnder(cwd, m.cwdUnder);
}

/** The matcher's test for a process named by a pid file. */
export function matcherBelongs(m: ProcessMatcher): (p: ProcessInfo) => Promise<boolean> {
  return (p) => matches(p, m);
}

/** What a matcher looks for, for messages: `stored with /srv/msg` or `"/usr/sbin/dovecot -c …"`. */
export function matcherText(m: ProcessMatcher): string {
  if (m.match === 'substring') return `a command line containing "${printable(m.name)}"`;
  return `${printable(m.name)}${m.root ? ` with ${printable(m.root)}` : ''}`;
}

/** The rule a process named by a matcher's pid file must follow, for messages. */
export function matcherRule(m: ProcessMatcher): string {
  return m.match === 'substring' ? `its command line does not contain "${printable(m.name)}"` : `its command line does not name ${matcherText(m)}`;
}

async function fromPidFile(m: ProcessMatcher, owners: Owners, rejected?: string[]): Promise<number | undefined> {
  if (!m.pidFile) return undefined;
  const v = await checkPidFile(m.pidFile, { owners, belongs: matcherBelongs(m), rule: matcherRule(m) });
  // A pid file naming a process that is gone is the normal state of a stopped daemon: not worth a sentence.
  if (!v.ok && v.rule) rejected?.push(pidFileSentence(v));
  return v.ok ? v.pid : undefined;
}

/*
 * What the last scan found for each matcher. Why: most monitor cycles find exactly the
 * processes of the cycle before, and re-checking those (stat + cmdline of each) costs a few
 * reads where a scan reads every process's cmdline. A full scan still runs when any of them is
 * gone or changed, when a matcher had none, on `fresh`, after invalidateSnapshot() (starts and
 * kills), and at least every RESCAN_MS so that the pid lists stay complete. The owner is not
 * read again: a process's real uid changes only by its own setuid(), which needs privilege.
 */
const RESCAN_MS = 30_000;
/** `generation`: the snapshot generation it was learnt in; invalidateSnapshot() outdates it. */
const known = new Map<string, { at: number; generation: number; procs: Array<{ pid: number; starttime: number }> }>();

function matcherKey(m: ProcessMatcher, owners: Owners): string {
  return JSON.stringify([m.name, m.root ?? '', m.cwdUnder ?? '', m.match ?? 'name', [...owners.uids].sort((a, b) => a - b)]);
}

/**
 * The matcher's known pids when every one is still the same live, matching process; 'changed'
 * when one of them is gone or different (the caller then needs a fresh scan, not a cached one);
 * undefined when nothing usable is known.
 */
async function stillKnown(m: ProcessMatcher, owners: Owners): Promise<number[] | 'changed' | undefined> {
  const k = known.get(matcherKey(m, owners));
  if (!k || k.generation !== snapshotGeneration() || k.procs.length === 0 || performance.now() - k.at > RESCAN_MS) return undefined;
  const pids: number[] = [];
  for (const { pid, starttime } of k.procs) {
    const st = readStatSync(pid);
    if (!st || st.state === 'Z' || st.state === 'X' || st.starttime !== starttime) return 'changed';
    const argv = readCmdlineSync(pid);
    if (!argv || !(await matches({ pid, argv, cmdline: argv.join(' ') }, m))) return 'changed';
    pids.push(pid);
  }
  return pids;
}

function remember(m: ProcessMatcher, owners: Owners, pids: number[]): void {
  const procs: Array<{ pid: number; starttime: number }> = [];
  for (const pid of pids) {
    const st = readStatSync(pid);
    if (st) procs.push({ pid, starttime: st.starttime });
  }
  known.set(matcherKey(m, owners), { at: performance.now(), generation: snapshotGeneration(), procs });
}

/**
 * Finds the processes of every matcher: pid files first (a live process of the instance whose
 * command line matches), then the processes found last time if they are all still there (not
 * with `fresh`), then one shared /proc snapshot for the matchers still unsettled, keeping only
 * the processes identity.ts admits for `owners`. Returns matcher name → pids (empty array when
 * none). Matchers with the same name share a key.
 */
export async function findProcesses(matchers: ProcessMatcher[], opts: MatchOptions = {}): Promise<Map<string, number[]>> {
  const owners = opts.owners ?? agentOwners();
  const result = new Map<string, number[]>();
  const add = (name: string, pid: number): void => {
    const pids = result.get(name)!;
    if (!pids.includes(pid)) pids.push(pid);
  };
  const pending: ProcessMatcher[] = [];
  let fresh = opts.fresh === true;
  for (const m of matchers) {
    if (!result.has(m.name)) result.set(m.name, []);
    const pid = await fromPidFile(m, owners, opts.rejected);
    if (pid !== undefined) { add(m.name, pid); continue; }
    const again = fresh ? undefined : await stillKnown(m, owners);
    if (Array.isArray(again)) { for (const p of again) add(m.name, p); continue; }
    // A known process is gone: a snapshot from before its exit would not show its replacement.
    if (again === 'changed') fresh = true;
    pending.push(m);
  }
  if (pending.length > 0) {
    const list = await snapshot(fresh ? 0 : SNAPSHOT_MAX_AGE_MS);
    const found = new Map<ProcessMatcher, ProcessInfo[]>(pending.map((m) => [m, []]));
    for (const p of list) {
      for (const m of pending) {
        if (await matches(p, m)) found.get(m)!.push(p);
      }
    }
    // The snapshot may be a few hundred ms old: a matched pid must still be alive now, and be the instance's.
    for (const [m, procs] of found) {
      const live: number[] = [];
      for (const p of procs) {
        const verdict = admit(p.pid, p.argv, owners, matcherText(m));
        if (verdict === undefined) live.push(p.pid);
        else if (verdict !== 'gone') opts.rejected?.push(verdict);
      }
      remember(m, owners, live);
      for (const pid of live) add(m.name, pid);
    }
  }
  return result;
}

/**
 * The live processes of the instance whose command line names one of `roots` as a path (the
 * first level of a type that knows only its instance directories), admitted for `owners`.
 */
export async function findByRoots(roots: readonly string[], opts: MatchOptions = {}): Promise<number[]> {
  const owners = opts.owners ?? agentOwners();
  const usable = roots.filter(isInstanceRoot).map((r) => path.resolve(r));
  if (usable.length === 0) return [];
  const out: number[] = [];
  for (const p of await snapshot(opts.fresh ? 0 : SNAPSHOT_MAX_AGE_MS)) {
    if (!usable.some((r) => containsPath(p.cmdline, r))) continue;
    const verdict = admit(p.pid, p.argv, owners, `a process of ${usable.map((r) => printable(r)).join(' or ')}`);
    if (verdict === undefined) out.push(p.pid);
    else if (verdict !== 'gone') opts.rejected?.push(verdict);
  }
  return out;
}

/*
 * Roots that are never an instance's own directory: killing "every process whose command line
 * contains /usr" would take the machine down. A misconfigured ServerRoot must not do that.
 */
const SYSTEM_DIRS = new Set(['/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/media', '/mnt',
  '/opt', '/proc', '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/usr/bin', '/usr/lib', '/usr/libexec',
  '/usr/local', '/usr/local/bin', '/usr/local/sbin', '/usr/sbin', '/usr/share', '/var', '/var/lib', '/var/run', '/var/tmp']);

/** True when `root` is absolute and not a system-wide directory (safe to kill everything under it). */
export function isInstanceRoot(root: string): boolean {
  if (!path.isAbsolute(root)) return false;
  return !SYSTEM_DIRS.has(path.resolve(root));
}

/**
 * Every live process of one instance: command line containing one of `roots` as a path, or
 * working directory under one, running as one of `owners` (a process of another user there is
 * not the instance's: reported in `rejected`, never listed), plus all the descendants of those
 * (children such as Dovecot's and Postfix's lose the root in their titles, and may run as
 * another user). For killing leftovers of THIS instance only: a relative or system-wide root
 * (/, /usr, /opt, …) matches nothing; identity.ts's refusals (ancestors, our own processes, …)
 * are never listed.
 */
export async function listInstanceProcesses(roots: string | readonly string[], opts: MatchOptions = {}): Promise<number[]> {
  const owners = opts.owners ?? agentOwners();
  invalidateSnapshot();
  const skip = await protectedPids();
  const list = await snapshot(0);
  const found = new Set<number>();
  const usable = (typeof roots === 'string' ? [roots] : roots).filter(isInstanceRoot).map((r) => path.resolve(r));
  const looksLike = `a process of ${usable.map((r) => printable(r)).join(' or ')}`;
  const consider = (p: ProcessInfo): void => {
    const verdict = admit(p.pid, p.argv, owners, looksLike);
    if (verdict === undefined) found.add(p.pid);
    else if (verdict !== 'gone') opts.rejected?.push(verdict);
  };
  if (usable.length > 0) {
    for (const p of list) {
      if (usable.some((r) => containsPath(p.cmdline, r))) { consider(p); continue; }
      const cwd = cwdOf(p.pid);
      if (cwd && usable.some((r) => isUnder(cwd, r))) consider(p);
    }
  }
  const all = [...(await withDescendants(found, list))].filter((pid) => !skip.has(pid));
  return all.filter((pid) => !ownProcess(pid)).sort((a, b) => a - b);
}
