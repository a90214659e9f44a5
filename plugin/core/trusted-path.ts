/**
 * The one trusted-path rule. A file that root executes or reads and obeys — a program the agents
 * run, an EnvFile, the cluster file, the cluster key — is trusted only when nobody but root (or
 * the one user the file serves, see `owners`) can change what that path leads to:
 *
 *   - the file is a regular file, owned by root or an allowed owner, not writable by its group
 *     or by others;
 *   - every directory from / down to it is owned by root or an allowed owner and is not
 *     writable by its group or by others — unless it has the sticky bit (like /tmp): there only
 *     an entry's owner can rename or remove it, and every entry we pass is checked in turn;
 *   - a symbolic link on the way is followed, its owner must be allowed (it may sit in a sticky
 *     directory) and its target must pass the same rule, whole path again.
 *
 * Group-writable is refused even for group root: a POSIX ACL that grants one more user write
 * access shows as the group write bit (the ACL mask), so the bit is the only safe reading.
 * Checked with lstat, never following a link unseen. Never throws: a breach is a value naming
 * the path that breaks the rule, the rule, and the fix.
 */
import { promises as fsp, lstatSync, readlinkSync, type Stats } from 'node:fs';
import * as path from 'node:path';

export interface TrustOptions {
  /** Uids that may own the file and its directories besides root (e.g. the user a program runs as). */
  owners?: readonly number[];
}

/** Where the rule breaks: `path` is the file, directory or link at fault (maybe not the one asked about). */
export interface TrustBreach {
  path: string;
  /** What is wrong with `path`, e.g. "is writable by others (mode 0757)". */
  rule: string;
  /** Shell commands that fix it, e.g. "chown root:root /opt/x; chmod go-w /opt/x". */
  fix: string;
  /** The links followed to reach `path`, "link → target" each. */
  via: string[];
  /** Someone other than root (or an allowed owner) can change `path`: the breach is a hole, not only a mistake. */
  exposed: boolean;
  /** Set when `path` could not be examined at all (ENOENT, EACCES, …). */
  code?: string;
}

export type TrustResult = { ok: true; real: string } | { ok: false; breach: TrustBreach };

/** Why 40: the kernel's own limit on links followed in one lookup (ELOOP). */
const MAX_LINKS = 40;

type Step = { op: 'lstat'; path: string } | { op: 'readlink'; path: string };
type Answer = { stats?: Stats; target?: string; code?: string };

const mode4 = (m: number): string => (m & 0o7777).toString(8).padStart(4, '0');

function breach(p: string, rule: string, fix: string, via: string[], exposed = false, code?: string): TrustResult {
  return { ok: false, breach: { path: p, rule, fix, via: [...via], exposed, ...(code ? { code } : {}) } };
}

/** The owner and mode part of the rule for one file system object on the way. */
function ownerAndMode(p: string, st: Stats, last: boolean, owners: ReadonlySet<number>, via: string[]): TrustResult | undefined {
  const fix = `chown root:root ${p}; chmod go-w ${p}`;
  if (!owners.has(st.uid)) return breach(p, `is owned by uid ${st.uid}, not by root${owners.size > 1 ? ` or uid ${[...owners].filter((u) => u !== 0).join(', ')}` : ''}`, fix, via, true);
  if (st.isSymbolicLink()) return undefined;
  const sticky = !last && st.isDirectory() && (st.mode & 0o1000) !== 0;
  if ((st.mode & 0o002) !== 0 && !sticky) return breach(p, `is writable by others (mode ${mode4(st.mode)})`, fix, via, true);
  if ((st.mode & 0o020) !== 0 && !sticky) return breach(p, `is writable by its group, gid ${st.gid} (mode ${mode4(st.mode)})`, fix, via, true);
  return undefined;
}

/**
 * The rule as a sequence of file system questions (lstat, readlink), so that one body serves the
 * synchronous validation and the asynchronous agent.
 */
function* walk(file: string, opts: TrustOptions): Generator<Step, TrustResult, Answer> {
  if (!path.isAbsolute(file)) return breach(file, 'is not an absolute path', 'give the absolute path', []);
  const owners = new Set<number>([0, ...(opts.owners ?? [])]);
  const via: string[] = [];
  const root = yield { op: 'lstat', path: '/' };
  if (!root.stats) return breach('/', `cannot be examined (${root.code ?? 'error'})`, 'check the file system', via, false, root.code ?? 'error');
  const bad = ownerAndMode('/', root.stats, false, owners, via);
  if (bad) return bad;
  let dir = '/';
  let pending = file.split('/').filter(Boolean);
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '.') continue;
    if (name === '..') { dir = path.dirname(dir); continue; }
    const p = path.join(dir, name);
    const last = pending.length === 0;
    const a = yield { op: 'lstat', path: p };
    if (!a.stats) {
      const why = a.code === 'ENOENT' ? 'does not exist' : a.code === 'EACCES' ? 'cannot be examined (permission denied)' : `cannot be examined (${a.code ?? 'error'})`;
      return breach(p, why, a.code === 'ENOENT' ? 'create it, or correct the path' : 'check the path and its directories', via, false, a.code ?? 'error');
    }
    const wrong = ownerAndMode(p, a.stats, last, owners, via);
    if (wrong) return wrong;
    if (a.stats.isSymbolicLink()) {
      if (++links > MAX_LINKS) return breach(p, `goes through more than ${MAX_LINKS} symbolic links`, 'point it at the file itself', via);
      const t = yield { op: 'readlink', path: p };
      if (t.target === undefined) return breach(p, `is a symbolic link that cannot be read (${t.code ?? 'error'})`, 'point it at the file itself', via, false, t.code ?? 'error');
      via.push(`${p} → ${t.target}`);
      if (path.isAbsolute(t.target)) dir = '/';
      pending = [...t.target.split('/').filter(Boolean), ...pending];
      continue;
    }
    if (!last && !a.stats.isDirectory()) return breach(p, 'is not a directory', 'correct the path', via);
    if (last && !a.stats.isFile()) return breach(p, 'is not a regular file', 'point the attribute at a regular file', via);
    dir = p;
  }
  return { ok: true, real: dir };
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'error';
}

/** The rule, synchronously (validation). */
export function checkTrustedPath(file: string, opts: TrustOptions = {}): TrustResult {
  const it = walk(file, opts);
  let step = it.next({});
  while (!step.done) {
    const s = step.value;
    let answer: Answer;
    try {
      answer = s.op === 'lstat' ? { stats: lstatSync(s.path) } : { target: readlinkSync(s.path) };
    } catch (err) {
      answer = { code: errCode(err) };
    }
    step = it.next(answer);
  }
  return step.value;
}

/** The rule without blocking the event loop (the agents, right before each run). */
export async function checkTrustedPathAsync(file: string, opts: TrustOptions = {}): Promise<TrustResult> {
  const it = walk(file, opts);
  let step = it.next({});
  while (!step.done) {
    const s = step.value;
    let answer: Answer;
    try {
      answer = s.op === 'lstat' ? { stats: await fsp.lstat(s.path) } : { target: await fsp.readlink(s.path) };
    } catch (err) {
      answer = { code: errCode(err) };
    }
    step = it.next(answer);
  }
  return step.value;
}

/**
 * One sentence for a breach: "<what> <file> is not trusted: <path> <rule>[, reached through
 * <link> → <target>]" ("cannot be used" when nobody else could change it, e.g. not a regular
 * file). The fix goes in a hint (validation) or after it (agents).
 */
export function describeBreach(what: string, file: string, b: TrustBreach): string {
  const at = b.path === file ? `${b.path} ${b.rule}` : `${b.path} ${b.rule} (on the way to ${file})`;
  const via = b.via.length > 0 ? `, reached through ${b.via.join(', ')}` : '';
  const why = b.exposed ? '; whoever can change it controls what this node runs' : '';
  return `${what} ${file} ${b.exposed ? 'is not trusted' : 'cannot be used'}: ${at}${via}${why}`;
}
