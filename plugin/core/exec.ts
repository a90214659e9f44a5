/**
 * Runs one external program for an agent: argv array (never a shell), under a deadline, as the
 * resource's `User`, with the environment of its `EnvFile` on top of a minimal clean one, inside
 * its `ContainerName` network namespace, with an optional secret on stdin.
 *
 * Guarantees: the child gets its own process group, and on timeout or abort the whole group is
 * SIGKILLed; the agent's own environment (PM2 internals) never reaches the child; a stdin
 * secret is never on the command line, in the environment or in a log line; captured output is
 * bounded (the tail is kept); the promise always resolves (spawn failures are values).
 * Not guaranteed: daemons the program forks into another process group or session survive a
 * timeout kill (kill.ts deals with leftovers of an instance).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsc, promises as fs } from 'node:fs';
import type { Logger } from './log';

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
  /** Set when the program could not be started: ENOENT, EACCES, EPERM, ENOTDIR, EUSER, EENVFILE. */
  spawnError?: { code: string; message: string };
}

export interface UserIds { uid: number; gid: number; home: string }

/** Looks a user up in /etc/passwd (names or numeric uids). */
export async function lookupUser(user: string, passwdFile = '/etc/passwd'): Promise<UserIds | undefined> {
  const text = await fs.readFile(passwdFile, 'utf8');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7) continue;
    if (f[0] === user || f[2] === user) return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' };
  }
  return undefined;
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

/** Runs argv[0] with argv[1..]; always resolves. */
export async function execProgram(argv: string[], opts: ExecOptions): Promise<ExecResult> {
  const start = Date.now();
  const program = argv[0];
  if (!program) return failed('ENOENT', 'no program given', start);
  if (program.startsWith('/')) {
    try {
      await fs.access(program, fsc.X_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'ENOENT';
      return failed(code, `${program}: ${code === 'EACCES' ? 'permission denied (not executable)' : code === 'ENOENT' ? 'no such file' : code}`, start);
    }
  }
  const env: Record<string, string> = { PATH: DEFAULT_PATH, LANG: process.env.LANG ?? 'C.UTF-8', HOME: process.env.HOME ?? '/' };
  let ids: UserIds | undefined;
  if (opts.user) {
    ids = await lookupUser(opts.user).catch(() => undefined);
    if (!ids) return failed('EUSER', `user '${opts.user}' not found in /etc/passwd`, start);
    env.HOME = ids.home;
    env.USER = env.LOGNAME = opts.user;
  }
  if (opts.envFile) {
    try {
      Object.assign(env, parseEnvFile(await fs.readFile(opts.envFile, 'utf8')));
    } catch (err) {
      return failed('EENVFILE', `EnvFile ${opts.envFile}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`, start);
    }
  }
  if (opts.env) Object.assign(env, opts.env);
  const full = opts.containerName ? [await ipCommand(), 'netns', 'exec', opts.containerName, ...argv] : argv;
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
