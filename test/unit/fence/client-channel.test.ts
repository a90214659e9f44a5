/**
 * The fence client's one long-lived channel, against the real fence process (dist/, so build
 * first): every call over one connection (no new descriptor per renewal, measured against the
 * old one-socket-per-call way), a silent fence fails the call without a late reply ever being
 * taken for another call's, a process out of descriptors keeps renewing once it has one again
 * and otherwise leaves the decision to the fence's own kill deadline, and an older fence (one
 * request per connection) still works.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FenceClient } from '../../../plugin/fence/client';
import { logPath, socketPath, type FenceReply } from '../../../plugin/fence/protocol';
import { monotonicMs } from '../../../plugin/lease/clock';
import { createLogger, type LogLevel } from '../../../plugin/core/log';

const DIST_CLIENT = path.resolve(__dirname, '..', '..', '..', 'dist', 'plugin', 'fence', 'client.js');
const WORK = `/tmp/mh-fch-${process.pid}`;
const runDir = path.join(WORK, 'run');
const lines: Array<[LogLevel, string]> = [];
const fence = new FenceClient({ runDir, node: `fch${process.pid}`, log: createLogger('t', 'fence', 'INFO', (l, lv) => { lines.push([lv, l]); }) });
let fencePid: number | undefined;
const servers: net.Server[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };

/** Unix-socket descriptors a process has open. */
function socketFds(pid: number | 'self'): number {
  let n = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try { if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++; } catch { /* closed meanwhile */ }
  }
  return n;
}

/** The client before the channel: a new connection per request. */
function oneShot(dir: string, req: object): Promise<FenceReply> {
  return new Promise((resolve) => {
    let buf = '';
    const sock = net.createConnection(socketPath(dir));
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (d: string) => { buf += d; const nl = buf.indexOf('\n'); if (nl >= 0) { sock.destroy(); resolve(JSON.parse(buf.slice(0, nl)) as FenceReply); } });
    sock.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, reason: e.code }));
  });
}

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

beforeAll(async () => {
  fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const r = await fence.ensureRunning();
  expect(r.ok, r.reason).toBe(true);
  fencePid = r.pid;
});

afterAll(async () => {
  await fence.shutdown(true);
  fence.close();
  for (const s of servers) s.close();
  await sleep(100);
  if (fencePid && alive(fencePid)) process.kill(fencePid, 'SIGKILL');
  fs.rmSync(WORK, { recursive: true, force: true });
});

describe('fence channel', () => {
  it('carries every call over one connection; renew round trip: channel vs one socket per call', async () => {
    expect((await fence.arm('c1', 1, 'n1', 5000)).ok).toBe(true);
    const ours = socketFds('self');
    const theirs = socketFds(fencePid!);
    const channel: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      expect(await fence.renew('c1', 1, 5000)).toEqual({ ok: true });
      channel.push(performance.now() - t);
    }
    // No descriptor came or went on either side: the same connection carried all 200.
    expect(socketFds('self')).toBe(ours);
    expect(socketFds(fencePid!)).toBe(theirs);
    const perCall: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      const now = monotonicMs();
      expect((await oneShot(runDir, { op: 'renew', group: 'c1', epoch: 1, deadlineMono: now + 5000, sentMono: now })).ok).toBe(true);
      perCall.push(performance.now() - t);
    }
    console.log(`fence renew round trip (ms, 200 each): channel p50 ${pct(channel, 50).toFixed(3)} p90 ${pct(channel, 90).toFixed(3)}; one socket per call p50 ${pct(perCall, 50).toFixed(3)} p90 ${pct(perCall, 90).toFixed(3)}`);
    expect((await fence.disarm('c1', 1)).ok).toBe(true);
  });

  it('a fence that stops answering fails the call; its late reply is never taken for the next call', async () => {
    const quick = new FenceClient({ runDir, node: 'x', timeoutMs: 300, log: createLogger('t', 'q', 'ERROR', () => undefined) });
    try {
      expect((await quick.status()).ok).toBe(true);
      process.kill(fencePid!, 'SIGSTOP');
      let r: FenceReply;
      try {
        r = await quick.request({ op: 'disarm', group: 'nosuch', epoch: 9 });
      } finally {
        process.kill(fencePid!, 'SIGCONT');
      }
      expect(r).toMatchObject({ ok: false, reason: 'fence did not answer within 300 ms' });
      // The fence now answers the disarm on the old connection; the status must get its own reply.
      const st = await quick.request({ op: 'status' });
      expect(st.ok).toBe(true);
      expect(st.fencePid).toBe(fencePid);
    } finally {
      quick.close();
    }
  });

  it('out of descriptors: a renewal waits for one instead of failing, and succeeds once there is one', async () => {
    // In a child, so that only it runs out of descriptors (never the test runner).
    const r = await child('recover');
    expect(r.exhausted).toBe('EMFILE');
    expect(r.pendingWhileShort).toBe(true);
    expect(r.reply).toEqual({ ok: true });
    expect(r.log.join('\n')).toMatch(/cannot open a socket .*EMFILE.*not a reason to self-fence.*kill deadline for the renew of e1 epoch 1/);
    expect(r.log.join('\n')).toMatch(/fence channel open again after \d+ ms without descriptors \(EMFILE\)/);
    const events = fs.readFileSync(logPath(runDir), 'utf8');
    expect(events).not.toMatch(/"event":"fired","group":"e1"/);
  });

  it('out of descriptors past the kill deadline: the fence fires at its deadline; the renewal then fails', async () => {
    const r = await child('expire');
    expect(r.exhausted).toBe('EMFILE');
    expect(r.reply.ok).toBe(false);
    expect(r.reply.reason).toMatch(/EMFILE/);
    // The client gave up only once the fence's deadline had passed (a timer may fire up to 1 ms early).
    expect(r.settledMono).toBeGreaterThanOrEqual(r.deadlineMono - 2);
    const fired = fs.readFileSync(logPath(runDir), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((e) => e.event === 'fired' && e.group === 'e2');
    expect(fired?.reason).toBe('deadline');
  });

  it('an older fence (one request per connection) still answers every call; one warning', async () => {
    const dir = path.join(WORK, 'old');
    fs.mkdirSync(dir, { recursive: true });
    let accepted = 0;
    // The old fence-main's connection handler: one reply, then end().
    const old = net.createServer((c) => {
      accepted++;
      let buf = '';
      c.setEncoding('utf8');
      c.on('data', (d: string) => { buf += d; const nl = buf.indexOf('\n'); if (nl >= 0) c.end(JSON.stringify({ ok: true, fencePid: 4242 }) + '\n'); });
      c.on('error', () => undefined);
    });
    servers.push(old);
    await new Promise<void>((r) => old.listen(socketPath(dir), () => r()));
    const warned: string[] = [];
    const c = new FenceClient({ runDir: dir, node: 'o', log: createLogger('t', 'o', 'INFO', (l) => { warned.push(l); }) });
    for (let i = 0; i < 5; i++) expect(await c.running()).toBe(4242);
    expect(accepted).toBe(5);
    expect(warned.filter((l) => /one request per connection/.test(l))).toHaveLength(1);
    c.close();
  });

  it('a channel the fence closed is reopened by the next call', async () => {
    const dir = path.join(WORK, 'closing');
    fs.mkdirSync(dir, { recursive: true });
    let accepted = 0;
    // A fence that keeps the connection but drops it after two replies (as a restart would).
    const srv = net.createServer((c) => {
      accepted++;
      let buf = '';
      let n = 0;
      c.setEncoding('utf8');
      c.on('data', (d: string) => {
        buf += d;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          buf = buf.slice(nl + 1);
          c.write(JSON.stringify({ ok: true, fencePid: 7, keep: true }) + '\n');
          if (++n === 2) setTimeout(() => c.destroy(), 20);
        }
      });
      c.on('error', () => undefined);
    });
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(socketPath(dir), () => r()));
    const c = new FenceClient({ runDir: dir, node: 'k', log: createLogger('t', 'k', 'ERROR', () => undefined) });
    for (let i = 0; i < 2; i++) expect(await c.running()).toBe(7);
    await sleep(200);
    for (let i = 0; i < 2; i++) expect(await c.running()).toBe(7);
    expect(accepted).toBe(2);
    c.close();
  });
});

interface ChildResult {
  exhausted: string;
  pendingWhileShort?: boolean;
  reply: FenceReply;
  log: string[];
  deadlineMono: number;
  settledMono: number;
}

/**
 * A child process with the real client: arms, lowers its own descriptor limit and fills it, drops
 * the channel, then renews. 'recover' frees descriptors after a while; 'expire' keeps them
 * taken until past the kill deadline.
 */
async function child(mode: 'recover' | 'expire'): Promise<ChildResult> {
  const script = `
const fs = require('fs');
const { execFileSync } = require('child_process');
const { FenceClient } = require(${JSON.stringify(DIST_CLIENT)});
const { createLogger } = require(${JSON.stringify(path.resolve(DIST_CLIENT, '..', '..', 'core', 'log.js'))});
const { monotonicMs } = require(${JSON.stringify(path.resolve(DIST_CLIENT, '..', '..', 'lease', 'clock.js'))});
const mode = ${JSON.stringify(mode)};
const group = mode === 'recover' ? 'e1' : 'e2';
const log = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const c = new FenceClient({ runDir: ${JSON.stringify(runDir)}, node: 'child', log: createLogger('c', 'fence', 'INFO', (l) => log.push(l)) });
  const killMs = mode === 'recover' ? 5000 : 700;
  // No later than the deadline the client sends (it reads the clock after us).
  const deadlineMono = monotonicMs() + killMs;
  const armed = await c.arm(group, 1, 'n', killMs);
  if (!armed.ok) throw new Error('arm: ' + armed.reason);
  const hard = fs.readFileSync('/proc/self/limits', 'utf8').split('\\n').find((l) => l.startsWith('Max open files')).trim().split(/\\s+/)[4];
  execFileSync('prlimit', ['--pid', String(process.pid), '--nofile=256:' + hard]);
  c.close(); // the channel is gone: the renewal needs a new descriptor…
  await sleep(50); // (its descriptor is closed by now)
  const fds = [];
  let exhausted = '';
  try { for (;;) fds.push(fs.openSync('/dev/null', 'r')); } catch (e) { exhausted = e.code; } // …and there is none
  let settledMono = 0;
  const p = c.renew(group, 1, killMs).then((r) => { settledMono = monotonicMs(); return r; });
  let pendingWhileShort;
  if (mode === 'recover') {
    await sleep(400);
    pendingWhileShort = settledMono === 0;
    for (const fd of fds.splice(0)) fs.closeSync(fd);
  }
  const reply = await p;
  for (const fd of fds) fs.closeSync(fd);
  if (mode === 'recover') await c.disarm(group, 1);
  c.close();
  process.stdout.write(JSON.stringify({ exhausted, pendingWhileShort, reply, log, deadlineMono, settledMono }));
  process.exit(0);
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;
  const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['-e', script], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
  });
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as ChildResult;
}

