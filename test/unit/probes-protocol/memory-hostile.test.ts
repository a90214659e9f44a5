/**
 * Every probe is bounded in bytes as well as in time. Hostile servers, run as user nobody (any
 * local user can listen on a free port above 1023, e.g. while the real daemon restarts), announce
 * a 2 GiB LDAP message, stream endless search entries, an endless IMAP literal, endless untagged
 * responses, an endless chunked HTTP body, an endless line. Each probe runs as `msgha probe` from
 * dist/ in its own process, so the memory measured is the probe's, not the test runner's: its
 * VmHWM (peak RSS) may exceed the same probe's against a server that closes at once by less than
 * 16 MB, and it must fail at its deadline or sooner (on the cap).
 *
 * Needs `npm run build` first (the probe runs from dist/). MSGHA_PROBE_DIST=/other/dist measures
 * another build the same way (the numbers of an older one, for a before/after comparison).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portBlock } from '../../helpers/ports';

const ROOT = path.resolve(__dirname, '../../..');
const DIST = process.env.MSGHA_PROBE_DIST ?? path.join(ROOT, 'dist');
const SERVER = path.join(__dirname, 'hostile-server.cjs');
const RUNNER = path.join(__dirname, 'probe-runner.cjs');
const BASE = portBlock('spare', 8);
const DEADLINE_MS = 3000;
const MAX_GROWTH_KB = 16 * 1024;
/** Room for a loaded machine's event loop (suites run side by side on 2 cores), as bad-servers.test.ts. */
const LATE_MS = DEADLINE_MS * 0.1 + 400;

/** One hostile server of hostile-server.cjs, on its own port. */
interface Server { kind: string; port: number; greeting?: string }
const SERVERS = {
  close: { kind: 'close', port: BASE },
  ber2g: { kind: 'ber2g', port: BASE + 1 },
  ldapEntries: { kind: 'ldap-entries', port: BASE + 2 },
  imapLiteral: { kind: 'imap-literal', port: BASE + 3 },
  httpChunked: { kind: 'http-chunked', port: BASE + 4 },
  endlessLine: { kind: 'endless-line', port: BASE + 5 },
  imapLines: { kind: 'endless-lines', port: BASE + 6, greeting: '* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready' },
  smtpLines: { kind: 'endless-lines', port: BASE + 7, greeting: '220 mx.example.com ESMTP' },
  popLines: { kind: 'endless-lines', port: BASE + 8, greeting: '+OK ready' },
  berTrickle: { kind: 'ber-trickle', port: BASE + 9 },
  httpTrickle: { kind: 'http-trickle', port: BASE + 10 },
} satisfies Record<string, Server>;

interface Case { name: string; args: string[]; server: Server; reason: RegExp }
const PW = ['--password-env', 'MSGHA_MEMORY_TEST_PW'];
const CASES: Case[] = [
  { name: 'ldap bind, a 2 GiB BER length (the audit)', args: ['--type', 'ldap', '--bind-dn', 'cn=probe', ...PW], server: SERVERS.ber2g, reason: /announced an LDAP message of 2147483647 bytes/ },
  { name: 'ldap anonymous, a 2 GiB BER length', args: ['--type', 'ldap'], server: SERVERS.ber2g, reason: /announced an LDAP message/ },
  { name: 'ldap, endless tiny search entries', args: ['--type', 'ldap'], server: SERVERS.ldapEntries, reason: /more than 100 LDAP messages/ },
  { name: 'ldap, an endless stream that is not BER', args: ['--type', 'ldap'], server: SERVERS.endlessLine, reason: /not an LDAP message/ },
  { name: 'imap login, an endless literal', args: ['--type', 'imap', '--user', 'probe', ...PW], server: SERVERS.imapLiteral, reason: /[Ll]iteral/ },
  { name: 'imap login, endless untagged responses', args: ['--type', 'imap', '--user', 'probe', ...PW], server: SERVERS.imapLines, reason: /more than 1000 lines/ },
  { name: 'imap login, an endless line', args: ['--type', 'imap', '--user', 'probe', ...PW], server: SERVERS.endlessLine, reason: /Line length|line/ },
  { name: 'imap banner, an endless line', args: ['--type', 'imap'], server: SERVERS.endlessLine, reason: /line longer than/ },
  { name: 'http login, an endless chunked body', args: ['--type', 'http', '--user', 'probe', ...PW], server: SERVERS.httpChunked, reason: /longer than \d+ bytes/ },
  { name: 'admin read-back, an endless chunked body', args: ['--type', 'admin', '--user', 'admin', ...PW], server: SERVERS.httpChunked, reason: /longer than \d+ bytes/ },
  { name: 'pop login, an endless line', args: ['--type', 'pop', '--user', 'probe', ...PW], server: SERVERS.endlessLine, reason: /line longer than/ },
  { name: 'pop login, endless lines', args: ['--type', 'pop', '--user', 'probe', ...PW], server: SERVERS.popLines, reason: /./ },
  { name: 'smtp, an endless line', args: ['--type', 'smtp', '--recipient', 'probe@example.com'], server: SERVERS.endlessLine, reason: /exceeds maximum allowed size/ },
  { name: 'smtp, endless reply lines', args: ['--type', 'smtp', '--recipient', 'probe@example.com'], server: SERVERS.smtpLines, reason: /./ },
  // Streams that stay under every cap: the deadline ends them.
  { name: 'ldap bind, a message trickling under the cap', args: ['--type', 'ldap', '--bind-dn', 'cn=probe', ...PW], server: SERVERS.berTrickle, reason: /no answer within 3000 ms/ },
  { name: 'http, a body trickling under the cap', args: ['--type', 'http'], server: SERVERS.httpTrickle, reason: /no answer within 3000 ms/ },
];

let servers: ChildProcess | undefined;
const children = new Set<ChildProcess>();
/** Peak RSS of each probe type against the closing server, in kB. */
const baseline = new Map<string, number>();
const measured: string[] = [];

/** As user nobody when we are root (the attacker is any local user), else as ourselves. */
function asNobody(argv: string[]): [string, string[]] {
  return process.getuid?.() === 0
    ? ['/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', ...argv]]
    : [argv[0]!, argv.slice(1)];
}

async function startServers(): Promise<ChildProcess> {
  const specs = Object.values(SERVERS).map((s: Server) => [s.kind, s.port, ...(s.greeting ? [s.greeting] : [])].join(':'));
  const [cmd, args] = asNobody([process.execPath, SERVER, ...specs]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('ready')) resolve(); });
    child.once('exit', (code) => reject(new Error(`the hostile servers exited (${code}): ${err.slice(0, 500)}`)));
  });
  return child;
}

interface Run { outcome: string; reason: string; totalMs: number; hwmKb: number; wallMs: number }

/** One `msgha probe` in its own process: its result and its peak RSS. */
async function probe(args: string[], port: number): Promise<Run> {
  const child = spawn(process.execPath, [RUNNER, DIST, ...args, '--host', '127.0.0.1', '--port', String(port), '--timeout-ms', String(DEADLINE_MS), '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MSGHA_MEMORY_TEST_PW: 'not-a-real-password' },
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  // A probe that never returns is caught here, not by the test's own timeout.
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(killer);
  children.delete(child);
  const mem = /^MEM (.*)$/m.exec(err);
  if (!mem) throw new Error(`the probe process ended (${code}) without its report: ${err.slice(0, 500)}`);
  const m = JSON.parse(mem[1]!) as { hwmKb: number; ms: number };
  const r = JSON.parse(out) as { outcome: string; reason?: string; phases: { total: number } };
  return { outcome: r.outcome, reason: r.reason ?? '', totalMs: Math.round(r.phases.total * 1000), hwmKb: m.hwmKb, wallMs: m.ms };
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(DIST, 'plugin', 'cli', 'commands', 'probe.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  servers = await startServers();
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  if (servers && servers.exitCode === null) {
    const gone = new Promise((resolve) => servers!.once('exit', resolve));
    servers.kill('SIGTERM');
    await gone;
  }
  if (measured.length) console.log(`probe memory (VmHWM growth over the same probe against a closing server) and time, deadline ${DEADLINE_MS} ms:\n${measured.join('\n')}`);
});

describe('probes against hostile servers: memory and deadline', () => {
  it('baselines: each probe against a server that closes at once', async () => {
    for (const c of CASES) {
      const type = c.args.join(' ');
      if (baseline.has(type)) continue;
      const r = await probe(c.args, SERVERS.close.port);
      expect(r.outcome, `${type}: ${r.reason}`).toBe('fail');
      baseline.set(type, r.hwmKb);
    }
  });

  it.each(CASES)('$name: fails by the deadline, memory growth < 16 MB', async (c) => {
    const base = baseline.get(c.args.join(' '));
    expect(base, 'the baseline ran first').toBeDefined();
    const r = await probe(c.args, c.server.port);
    const growthKb = r.hwmKb - base!;
    measured.push(`  ${c.name.padEnd(44)} ${r.outcome.padEnd(7)} growth ${(growthKb / 1024).toFixed(1).padStart(5)} MB  ended after ${r.totalMs} ms (${r.totalMs - DEADLINE_MS} ms vs the deadline)  ${r.reason.slice(0, 90)}`);
    expect(['fail', 'timeout'], r.reason).toContain(r.outcome);
    expect(r.reason).toMatch(c.reason);
    expect(growthKb, `VmHWM ${r.hwmKb} kB against ${base} kB: ${r.reason}`).toBeLessThan(MAX_GROWTH_KB);
    expect(r.totalMs, r.reason).toBeLessThanOrEqual(DEADLINE_MS + LATE_MS);
    expect(r.wallMs, r.reason).toBeLessThanOrEqual(DEADLINE_MS + LATE_MS);
  });
});
