/**
 * `npm run bench -- probes`: wall and CPU time per synthetic transaction of our in-process
 * probes, side by side in the same run with the monitoring-plugins tools (check_imap, check_pop,
 * check_smtp, check_ldap, check_tcp; Debian packages monitoring-plugins-basic and
 * monitoring-plugins-standard) and curl doing the same IMAP/POP3 login transactions, against
 * the daemons of a private sandbox suite. Writes bench/results/probes.json and probes.md.
 *
 * How it measures: in-process, performance.now() and process.cpuUsage() deltas around each
 * probe call. External tools run under a small resident Python helper that fork/execs the tool
 * and reads its exact CPU time with wait4() (no shell; the helper's own start-up is not timed).
 * curl gets the test password from a 0600 netrc file, never from its command line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { buildSandbox, startAll, type Sandbox } from '../test/fixtures/sandbox/index';
import { portBlock } from '../test/helpers/ports';
import { getProbe } from '../probes/registry';
import type { ProtocolOptions, ProtocolTarget } from '../probes/transport/options';
import { mdTable, summarize, writeResults, type Summary } from './stats';

const RUNS = Math.max(30, Number(process.env.MSGHA_BENCH_RUNS) || 30);
const WARMUP = 3;
const PLUGINS = '/usr/lib/nagios/plugins';
const BASE = portBlock('probes', 5);

interface Row { protocol: string; tool: string; transaction: string; ok: number; runs: number; wallMs: Summary; cpuMs: Summary; note?: string;
  /** In-process only: median time the server took to send its greeting (a floor for any client). */
  greetingMs?: number }

/** Resident helper: one JSON argv per line in, one {wall,cpu,code} per line out (exact rusage). */
const RUNNER = `
import json, os, sys, time
for line in sys.stdin:
    argv = json.loads(line)
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(os.devnull, os.O_RDWR)
            os.dup2(fd, 0); os.dup2(fd, 1); os.dup2(fd, 2)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t
    sys.stdout.write(json.dumps({"wall": wall * 1000, "cpu": (ru.ru_utime + ru.ru_stime) * 1000, "code": os.waitstatus_to_exitcode(status)}) + "\\n")
    sys.stdout.flush()
`;

class Runner {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterableIterator<string>;
  constructor() {
    this.child = spawn('python3', ['-c', RUNNER], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }
  async run(argv: string[]): Promise<{ wall: number; cpu: number; code: number }> {
    this.child.stdin.write(JSON.stringify(argv) + '\n');
    const { value, done } = await this.lines.next();
    if (done) throw new Error('the timing helper (python3) ended');
    return JSON.parse(value) as { wall: number; cpu: number; code: number };
  }
  close(): void { this.child.stdin.end(); }
}

async function measureInProcess(protocol: string, transaction: string, service: string, target: ProtocolTarget, options: Omit<ProtocolOptions, 'timeoutMs'>): Promise<Row> {
  const probe = getProbe(service)!;
  const walls: number[] = [];
  const cpus: number[] = [];
  const greetings: number[] = [];
  let ok = 0;
  let lastReason = '';
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await probe(target, { timeoutMs: 5000, ...options });
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (i < WARMUP) continue;
    walls.push(wall);
    cpus.push((c.user + c.system) / 1000);
    if (r.phases.greeting !== undefined) greetings.push(r.phases.greeting * 1000);
    if (r.outcome === 'ok') ok++; else lastReason = r.reason ?? r.outcome;
  }
  return { protocol, tool: `msgha ${service}`, transaction, ok, runs: RUNS, wallMs: summarize(walls), cpuMs: summarize(cpus),
    ...(greetings.length ? { greetingMs: summarize(greetings).median } : {}), ...(lastReason ? { note: lastReason } : {}) };
}

async function measureTool(runner: Runner, protocol: string, tool: string, transaction: string, argv: string[]): Promise<Row | undefined> {
  if (!fs.existsSync(argv[0]!)) return undefined;
  const walls: number[] = [];
  const cpus: number[] = [];
  let ok = 0;
  let lastCode = 0;
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const r = await runner.run(argv);
    if (i < WARMUP) continue;
    walls.push(r.wall);
    cpus.push(r.cpu);
    if (r.code === 0) ok++; else lastCode = r.code;
  }
  return { protocol, tool, transaction, ok, runs: RUNS, wallMs: summarize(walls), cpuMs: summarize(cpus), ...(ok < RUNS ? { note: `exit ${lastCode}` } : {}) };
}

function which(name: string): string {
  for (const dir of (process.env.PATH ?? '/usr/bin').split(':')) {
    const f = path.join(dir, name);
    if (fs.existsSync(f)) return f;
  }
  return `/usr/bin/${name}`;
}

const fmt = (n: number): string => n.toFixed(1);

interface Goal { goal: string; met: boolean; detail: string }

function goals(rows: Row[]): Goal[] {
  const find = (protocol: string, toolStart: string): Row | undefined => rows.find((r) => r.protocol === protocol && r.tool.startsWith(toolStart));
  const out: Goal[] = [];
  for (const proto of ['IMAP', 'POP3'] as const) {
    const ours = find(`${proto} login`, 'msgha');
    const curl = find(`${proto} login`, 'curl');
    if (ours && curl) {
      out.push({ goal: `${proto} login wall ≤ curl`, met: ours.wallMs.median <= curl.wallMs.median, detail: `${fmt(ours.wallMs.median)} vs ${fmt(curl.wallMs.median)} ms` });
      out.push({ goal: `${proto} login CPU ≤ ½ curl`, met: ours.cpuMs.median <= curl.cpuMs.median / 2, detail: `${fmt(ours.cpuMs.median)} vs ${fmt(curl.cpuMs.median)} ms` });
    }
    const banner = find(`${proto} banner`, 'msgha');
    const check = find(`${proto} banner`, 'check_');
    if (banner && check) out.push({ goal: `${proto} banner wall ≤ ½ ${check.tool}`, met: banner.wallMs.median <= check.wallMs.median / 2, detail: `${fmt(banner.wallMs.median)} vs ${fmt(check.wallMs.median)} ms` });
  }
  const ldap = find('LDAP cn=monitor', 'msgha');
  const checkLdap = find('LDAP cn=monitor', 'check_ldap');
  if (ldap && checkLdap) out.push({ goal: 'LDAP cn=monitor wall < check_ldap', met: ldap.wallMs.median < checkLdap.wallMs.median, detail: `${fmt(ldap.wallMs.median)} vs ${fmt(checkLdap.wallMs.median)} ms` });
  return out;
}

export async function run(): Promise<void> {
  const dir = `/tmp/msgha-bpr-${BASE}`;
  const sb: Sandbox = await buildSandbox({ dir, basePort: BASE });
  const runner = new Runner();
  const netrc = fs.mkdtempSync(path.join(os.tmpdir(), 'msgha-netrc-'));
  try {
    await startAll(sb);
    const netrcFile = path.join(netrc, 'netrc');
    fs.writeFileSync(netrcFile, `machine 127.0.0.1 login ${sb.testUser.name} password ${sb.testUser.password}\n`, { mode: 0o600 });
    const user = { user: sb.testUser.name, password: sb.testUser.password };
    const h = '127.0.0.1';
    const p = sb.ports;
    const curl = which('curl');
    const rows: Row[] = [];
    const add = (r: Row | undefined): void => {
      if (!r) return;
      rows.push(r);
      process.stdout.write(`${r.protocol.padEnd(16)} ${r.tool.padEnd(18)} wall ${fmt(r.wallMs.median)}/${fmt(r.wallMs.p90)} ms  cpu ${fmt(r.cpuMs.median)}/${fmt(r.cpuMs.p90)} ms  ok ${r.ok}/${r.runs}\n`);
    };

    add(await measureInProcess('IMAP login', 'LOGIN, EXAMINE INBOX, LOGOUT (imapflow)', 'imap', { host: h, port: p.imap }, user));
    add(await measureTool(runner, 'IMAP login', 'curl', 'AUTHENTICATE PLAIN, EXAMINE INBOX, LOGOUT', [curl, '-s', '--netrc-file', netrcFile, '-X', 'EXAMINE INBOX', `imap://${h}:${p.imap}/`]));
    add(await measureInProcess('IMAP banner', 'greeting, LOGOUT', 'imap', { host: h, port: p.imap }, {}));
    add(await measureTool(runner, 'IMAP banner', 'check_imap', 'greeting', [`${PLUGINS}/check_imap`, '-H', h, '-p', String(p.imap)]));
    add(await measureInProcess('POP3 login', 'USER/PASS, STAT, QUIT', 'pop', { host: h, port: p.pop }, user));
    add(await measureTool(runner, 'POP3 login', 'curl', 'AUTH PLAIN, STAT, QUIT', [curl, '-s', '--netrc-file', netrcFile, '-X', 'STAT', '-I', `pop3://${h}:${p.pop}/`]));
    add(await measureInProcess('POP3 banner', 'greeting, QUIT', 'pop', { host: h, port: p.pop }, {}));
    add(await measureTool(runner, 'POP3 banner', 'check_pop', 'greeting', [`${PLUGINS}/check_pop`, '-H', h, '-p', String(p.pop)]));
    add(await measureInProcess('SMTP', 'banner, EHLO, MAIL, RCPT, RSET, QUIT', 'smtp', { host: h, port: p.smtp }, { recipient: sb.testUser.email }));
    add(await measureTool(runner, 'SMTP', 'check_smtp', 'banner, EHLO, QUIT', [`${PLUGINS}/check_smtp`, '-H', h, '-p', String(p.smtp)]));
    add(await measureInProcess('LMTP', 'banner, LHLO, MAIL, RCPT, RSET, QUIT', 'lmtp', { host: h, port: p.lmtp }, { recipient: sb.testUser.email }));
    add(await measureInProcess('LDAP cn=monitor', 'anonymous, base search cn=monitor, unbind', 'ldap', { host: h, port: p.ldap }, {}));
    add(await measureTool(runner, 'LDAP cn=monitor', 'check_ldap', 'anonymous bind, base search cn=monitor', [`${PLUGINS}/check_ldap`, '-H', h, '-p', String(p.ldap), '-b', 'cn=monitor', '-3']));
    add(await measureInProcess('HTTP webmail', 'GET /, GET /login (Basic; webmail logs in over IMAP)', 'http', { host: h, port: p.http }, user));
    add(await measureInProcess('TCP', 'connect', 'tcp', { host: h, port: p.imap }, {}));
    add(await measureTool(runner, 'TCP', 'check_tcp', 'connect', [`${PLUGINS}/check_tcp`, '-H', h, '-p', String(p.imap)]));

    const g = goals(rows);
    const data = { runs: RUNS, warmup: WARMUP, node: process.version, cpus: os.cpus().length, date: new Date().toISOString(), rows, goals: g };
    const md = [
      `# Probe cost: in-process probes vs monitoring-plugins and curl`,
      '',
      `${RUNS} runs each after ${WARMUP} warm-up runs, against the sandbox daemons on 127.0.0.1 (Node ${process.version}, ${os.cpus().length} CPUs). ` +
      'Client CPU: process.cpuUsage() deltas in-process; wait4() rusage of the child for external tools. Medians / p90 in ms.',
      '',
      mdTable(['protocol', 'tool', 'transaction', 'wall median', 'wall p90', 'CPU median', 'CPU p90', 'server greeting', 'ok'],
        rows.map((r) => [r.protocol, r.tool, r.transaction, fmt(r.wallMs.median), fmt(r.wallMs.p90), fmt(r.cpuMs.median), fmt(r.cpuMs.p90),
          r.greetingMs !== undefined ? fmt(r.greetingMs) : '', `${r.ok}/${r.runs}${r.note ? ` (${r.note})` : ''}`])),
      '',
      '## Goals (issue 3)',
      '',
      mdTable(['goal', 'met', 'ours vs theirs (median)'], g.map((x) => [x.goal, x.met ? 'yes' : 'no', x.detail])),
      '',
      '"server greeting" is the time from connect to the first byte of the greeting, measured by our probes: ' +
      'no client can finish a banner check sooner. Dovecot starts a login process per connection, so its greeting ' +
      'alone takes longer than half of check_imap/check_pop; the banner goals are bounded by the server, not the client.',
    ].join('\n');
    writeResults('probes', data, md);
    process.stdout.write(`\n${md}\n`);
  } finally {
    runner.close();
    fs.rmSync(netrc, { recursive: true, force: true });
    await sb.destroy();
  }
}
