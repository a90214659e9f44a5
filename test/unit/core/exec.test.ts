import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execProgram, lookupUser, parseEnvFile } from '../../../plugin/core/exec';
import { toArgv } from '../../../plugin/core/argv';
import { isAlive } from '../../../plugin/proc/table';
import { waitFor } from '../../helpers/pm2';

let dir: string;

async function script(name: string, body: string, mode = 0o755): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, `#!/bin/sh\n${body}\n`, { mode });
  return file;
}

const until = async (check: () => Promise<boolean>, ms = 3000): Promise<void> => {
  await waitFor('condition', check, { timeoutMs: ms, intervalMs: 20 });
};

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mh-exec-'));
  await fs.chmod(dir, 0o755);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('parseEnvFile', () => {
  it('reads KEY=VALUE lines literally, with comments, export and quotes', () => {
    const env = parseEnvFile('# comment\n\nA=1\nexport B = two words \nC="$HOME/x"\nD=\'q\'\nbad line\n1X=no\nE=a=b\n');
    expect(env).toEqual({ A: '1', B: 'two words', C: '$HOME/x', D: 'q', E: 'a=b' });
  });
});

describe('toArgv', () => {
  it('splits a command without a shell', () => {
    expect(toArgv('/usr/bin/x -c "/a b/c" \'$HOME\'')).toEqual(['/usr/bin/x', '-c', '/a b/c', '$HOME']);
    expect(toArgv(['/bin/a', 'b'])).toEqual(['/bin/a', 'b']);
    expect(toArgv('')).toBeUndefined();
  });
});

describe('execProgram', () => {
  it('returns exit code and output', async () => {
    const r = await execProgram(['/bin/echo', 'hello'], { timeoutMs: 5000 });
    expect(r).toMatchObject({ code: 0, signal: null, timedOut: false, stdout: 'hello\n' });
  });

  it('kills the whole process group on timeout', async () => {
    const pidFile = path.join(dir, 'bg.pid');
    const prog = await script('group.sh', `/bin/sleep 31 &\necho $! > ${pidFile}\n/bin/sleep 32`);
    const t0 = Date.now();
    const r = await execProgram([prog], { timeoutMs: 500 });
    expect(r.timedOut).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2500);
    const bg = Number((await fs.readFile(pidFile, 'utf8')).trim());
    await until(async () => !(await isAlive(bg)));
  });

  it('stops at once when the caller aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await execProgram(['/bin/sleep', '30'], { timeoutMs: 30_000, signal: ac.signal });
    expect(r.timedOut).toBe(true);
    expect(r.durationMs).toBeLessThan(2000);
  });

  it('passes a stdin secret that is neither in /proc cmdline nor environ', async () => {
    const out = path.join(dir, 'secret.out');
    const pidFile = path.join(dir, 'secret.pid');
    const prog = await script('secret.sh', `echo $$ > ${pidFile}\nread line\nprintf '%s' "$line" > ${out}\n/bin/sleep 0.5`);
    const secret = 'S3cr3t-value-xyz';
    const running = execProgram([prog, 'arg1'], { timeoutMs: 5000, stdin: secret + '\n' });
    await until(async () => (await fs.stat(out).then(() => true, () => false)));
    const pid = Number((await fs.readFile(pidFile, 'utf8')).trim());
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    const environ = await fs.readFile(`/proc/${pid}/environ`, 'utf8');
    expect(cmdline).not.toContain(secret);
    expect(environ).not.toContain(secret);
    const r = await running;
    expect(r.code).toBe(0);
    expect(await fs.readFile(out, 'utf8')).toBe(secret);
  });

  it('gives a minimal environment plus the EnvFile, never the agent environment', async () => {
    process.env.MSGHA_AGENT_ONLY = 'leak';
    const envFile = path.join(dir, 'env');
    await fs.writeFile(envFile, 'FOO=bar\nLITERAL=$HOME\n');
    const r = await execProgram(['/usr/bin/env'], { timeoutMs: 5000, envFile });
    delete process.env.MSGHA_AGENT_ONLY;
    const env = Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(env.FOO).toBe('bar');
    expect(env.LITERAL).toBe('$HOME');
    expect(env.PATH).toBeTruthy();
    expect(env.MSGHA_AGENT_ONLY).toBeUndefined();
    expect(Object.keys(env).some((k) => k.startsWith('pm_') || k.startsWith('VITEST'))).toBe(false);
  });

  it('reports a missing EnvFile as a spawn error', async () => {
    const r = await execProgram(['/bin/true'], { timeoutMs: 5000, envFile: path.join(dir, 'nope') });
    expect(r.spawnError?.code).toBe('EENVFILE');
  });

  it('keeps only the tail of a large output', async () => {
    const r = await execProgram(['/usr/bin/seq', '1', '100000'], { timeoutMs: 10_000, maxOutput: 64 * 1024 });
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeLessThanOrEqual(64 * 1024);
    expect(r.stdout.endsWith('99999\n100000\n')).toBe(true);
  });

  it('reports a missing program and a non-executable one', async () => {
    const missing = await execProgram([path.join(dir, 'absent')], { timeoutMs: 5000 });
    expect(missing.spawnError?.code).toBe('ENOENT');
    const file = await script('noexec.sh', 'exit 0', 0o644);
    const noexec = await execProgram([file], { timeoutMs: 5000 });
    expect(noexec.spawnError?.code).toBe('EACCES');
  });

  it('runs as another user', async () => {
    const nobody = await lookupUser('nobody');
    expect(nobody).toBeDefined();
    const r = await execProgram(['/usr/bin/id', '-u'], { timeoutMs: 5000, user: 'nobody' });
    expect(r.stdout.trim()).toBe(String(nobody!.uid));
    const bad = await execProgram(['/usr/bin/id'], { timeoutMs: 5000, user: 'no-such-user-x' });
    expect(bad.spawnError?.code).toBe('EUSER');
  });

  it('finds a bare name in PATH, runs that file and keeps the name as argv[0]', async () => {
    const r = await execProgram(['cat', '/proc/self/cmdline'], { timeoutMs: 5000 });
    expect(r.stdout).toBe('cat\0/proc/self/cmdline\0');
    const missing = await execProgram(['no-such-program-x'], { timeoutMs: 5000 });
    expect(missing.spawnError).toEqual({ code: 'ENOENT', message: 'no-such-program-x: not found in PATH' });
  });

  it('skips relative PATH entries (they would depend on the working directory)', async () => {
    await script('relative-tool', 'echo found');
    const envFile = path.join(dir, 'relative.env');
    await fs.writeFile(envFile, 'PATH=bin:.\n');
    const r = await execProgram(['relative-tool'], { timeoutMs: 5000, envFile, cwd: dir });
    expect(r.spawnError?.code).toBe('ENOENT');
  });

  it('does not wait for a daemon that keeps the output pipes open', async () => {
    const prog = await script('daemonize.sh', '/bin/sleep 3 &\necho started');
    const t0 = Date.now();
    const r = await execProgram([prog], { timeoutMs: 10_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('started');
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});

describe('ContainerName', () => {
  const ns = `mhct-exec-${process.pid}`;
  beforeAll(async () => {
    const r = await execProgram(['/usr/sbin/ip', 'netns', 'add', ns], { timeoutMs: 5000 });
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await execProgram(['/usr/sbin/ip', 'netns', 'delete', ns], { timeoutMs: 5000 });
  });
  it('runs the program inside the named network namespace', async () => {
    const inside = await execProgram(['/usr/sbin/ip', '-o', 'link', 'show'], { timeoutMs: 5000, containerName: ns });
    expect(inside.code, inside.stderr).toBe(0);
    const links = inside.stdout.trim().split('\n').map((l) => l.split(':')[1]?.trim());
    expect(links).toEqual(['lo']);
    const missing = await execProgram(['/bin/true'], { timeoutMs: 5000, containerName: 'mhct-no-such-ns' });
    expect(missing.code).not.toBe(0);
  });
});
