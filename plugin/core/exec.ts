/**
 * Runs one external program for an agent: argv array (never a shell), under a deadline, as the
 * resource's `User`, with the environment of its `EnvFile` on top of a minimal clean one, inside
 * its `ContainerName` network namespace, with an optional secret on stdin.
 *
 * Guarantees: the child gets its own process group, and on timeout or abort the whole group is
 * SIGKILLed; the agent's own environment (PM2 internals) never reaches the child; a stdin
 * secret is never on the command line, in the environment or in a log line; captured output is
 * bounded (the tail is kept); the promise always resolves (spawn failures are values).
 * Right before each run the trusted-path rule (trusted-path.ts) is checked again on the program
 * (argv[0] resolved, through PATH for a bare name), on `ip` for a ContainerName and on the
 * EnvFile; an EnvFile may not set a variable of FORBIDDEN_ENV. A breach is refused as a
 * configuration fault (`configurationFault`), naming the file, the rule and the fix.
 * Not guaranteed: daemons the program forks into another process group or session survive a
 * timeout kill (kill.ts deals with leftovers of an instance).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsc, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Logger } from './log';
import { checkTrustedPathAsync, describeBreach } from './trusted-path';

export const DEFAULT_MAX_OUTPUT = 64 * 1024;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** After the child exits, how long we still wait for its pipes to drain; daemons it forked may hold them open forever. */
const DRAIN_MS = 150;

export interface ExecOptions {
  /** Deadline in milliseconds for the whole run. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** UNIX user to run as (looked up in /etc/passwd). */
  user?: string;
  /** File of KEY=VALUE lines added to the environment. */
  envFile?: string;
  /** Extra variables (after EnvFile). */
  env?: Record<string, string>;
  /** Written to stdin, then stdin is closed. For secrets. */
  stdin?: string;
  /** Run through `ip netns exec <name>`. */
  containerName?: string;
  cwd?: string;
  /** Bytes kept per stream (the tail). */
  maxOutput?: number;
  log?: Logger;
}

export interface ExecResult {
  /** Exit code, or null when killed by a signal or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The deadline passed (or the caller aborted) and the group was killed. */
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
  /**
   * Set when the program was not started: ENOENT, EACCES, EPERM, ENOTDIR (the program), EUSER
   * (User), EENVFILE (EnvFile missing, untrusted or setting a forbidden variable), ECONTAINER
   * (ContainerName not a plain name), EUNTRUSTED (the program breaks the trusted-path rule),
   * ESECRET (its stdin secret could not be decrypted here: set by the caller, see notStarted).
   */
  spawnError?: { code: string; message: string };
}

/** Spawn errors that a fix of the cluster file or of a file's owner or mode must cure: no restart helps. */
const CONFIGURATION_CODES: ReadonlySet<string> = new Set(['EUSER', 'EENVFILE', 'ECONTAINER', 'EUNTRUSTED', 'ESECRET']);

/** True when the run was refused for its configuration (recovery class 'configuration'). */
export function configurationFault(r: ExecResult): boolean {
  return r.spawnError !== undefined && CONFIGURATION_CODES.has(r.spawnError.code);
}

/**
 * Variables an EnvFile may never set: each makes a program load code, or take options, from
 * somewhere else when it starts (the dynamic loader, shells, interpreters). Every program a
 * resource runs gets the EnvFile, root's tools included; a daemon that needs one sets it in its
 * own start script.
 */
export const FORBIDDEN_ENV: readonly string[] = [
  'BASH_ENV', 'ENV', 'SHELLOPTS', 'BASHOPTS', 'PS4', 'PROMPT_COMMAND', 'IFS',
  'GCONV_PATH', 'GETCONF_DIR', 'LOCPATH', 'NLSPATH', 'MALLOC_TRACE', 'HOSTALIASES', 'RESOLV_HOST_CONF',
  'NODE_OPTIONS', 'NODE_PATH', 'PERL5OPT', 'PERL5LIB', 'PERLLIB', 'PERL5DB', 'PYTHONSTARTUP', 'PYTHONPATH',
  'PYTHONHOME', 'PYTHONINSPECT', 'RUBYOPT', 'RUBYLIB', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'CLASSPATH',
];
/** Every variable starting so is the dynamic loader's (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, …). */
export const FORBIDDEN_ENV_PREFIXES: readonly string[] = ['LD_'];

/** The keys of `env` an EnvFile may not set, in file order. */
export function forbiddenEnvKeys(env: Readonly<Record<string, string>>): string[] {
  return Object.keys(env).filter((k) => FORBIDDEN_ENV.includes(k) || FORBIDDEN_ENV_PREFIXES.some((p) => k.startsWith(p)));
}

/** A plain `ip netns` name (a file name in /run/netns): never a path, never "." or "..". */
export const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** A POSIX user name (portable characters, not starting with "-", at most 32), or a numeric uid. */
export const USER_NAME = /^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|\d{1,10})$/;

export interface UserIds { uid: number; gid: number; home: string }

/** A user's entry in the text of /etc/passwd (by name or numeric uid). */
export function findUser(passwd: string, user: string): UserIds | undefined {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 7) continue;
    if (f[0] === user || f[2] === user) return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' };
  }
  return undefined;
}

/** Looks a user up in /etc/passwd (names or numeric uids). */
export async function lookupUser(user: string, passwdFile = '/etc/passwd'): Promise<UserIds | undefined> {
  return findUser(await fs.readFile(passwdFile, 'utf8'), user);
}

/**
 * Parses an EnvFile: KEY=VALUE lines, `#` comments and blank lines ignored, an optional
 * `export ` prefix, values optionally in matching single or double quotes (taken literally —
 * no expansion of $VARS or backslashes, because this is not a shell script).
 */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const body = line.startsWith('export ') ? line.slice(7).trimStart() : line;
    const eq = body.indexOf('=');
    if (eq <= 0) continue;
    const key = body.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    let value = body.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value[value.length - 1] === value[0]) {
      value = value.slice(1, -1);
    }
    env[key] = value;
  }
  return env;
}

/** A bounded tail buffer: keeps the last `max` bytes. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size > this.max && this.chunks.length > 0) {
      const over = this.size - this.max;
      const head = this.chunks[0]!;
      this.truncated = true;
      if (head.length <= over) { this.chunks.shift(); this.size -= head.length; }
      else { this.chunks[0] = head.subarray(over); this.size -= over; }
    }
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** A run refused before the program started (`code` one of spawnError's codes). */
export function notStarted(code: string, message: string): ExecResult { return failed(code, message, Date.now()); }

function failed(code: string, message: string, start: number): ExecResult {
  return { code: null, signal: null, timedOut: false, stdout: '', stderr: '', durationMs: Date.now() - start, spawnError: { code, message } };
}

let ipPath: string | undefined;
/** Absolute path of iproute2's `ip` (an EnvFile may set a PATH without it). */
async function ipCommand(): Promise<string> {
  if (ipPath) return ipPath;
  for (const candidate of ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip']) {
    try {
      await fs.access(candidate, fsc.X_OK);
      return (ipPath = candidate);
    } catch { /* next */ }
  }
  return 'ip';
}

type Refusal = NonNullable<ExecResult['spawnError']>;

/** The file `program` names: a path (relative to `cwd`) as is, a bare name looked up in `pathVar`'s absolute entries. */
async function resolveProgram(program: string, pathVar: string, cwd: string): Promise<{ file: string } | { refused: Refusal }> {
  if (program.includes('/')) {
    const file = path.resolve(cwd, program);
    try {
      await fs.access(file, fsc.X_OK);
      return { file };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'ENOENT';
      return { refused: { code, message: `${program}: ${code === 'EACCES' ? 'permission denied (not executable)' : code === 'ENOENT' ? 'no such file' : code}` } };
    }
  }
  // Relative PATH entries are skipped: they would depend on the working directory.
  for (const dir of pathVar.split(':').filter((d) => path.isAbsolute(d))) {
    const file = path.join(dir, program);
    const st = await fs.stat(file).catch(() => undefined);
    if (st?.isFile() && (st.mode & 0o111) !== 0) return { file };
  }
  return { refused: { code: 'ENOENT', message: `${program}: not found in PATH` } };
}

/** The trusted-path rule on a file about to run (or be read) for a program. */
async function trusted(what: string, file: string, owners: number[], code: string): Promise<Refusal | undefined> {
  const t = await checkTrustedPathAsync(file, { owners });
  if (t.ok) return undefined;
  if (t.breach.code === 'ENOENT' && t.breach.path === file) return { code: code === 'EUNTRUSTED' ? 'ENOENT' : code, message: `${what} ${file}: no such file` };
  return { code, message: `${describeBreach(what, file, t.breach)} (fix: ${t.breach.fix})` };
}

interface Prepared { argv: string[]; argv0: string; env: Record<string, string>; ids?: UserIds }

/** Everything decided before the spawn: user, environment, the program's file, the trust checks. */
async function prepare(argv: string[], opts: ExecOptions): Promise<Prepared | Refusal> {
  const program = argv[0]!;
  if (opts.containerName !== undefined && !NETNS_NAME.test(opts.containerName)) {
    return { code: 'ECONTAINER', message: `ContainerName ${JSON.stringify(opts.containerName)} is not a plain network namespace name (letters, digits, ., - and _; no /)` };
  }
  const env: Record<string, string> = { PATH: DEFAULT_PATH, LANG: process.env.LANG ?? 'C.UTF-8', HOME: process.env.HOME ?? '/' };
  let ids: UserIds | undefined;
  if (opts.user) {
    ids = await lookupUser(opts.user).catch(() => undefined);
    if (!ids) return { code: 'EUSER', message: `user '${opts.user}' not found in /etc/passwd` };
    env.HOME = ids.home;
    env.USER = env.LOGNAME = opts.user;
  }
  // Root, and the user the program runs as: a file that user can change gives them nothing new.
  const runAs = ids?.uid ?? process.geteuid?.() ?? 0;
  const owners = runAs === 0 ? [] : [runAs];
  if (opts.envFile) {
    const refused = await trusted('EnvFile', opts.envFile, owners, 'EENVFILE');
    if (refused) return refused;
    let vars: Record<string, string>;
    try {
      vars = parseEnvFile(await fs.readFile(opts.envFile, 'utf8'));
    } catch (err) {
      return { code: 'EENVFILE', message: `EnvFile ${opts.envFile}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}` };
    }
    const forbidden = forbiddenEnvKeys(vars);
    if (forbidden.length > 0) {
      return { code: 'EENVFILE', message: `EnvFile ${opts.envFile} sets ${forbidden.join(', ')}, which change${forbidden.length === 1 ? 's' : ''} how programs start: refused (remove ${forbidden.length === 1 ? 'that line' : 'those lines'}; a daemon that needs one sets it in its start script)` };
    }
    Object.assign(env, vars);
  }
  if (opts.env) Object.assign(env, opts.env);
  const found = await resolveProgram(program, env.PATH ?? DEFAULT_PATH, opts.cwd ?? '/');
  if ('refused' in found) return found.refused;
  const refused = await trusted('program', found.file, owners, 'EUNTRUSTED');
  if (refused) return refused;
  if (!opts.containerName) return { argv: [found.file, ...argv.slice(1)], argv0: program, env, ids };
  const ip = await ipCommand();
  const ipRefused = path.isAbsolute(ip) ? await trusted('program', ip, owners, 'EUNTRUSTED') : undefined;
  if (ipRefused) return ipRefused;
  return { argv: [ip, 'netns', 'exec', opts.containerName, found.file, ...argv.slice(1)], argv0: ip, env, ids };
}

/** `work`, unless the deadline passes or the caller aborts first (a hung file system must not hold a run). */
async function beforeDeadline<T>(work: Promise<T>, ms: number, signal?: AbortSignal): Promise<T | 'deadline'> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), Math.max(1, ms));
    onAbort = (): void => resolve('deadline');
    if (signal?.aborted) resolve('deadline');
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

/** Runs argv[0] with argv[1..]; always resolves. */
export async function execProgram(argv: string[], opts: ExecOptions): Promise<ExecResult> {
  const start = Date.now();
  const program = argv[0];
  if (!program) return failed('ENOENT', 'no program given', start);
  const ready = await beforeDeadline(prepare(argv, opts), opts.timeoutMs, opts.signal);
  if (ready === 'deadline') {
    return { code: null, signal: null, timedOut: true, stdout: '', stderr: '', durationMs: Date.now() - start };
  }
  if ('code' in ready) {
    opts.log?.trace(`exec ${program}: refused: ${ready.message}`);
    return failed(ready.code, ready.message, start);
  }
  const { env, ids } = ready;
  const full = ready.argv;
  opts.log?.trace(`exec ${full.map((a) => JSON.stringify(a)).join(' ')}${opts.stdin !== undefined ? ' (with stdin)' : ''}${opts.user ? ` as ${opts.user}` : ''}`);

  return new Promise<ExecResult>((resolve) => {
    const max = opts.maxOutput ?? DEFAULT_MAX_OUTPUT;
    const out = new Tail(max);
    const err = new Tail(max);
    let timedOut = false;
    let settled = false;
    let child: ChildProcess;
    try {
      child = spawn(full[0]!, full.slice(1), {
        argv0: ready.argv0,
        cwd: opts.cwd ?? '/',
        env,
        detached: true, // own process group, so a timeout can kill everything it started
        stdio: ['pipe', 'pipe', 'pipe'],
        uid: ids?.uid,
        gid: ids?.gid,
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'ESPAWN';
      resolve(failed(code, `${program}: ${code}`, start));
      return;
    }
    const pid = child.pid;
    const killGroup = (): void => {
      if (!pid) return;
      try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    };
    const onDeadline = (): void => {
      if (settled) return;
      timedOut = true;
      opts.log?.trace(`exec ${program}: deadline passed, killing process group ${pid}`);
      killGroup();
      // A process stuck in uninterruptible sleep may never report its exit: give up waiting.
      setTimeout(() => finish(null, 'SIGKILL'), 2000).unref();
    };
    const timer = setTimeout(onDeadline, Math.max(1, opts.timeoutMs));
    timer.unref();
    const onAbort = (): void => onDeadline();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onDeadline();

    const finish = (code: number | null, sig: NodeJS.Signals | null, spawnError?: ExecResult['spawnError']): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.stdin?.destroy();
      resolve({ code, signal: sig, timedOut, stdout: out.text(), stderr: err.text(), durationMs: Date.now() - start, spawnError });
    };

    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.stdin?.on('error', () => { /* the child did not read its stdin: not our failure */ });
    child.on('error', (e: NodeJS.ErrnoException) => finish(null, null, { code: e.code ?? 'ESPAWN', message: `${program}: ${e.code ?? e.message}` }));
    child.on('exit', (code, sig) => {
      let ended = 0;
      const done = (): void => { if (++ended === 2) finish(code, sig); };
      child.stdout?.once('end', done);
      child.stderr?.once('end', done);
      if (child.stdout?.readableEnded) done();
      if (child.stderr?.readableEnded) done();
      setTimeout(() => finish(code, sig), DRAIN_MS).unref();
    });
    if (opts.stdin !== undefined) child.stdin?.end(opts.stdin);
    else child.stdin?.end();
  });
}

/** The last `lines` non-empty lines of stderr (else stdout), on one line, for a reason sentence. */
export function outputTail(r: ExecResult, lines = 3, maxChars = 300): string {
  const text = (r.stderr.trim() || r.stdout.trim());
  if (!text) return '';
  const tail = text.split(/\r?\n/).filter((l) => l.trim()).slice(-lines).join(' | ');
  return tail.length > maxChars ? '…' + tail.slice(-maxChars) : tail;
}

/** "exited with code 3", "was killed by SIGTERM", "timed out after 5.0 s", "could not start: …". */
export function describeExit(r: ExecResult): string {
  if (r.spawnError) return `could not be started (${r.spawnError.message})`;
  if (r.timedOut) return `timed out after ${(r.durationMs / 1000).toFixed(1)} s`;
  if (r.signal) return `was killed by ${r.signal}`;
  return `exited with code ${r.code}`;
}
