/**
 * The compiled `msgha` on commander: --help on every verb exits 0 and does nothing (no PM2
 * daemon appears in PM2_HOME, no file is written in the working directory), --version, the
 * suggestions for unknown verbs and options, usage errors as exit 2 (as JSON with --json), and
 * "no coordinator" as exit 3 from every verb that asks one.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'plugin', 'cli', 'main.js');
const WORK = `/tmp/msgha-cli-help-${process.pid}`;
const HOME = path.join(WORK, 'pm2');
const CWD = path.join(WORK, 'cwd');

function msgha(args: string[]): { code: number; out: string; err: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, PM2_HOME: HOME };
  delete env.MSGHA_CLUSTER_FILE;
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: CWD, env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** Every verb `msgha --help` lists. */
function verbs(): string[] {
  const help = msgha(['--help']).out;
  const block = help.slice(help.indexOf('Commands:'), help.indexOf('Exit codes'));
  return [...block.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((v) => v !== 'help');
}

beforeAll(() => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(CWD, { recursive: true });
});
afterAll(() => { fs.rmSync(WORK, { recursive: true, force: true }); });

describe('msgha --help, --version', () => {
  it('msgha --help lists every verb and the exit codes, exit 0', () => {
    const r = msgha(['--help']);
    expect(r.code).toBe(0);
    expect(verbs()).toEqual(expect.arrayContaining(['validate', 'status', 'online', 'offline', 'switch', 'evacuate', 'clear', 'demo', 'completion']));
    expect(r.out).toMatch(/Exit codes \(every verb\):\n {2}0 {2}done/);
    expect(r.out).toMatch(/^ {2}3 {2}no PM2 daemon or no coordinator/m);
  });

  it('every verb: --help and -h exit 0, print its usage on stdout, and start or write nothing', () => {
    const all = verbs();
    expect(all.length).toBeGreaterThan(15);
    for (const v of all) {
      for (const flag of ['--help', '-h']) {
        const r = msgha([v, flag]);
        expect(r.code, `${v} ${flag}: ${r.err}`).toBe(0);
        expect(r.out, v).toMatch(new RegExp(`^Usage: msgha ${v} `));
        expect(r.err, v).toBe('');
      }
    }
    // With the arguments it would act on, too (demo would build a sandbox and start PM2).
    expect(msgha(['demo', '--dir', path.join(WORK, 'demo'), '--help']).code).toBe(0);
    expect(msgha(['online', 'mail', '--wait', '--help']).code).toBe(0);
    expect(fs.existsSync(HOME), 'no PM2 daemon was started').toBe(false);
    expect(fs.existsSync(path.join(WORK, 'demo'))).toBe(false);
    expect(fs.readdirSync(CWD)).toEqual([]);
  });

  it('--version prints package.json\'s version', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const f of ['--version', '-V']) {
      const r = msgha([f]);
      expect(r.code).toBe(0);
      expect(r.out).toBe(`${version}\n`);
    }
  });
});

describe('usage errors', () => {
  it('an unknown verb or option gets a suggestion, exit 2, on stderr', () => {
    const v = msgha(['onlin', 'mail']);
    expect(v.code).toBe(2);
    expect(v.out).toBe('');
    expect(v.err).toMatch(/unknown command 'onlin'\n\(Did you mean online\?\)/);
    const o = msgha(['status', '--jsn']);
    expect(o.code).toBe(2);
    expect(o.err).toMatch(/^msgha status: unknown option '--jsn'\n\(Did you mean --json\?\)/);
    expect(msgha(['online']).code).toBe(2);
    expect(msgha(['online', 'a', 'b']).code).toBe(2);
    expect(msgha([]).code).toBe(2);
  });

  it('--json: errors are one JSON object on stdout with the exit code, nothing on stderr', () => {
    const r = msgha(['online', 'mail', '--json', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toEqual({ ok: false, command: 'online', error: "unknown option '--bogus'", exit: 2 });
    const t = msgha(['online', 'mail', '--json', '--wait', '--timeout', 'soon']);
    expect(t.code).toBe(2);
    expect(JSON.parse(t.out)).toMatchObject({ ok: false, exit: 2, error: expect.stringMatching(/--timeout must be a number/) });
    const x = msgha(['explain', 'NoSuchType', '--json']);
    expect(x.code).toBe(2); // explain has no --json: a usage error, still as JSON
    expect(JSON.parse(x.out)).toMatchObject({ ok: false, exit: 2 });
  });
});

describe('no PM2 daemon here: exit 3 from every verb that needs the coordinator, none started', () => {
  it.each([['status'], ['online', 'mail'], ['offline', 'mail'], ['switch', 'mail:n2'], ['evacuate'], ['freeze', 'mail'], ['unfreeze', 'mail'], ['clear', 'mail.imap'], ['drill', 'mail']])('%s', (...args) => {
    const r = msgha(args);
    expect(r.code, r.err).toBe(3);
    expect(r.out).toBe('');
    expect(r.err).toMatch(new RegExp(`^msgha ${args[0]}: no PM2 daemon runs on this node \\(PM2_HOME ${HOME}\\): `));
    const j = msgha([...args, '--json']);
    expect(j.code).toBe(3);
    expect(JSON.parse(j.out)).toMatchObject({ ok: false, command: args[0], exit: 3 });
    // Loading PM2 creates its home; a daemon would leave its pid file and sockets there.
    for (const f of ['pm2.pid', 'rpc.sock', 'pub.sock']) expect(fs.existsSync(path.join(HOME, f)), `${f}: a PM2 daemon was started`).toBe(false);
  });
});
