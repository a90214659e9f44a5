/**
 * `msgha probe`: exit codes (0 ok, 1 fail, 2 usage, 4 timeout: plugin/cli/commands/exit-codes.ts), table and JSON output, and the
 * password only from an environment variable or a file — against scripted servers. Also the
 * `actsOn` policy helper.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBadServer, SCRIPTS, type BadServer } from '../fixtures/bad-servers';
import { portBlock } from '../helpers/ports';
import { run } from '../../plugin/cli/commands/probe';
import { actsOn } from '../../probes/registry';

const BASE = portBlock('probes', 3);
const POP_OK = [
  { send: '+OK ready\r\n' }, { expect: /^USER probe$/ }, { send: '+OK\r\n' }, { expect: /^PASS s3cret$/ }, { send: '+OK\r\n' },
  { expect: /^STAT$/ }, { send: '+OK 2 320\r\n' }, { expect: /^QUIT$/ }, { send: '+OK bye\r\n' }, 'end' as const,
];

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  try {
    const code = await run(args);
    return { code, out, err };
  } finally { o.mockRestore(); e.mockRestore(); }
}

describe('msgha probe', () => {
  let good: BadServer;
  let silent: BadServer;
  let tmp: string;
  beforeAll(async () => {
    good = await startBadServer(BASE, POP_OK);
    silent = await startBadServer(BASE + 1, SCRIPTS.silent());
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'msgha-cli-'));
  });
  afterAll(async () => { await good.close(); await silent.close(); fs.rmSync(tmp, { recursive: true, force: true }); });

  it('exit 0 and a phase table for a good POP3 login (password from an env variable)', async () => {
    process.env.MSGHA_TEST_PW = 's3cret';
    const r = await cli(['--type', 'pop', '--host', '127.0.0.1', '--port', String(BASE), '--user', 'probe', '--password-env', 'MSGHA_TEST_PW']);
    delete process.env.MSGHA_TEST_PW;
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/pop 127\.0\.0\.1:\d+ {2}OK/);
    for (const phase of ['connect', 'greeting', 'login', 'command', 'logout', 'total']) expect(r.out).toContain(phase);
    expect(r.out).toContain('messages: 2');
    expect(r.out).not.toContain('s3cret');
  });

  it('JSON output with the password from a file', async () => {
    const file = path.join(tmp, 'pw');
    fs.writeFileSync(file, 's3cret\n', { mode: 0o600 });
    const r = await cli(['--type=pop', '--host=127.0.0.1', `--port=${BASE}`, '--user=probe', `--password-file=${file}`, '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { outcome: string; phases: Record<string, number> };
    expect(j.outcome).toBe('ok');
    expect(j.phases.login).toBeTypeOf('number');
  });

  it('exit 1 on a closed port, 4 (timeout) on a silent server', async () => {
    const closed = await cli(['--type', 'imap', '--host', '127.0.0.1', '--port', String(BASE + 99), '--json']);
    expect(closed.code).toBe(1);
    expect(JSON.parse(closed.out)).toMatchObject({ outcome: 'fail', failedPhase: 'connect' });
    const t0 = performance.now();
    const hung = await cli(['--type', 'smtp', '--host', '127.0.0.1', '--port', String(BASE + 1), '--timeout-ms', '300']);
    expect(hung.code).toBe(4);
    expect(performance.now() - t0).toBeLessThan(600);
    expect(hung.out).toMatch(/TIMEOUT/);
  });

  it('exit 2 on usage errors; a password on the command line is refused', async () => {
    expect((await cli(['--type', 'pop', '--host', 'h', '--port', '1', '--password', 'x'])).code).toBe(2);
    expect((await cli(['--type', 'nope', '--host', 'h', '--port', '1'])).code).toBe(2);
    expect((await cli(['--type', 'pop', '--host', 'h'])).code).toBe(2);
    expect((await cli(['--type', 'pop', '--host', 'h', '--port', '70000'])).code).toBe(2);
    expect((await cli(['--type', 'pop', '--host', 'h', '--port', '1', '--password-env', 'MSGHA_SURELY_UNSET'])).code).toBe(2);
    const bad = await cli(['--type', 'pop', '--host', 'h', '--port', '1', '--password=x']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--password-env/);
  });
});

describe('actsOn', () => {
  const ok = { outcome: 'ok' as const, phases: {} };
  const fail = { outcome: 'fail' as const, phases: {} };
  const timeout = { outcome: 'timeout' as const, phases: {} };
  it.each([
    [ok, 'any', false], [fail, 'any', true], [timeout, 'any', true],
    [ok, 'timeout-only', false], [fail, 'timeout-only', false], [timeout, 'timeout-only', true],
  ] as const)('%o under %s → %s', (result, policy, expected) => {
    expect(actsOn(result, policy)).toBe(expected);
  });
});
