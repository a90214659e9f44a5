/**
 * Secrets bound to their place, as an attacker would try it, with the compiled CLI and real
 * processes (`msgha run … online` runs the agent's own function runner: StartProgram gets the
 * decrypted StartInputSecret on stdin):
 * - an enc:v2 value moved to another attribute, resource, group or cluster is refused, and the
 *   start program never runs;
 * - enc:v1 still works, with one validate warning per value; `msgha secrets upgrade` rewrites a
 *   .json file (only those values) and prints the values for a .js file;
 * - the key file: 0640, 0604, owned by nobody, a symlink, in a directory nobody can write —
 *   each shown to give nobody a real power, each refused;
 * - no clear text in any process's argv or environment while the secret is in flight, in the
 *   TRACE log, or in any file.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT, runNode, waitFor, type CliResult } from '../helpers/pm2';

const CLI = path.join(PACKAGE_ROOT, 'dist', 'plugin', 'cli', 'main.js');
const BASE = `/tmp/msgha-secE-${process.pid}`;
const KEY = path.join(BASE, 'keys', 'cluster.key');
const TAG = `msgha-secE-daemon-${process.pid}`;
const SECRET = `sec-E-${crypto.randomBytes(12).toString('hex')}`;
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'];
const env = { ...process.env, MSGHA_KEY_FILE: '' };

const run = (file: string) => path.join(BASE, `run-${path.basename(file).replace(/\W/g, '-')}`);

/** One Application per place the tests move values between; only g1.app is ever started. */
function definition(file: string, values: { app?: string; other?: string; g2?: string; probe?: string }, opts: { name?: string; keyFile?: string } = {}) {
  const res = (dir: string, secret: string | undefined, extra: Record<string, unknown> = {}) => ({
    type: 'Application', StartProgram: [path.join(BASE, 'bin', 'start'), dir], PidFiles: [path.join(dir, 'daemon.pid')],
    MonitorProcesses: [`${TAG} ${path.basename(dir)}`], OnlineTimeout: 90, OfflineTimeout: 20, CleanTimeout: 20,
    ...(secret ? { StartInputSecret: secret } : {}), ...extra,
  });
  const r = run(file);
  return {
    cluster: { name: opts.name ?? 'c1', nodes: ['n1'], keyFile: opts.keyFile ?? KEY },
    groups: {
      g1: { systemList: ['n1'], resources: {
        app: res(path.join(r, 'app'), values.app, values.probe ? { ProbeUser: 'probe', ProbePasswd: values.probe } : {}),
        other: res(path.join(r, 'other'), values.other),
      } },
      g2: { systemList: ['n1'], resources: { app: res(path.join(r, 'g2'), values.g2) } },
    },
  };
}

function writeCluster(name: string, def: unknown, format: 'json' | 'js' = 'json'): string {
  const file = path.join(BASE, name);
  const text = JSON.stringify(def, null, 2);
  fs.writeFileSync(file, format === 'json' ? `${text}\n` : `// cluster file\nmodule.exports = ${text};\n`, { mode: 0o640 });
  for (const d of ['app', 'other', 'g2']) fs.mkdirSync(path.join(run(file), d), { recursive: true, mode: 0o755 });
  return file;
}

const msgha = (args: string[], input?: string): Promise<CliResult> => runNode([CLI, ...args], env, { input, timeoutMs: 110_000 });

async function encrypt(clusterFile: string, place: string, clear = SECRET): Promise<string> {
  const r = await msgha(['encrypt', '--cluster', clusterFile, '--for', place], `${clear}\n`);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

const sha = (s: string): string => crypto.createHash('sha256').update(s).digest('hex');
/** What the start program received, as a hash (the clear text is never written). */
const received = (file: string): string | undefined => {
  try { return fs.readFileSync(path.join(run(file), 'app', 'got'), 'utf8').split(' ')[0]; } catch { return undefined; }
};

function daemonPids(): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try { if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').startsWith(TAG)) pids.push(Number(e)); } catch { /* gone */ }
  }
  return pids;
}

async function stopDaemons(): Promise<void> {
  for (const pid of daemonPids()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  await waitFor('test daemons gone', () => daemonPids().length === 0, { timeoutMs: 20_000, intervalMs: 50 });
}

/** Every process whose argv or environment holds `needle`, as "pid: where". */
function processesHolding(needle: string): string[] {
  const hits: string[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    for (const what of ['cmdline', 'environ']) {
      try { if (fs.readFileSync(`/proc/${e}/${what}`).includes(needle)) hits.push(`${e}: ${what}`); } catch { /* gone or kernel thread */ }
    }
  }
  return hits;
}

function filesHolding(dir: string, needle: string): string[] {
  const hits: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) hits.push(...filesHolding(p, needle));
    else if (e.isFile() && fs.readFileSync(p).includes(needle)) hits.push(p);
  }
  return hits;
}

const asNobody = (argv: string[]) => spawnSync('setpriv', [...NOBODY, ...argv], { encoding: 'utf8' });

beforeAll(async () => {
  fs.rmSync(BASE, { recursive: true, force: true });
  fs.mkdirSync(path.join(BASE, 'bin'), { recursive: true, mode: 0o755 });
  fs.chmodSync(BASE, 0o755); // nobody must reach the key directories to try the attacks
  fs.symlinkSync('/bin/sleep', path.join(BASE, 'bin', 'daemon'));
  // The start program keeps only a hash of what it got, waits while RUN/hold exists (so every
  // process can be looked at while the secret is in flight), then starts the daemon.
  fs.writeFileSync(path.join(BASE, 'bin', 'start'), [
    '#!/bin/bash',
    'run="$1"',
    'IFS= read -r secret',
    'printf \'%s\' "$secret" | sha256sum > "$run/got"',
    'unset secret',
    ': > "$run/ready"',
    'for _ in $(seq 1 2400); do [ -e "$run/hold" ] || break; sleep 0.05; done',
    `(exec -a "${TAG} $(basename "$run")" ${BASE}/bin/daemon 600) </dev/null >/dev/null 2>&1 &`,
    'echo $! > "$run/daemon.pid"',
    '',
  ].join('\n'), { mode: 0o755 });
  const k = await msgha(['keygen', '--key-file', KEY]);
  expect(k.code, k.stderr).toBe(0);
  fs.chmodSync(path.dirname(KEY), 0o755);
});

afterAll(async () => {
  await stopDaemons().catch(() => undefined);
  fs.rmSync(BASE, { recursive: true, force: true });
});

describe('enc:v2 values are bound to their place', () => {
  it('in its place: StartProgram gets the secret; moved to another attribute, resource, group or cluster: refused', async () => {
    const file = writeCluster('place.json', definition('place.json', {}));
    const own = await encrypt(file, 'g1.app.StartInputSecret');
    const moved = {
      attribute: await encrypt(file, 'g1.app.ProbePasswd'),
      resource: await encrypt(file, 'g1.other.StartInputSecret'),
      group: await encrypt(file, 'g2.app.StartInputSecret'),
      cluster: (await msgha(['encrypt', '--cluster-name', 'c2', '--for', 'g1.app.StartInputSecret', '--key-file', KEY], SECRET)).stdout.trim(),
    };
    expect(moved.cluster).toMatch(/^enc:v2:/);
    for (const [what, value] of Object.entries(moved)) {
      writeCluster('place.json', definition('place.json', { app: value }));
      const r = await msgha(['run', file, 'g1.app', 'online', '--trace']);
      expect(r.code, `${what}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stdout).toContain('g1.app.StartInputSecret (cluster c1): authentication failed: an enc:v2 value decrypts only in the place it was encrypted for, '
        + 'and this one was encrypted for another cluster, group, resource or attribute, or with another key');
      expect(r.stdout).toContain(`msgha encrypt --cluster ${file} --for g1.app.StartInputSecret`);
      expect(received(file), `${what}: the start program must not run`).toBeUndefined();
      expect(r.stdout + r.stderr).not.toContain(value.slice(7));
    }
    writeCluster('place.json', definition('place.json', { app: own }));
    const ok = await msgha(['run', file, 'g1.app', 'online']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(received(file)).toBe(sha(SECRET));
    await stopDaemons();
  });
});

describe('enc:v1 still works, with a warning and one command to upgrade', () => {
  it('v1 decrypts in any place, and validate warns once per value, naming it and the command', async () => {
    const r = await msgha(['encrypt', '--key-file', KEY], SECRET);
    const v1 = r.stdout.trim();
    expect(v1).toMatch(/^enc:v1:/);
    const file = writeCluster('legacy.json', definition('legacy.json', { app: v1, g2: v1 }));
    const v = await msgha(['validate', file]);
    expect(v.code).toBe(0);
    const warnings = v.stdout.split('\n').filter((l) => l.includes('enc:v1 value is not bound'));
    expect(warnings).toEqual([
      `${file}: g1/app: StartInputSecret: warning: enc:v1 value is not bound to its place: it would decrypt just as well if moved to another attribute, resource, group or cluster (re-encrypt every enc:v1 value of the file as enc:v2: msgha secrets upgrade --cluster ${file})`,
      `${file}: g2/app: StartInputSecret: warning: enc:v1 value is not bound to its place: it would decrypt just as well if moved to another attribute, resource, group or cluster (re-encrypt every enc:v1 value of the file as enc:v2: msgha secrets upgrade --cluster ${file})`,
    ]);
    const ok = await msgha(['run', file, 'g1.app', 'online']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(received(file)).toBe(sha(SECRET));
    await stopDaemons();
  });

  it('upgrade of a .json file: every v1 value becomes its own v2, nothing else changes, owner and mode kept', async () => {
    const v1 = (await msgha(['encrypt', '--key-file', KEY], SECRET)).stdout.trim();
    const file = writeCluster('upgrade.json', definition('upgrade.json', { app: v1, other: v1, g2: v1, probe: v1 }));
    fs.chownSync(file, 0, 65534);
    const before = fs.readFileSync(file, 'utf8');
    const r = await msgha(['secrets', 'upgrade', '--cluster', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${file}: 4 enc:v1 values re-encrypted as enc:v2 (g1.app.ProbePasswd, g1.app.StartInputSecret, g1.other.StartInputSecret, g2.app.StartInputSecret); copy the file to every node\n`);
    const after = fs.readFileSync(file, 'utf8');
    const news = [...after.matchAll(/"(enc:v2:[A-Za-z0-9_-]+)"/g)].map((m) => m[1]!);
    expect(news).toHaveLength(4);
    expect(new Set(news).size).toBe(4);
    expect(after.replace(/enc:v2:[A-Za-z0-9_-]+/g, 'X')).toBe(before.replace(/enc:v1:[A-Za-z0-9_-]+/g, 'X'));
    const st = fs.statSync(file);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([0, 65534, 0o640]);
    expect(fs.readdirSync(BASE).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await msgha(['validate', file])).stdout).not.toContain('enc:v1');
    const ok = await msgha(['run', file, 'g1.app', 'online']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(received(file)).toBe(sha(SECRET));
    await stopDaemons();
    const again = await msgha(['secrets', 'upgrade', '--cluster', file]);
    expect(again.stdout).toBe(`${file}: no enc:v1 value; nothing to do\n`);
  });

  it('upgrade changes nothing when one v1 value does not decrypt', async () => {
    const otherKey = path.join(BASE, 'keys', 'other.key');
    expect((await msgha(['keygen', '--key-file', otherKey])).code).toBe(0);
    const good = (await msgha(['encrypt', '--key-file', KEY], SECRET)).stdout.trim();
    const foreign = (await msgha(['encrypt', '--key-file', otherKey], SECRET)).stdout.trim();
    const file = writeCluster('mixed.json', definition('mixed.json', { app: good, g2: foreign }));
    const before = fs.readFileSync(file, 'utf8');
    const r = await msgha(['secrets', 'upgrade', '--cluster', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nothing changed; 1 of 2 enc:v1 values did not decrypt');
    expect(r.stderr).toContain('g2.app.StartInputSecret (cluster c1): authentication failed: the value was encrypted with another cluster key');
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
  });

  it('upgrade of a .js file never rewrites it: it prints one value per attribute to paste', async () => {
    const v1 = (await msgha(['encrypt', '--key-file', KEY], SECRET)).stdout.trim();
    const file = writeCluster('code.config.js', definition('code.config.js', { app: v1, g2: v1 }), 'js');
    const before = fs.readFileSync(file, 'utf8');
    const r = await msgha(['secrets', 'upgrade', '--cluster', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    const printed = new Map([...r.stdout.matchAll(/^(\S+): (enc:v2:\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    expect([...printed.keys()]).toEqual(['g1.app.StartInputSecret', 'g2.app.StartInputSecret']);
    expect(r.stdout).toContain('is code and is not rewritten');
    // Pasted by hand, as the administrator would:
    writeCluster('code.config.js', definition('code.config.js', { app: printed.get('g1.app.StartInputSecret'), g2: printed.get('g2.app.StartInputSecret') }), 'js');
    expect((await msgha(['validate', file])).stdout).not.toContain('enc:v1');
    const ok = await msgha(['run', file, 'g1.app', 'online']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(received(file)).toBe(sha(SECRET));
    await stopDaemons();
  });
});

describe('the key file: what nobody could do with it, and the refusal', () => {
  /** A copy of the good key in its own root directory (0755, so nobody can reach it). */
  function keyCopy(name: string): string {
    const dir = path.join(BASE, `k-${name}`);
    fs.mkdirSync(dir, { mode: 0o755 });
    const f = path.join(dir, 'cluster.key');
    fs.copyFileSync(KEY, f);
    return f;
  }

  /** The refusal, from encrypt (key only) and from a start (the agent's path). */
  async function expectRefused(keyFile: string, message: RegExp, name: string): Promise<void> {
    const e = await msgha(['encrypt', '--cluster-name', 'c1', '--for', 'g1.app.StartInputSecret', '--key-file', keyFile], SECRET);
    expect(e.code, e.stderr).toBe(1);
    expect(e.stdout).toBe('');
    expect(e.stderr).toMatch(message);
    const value = await encrypt(writeCluster(`${name}.json`, definition(`${name}.json`, {})), 'g1.app.StartInputSecret');
    const file = writeCluster(`${name}.json`, definition(`${name}.json`, { app: value }, { keyFile }));
    const r = await msgha(['run', file, 'g1.app', 'online']);
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(keyFile);
    expect(received(file), 'the start program must not run').toBeUndefined();
  }

  it('0640 with group nogroup: nobody reads the key; refused', async () => {
    const f = keyCopy('0640');
    fs.chownSync(f, 0, 65534);
    fs.chmodSync(f, 0o640);
    expect(asNobody(['cat', f]).stdout).toBe(fs.readFileSync(KEY, 'utf8'));
    await expectRefused(f, new RegExp(`cluster key file ${f} has mode 0640, owner root, group nogroup: refused.*\\(fix: chown root:root ${f} && chmod 600 ${f}\\)`), 'k0640');
  });

  it('0604: nobody reads the key; refused', async () => {
    const f = keyCopy('0604');
    fs.chmodSync(f, 0o604);
    const read = asNobody(['cat', f]);
    expect(read.stdout, read.stderr).toBe(fs.readFileSync(KEY, 'utf8'));
    await expectRefused(f, new RegExp(`cluster key file ${f} has mode 0604, owner root, group root: refused`), 'k0604');
  });

  it('owned by nobody: nobody replaces the key with one of its own; refused', async () => {
    const f = keyCopy('nobody');
    fs.chownSync(f, 65534, 65534);
    const mine = path.join(BASE, 'attacker.key');
    fs.writeFileSync(mine, crypto.randomBytes(32).toString('base64') + '\n', { mode: 0o644 });
    expect(asNobody(['cp', mine, f]).status).toBe(0);
    expect(fs.readFileSync(f, 'utf8')).toBe(fs.readFileSync(mine, 'utf8'));
    await expectRefused(f, new RegExp(`cluster key file ${f} has mode 0600, owner nobody, group nogroup: refused`), 'knobody');
  });

  it('a symbolic link, even to the good key: refused (it could be re-pointed)', async () => {
    const dir = path.join(BASE, 'k-link');
    fs.mkdirSync(dir, { mode: 0o755 });
    const f = path.join(dir, 'cluster.key');
    fs.symlinkSync(KEY, f);
    await expectRefused(f, new RegExp(`cluster key file ${f} is a symbolic link \\(to ${KEY}\\): refused`), 'klink');
  });

  it('a directory nobody can write: nobody can swap the key; refused', async () => {
    const f = keyCopy('dir');
    const dir = path.dirname(f);
    fs.chownSync(dir, 65534, 65534);
    expect(asNobody(['mv', f, `${f}.gone`]).status).toBe(0);
    expect(asNobody(['mv', `${f}.gone`, f]).status).toBe(0);
    await expectRefused(f, new RegExp(`cluster key file ${f}: refused, because its directory ${dir} is owned by uid 65534, not by root; .*\\(fix: chown root:root ${dir}; chmod go-w ${dir}\\)`), 'kdir');
  });
});

describe('no leak of a v2 secret', () => {
  it('not in any argv or environment while it is in flight, nor in the TRACE log, nor in any file', async () => {
    // The scan itself finds a marker that is in an argv and an environment.
    const marker = `marker-${crypto.randomBytes(6).toString('hex')}`;
    const control = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', marker], { env: { ...env, MARKER: marker }, stdio: 'ignore' });
    try {
      await waitFor('the control process', () => processesHolding(marker).length === 2, { timeoutMs: 30_000, intervalMs: 50 });
    } finally {
      control.kill('SIGKILL');
    }
    const file = writeCluster('leak.json', definition('leak.json', {}));
    const value = await encrypt(file, 'g1.app.StartInputSecret');
    writeCluster('leak.json', definition('leak.json', { app: value }));
    const dir = path.join(run(file), 'app');
    fs.writeFileSync(path.join(dir, 'hold'), '');
    const child = spawn(process.execPath, [CLI, 'run', file, 'g1.app', 'online', '--trace'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor('the start program to hold the secret', () => fs.existsSync(path.join(dir, 'ready')), { timeoutMs: 60_000, intervalMs: 50 });
      // msgha run (which decrypted it) and the start program (which read it) are both alive now.
      expect(fs.existsSync(`/proc/${child.pid}`)).toBe(true);
      expect(processesHolding(SECRET)).toEqual([]);
    } finally {
      fs.rmSync(path.join(dir, 'hold'), { force: true });
    }
    expect(await exited, out).toBe(0);
    expect(received(file)).toBe(sha(SECRET));
    expect(daemonPids().length).toBeGreaterThan(0);
    expect(processesHolding(SECRET)).toEqual([]);
    expect(out).toMatch(/TRACE/);
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain(value.slice(7));
    expect(filesHolding(BASE, SECRET)).toEqual([]);
    await stopDaemons();
  });
});
