// The real fence process (dist/plugin/fence/fence-main.js, started detached by the client):
// deadline kill, renew, refusal to re-arm a fired epoch, spawn and adopt (cgroup v2 when
// writable here, else process groups), suspend detection through a fake boottime source,
// clock-namespace check. Needs `npm run build`.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FenceClient } from '../../../plugin/fence/client';
import { logPath } from '../../../plugin/fence/protocol';

const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mh-fence-'));
const uptimeFile = path.join(runDir, 'uptime');
const realUptime = (): number => Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
let uptimeOffset = 0;
const writeUptime = (): void => fs.writeFileSync(uptimeFile, `${(realUptime() + uptimeOffset).toFixed(2)} 0.00\n`);
let ticker: NodeJS.Timeout;
const fence = new FenceClient({ runDir, node: `t${process.pid}`, uptimeFile });
let fencePid: number | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Alive and not a zombie (an exited child of ours or of a subreaper may wait to be reaped). */
const alive = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch { return false; }
};
const events = (): Array<Record<string, unknown>> => fs.readFileSync(logPath(runDir), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  writeUptime();
  ticker = setInterval(writeUptime, 20);
  const r = await fence.ensureRunning();
  expect(r.ok).toBe(true);
  fencePid = r.pid;
});

afterAll(async () => {
  clearInterval(ticker);
  await fence.shutdown(true);
  await sleep(100);
  if (fencePid && alive(fencePid)) process.kill(fencePid, 'SIGKILL');
  fs.rmSync(runDir, { recursive: true, force: true });
});

describe('fence process', () => {
  it('runs detached: its own session, not our child', () => {
    const stat = fs.readFileSync(`/proc/${fencePid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    expect(Number(f[1])).not.toBe(process.pid); // ppid: re-parented (setsid -f)
    expect(Number(f[3])).toBe(fencePid); // session leader
  });

  it('kills a spawned service at the deadline, within 50 ms, and refuses to re-arm that epoch', async () => {
    expect((await fence.arm('g1', 5, 'n5', 300)).ok).toBe(true);
    const sp = await fence.spawn('g1', ['/bin/sh', '-c', 'sleep 100 & exec sleep 100']);
    expect(sp.ok).toBe(true);
    await sleep(100);
    expect(alive(sp.pid!)).toBe(true);
    await sleep(400);
    expect(alive(sp.pid!)).toBe(false);
    const fired = events().find((e) => e.event === 'fired' && e.group === 'g1')!;
    expect(fired.lateMs as number).toBeLessThan(50);
    const again = await fence.arm('g1', 5, 'n5', 1000);
    expect(again).toMatchObject({ ok: false });
    expect(again.reason).toMatch(/already fired for epoch 5 of g1: refusing to arm epoch 5/);
    expect((await fence.arm('g1', 6, 'n6', 1000)).ok).toBe(true);
    await fence.disarm('g1', 6);
  });

  it('renewals keep the group alive; disarm stops the deadline', async () => {
    expect((await fence.arm('g2', 1, 'x', 200)).ok).toBe(true);
    const sp = await fence.spawn('g2', ['/bin/sleep', '100']);
    for (let i = 0; i < 6; i++) { await sleep(100); expect(await fence.renew('g2', 1, 200)).toEqual({ ok: true }); }
    expect(alive(sp.pid!)).toBe(true);
    expect((await fence.disarm('g2', 1)).ok).toBe(true);
    await sleep(400);
    expect(alive(sp.pid!)).toBe(true);
    process.kill(sp.pid!, 'SIGKILL');
  });

  it('adopt covers a process started elsewhere and its children (cgroup: also later ones)', async () => {
    const st = await fence.status();
    const child = spawn('/bin/sh', ['-c', 'sleep 100 & sleep 100'], { detached: true, stdio: 'ignore' });
    await sleep(100);
    expect((await fence.arm('g3', 1, 'x', 300)).ok).toBe(true);
    expect((await fence.adopt('g3', child.pid!)).ok).toBe(true);
    const kids = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ').map(Number);
    await sleep(500);
    expect(alive(child.pid!)).toBe(false);
    for (const k of kids) expect(alive(k)).toBe(false);
    expect(['cgroup', 'pgid']).toContain(st.mode);
  });

  it('a suspend (boottime jumps ahead of monotonic) fires every armed group at once', async () => {
    expect((await fence.arm('g4', 1, 'x', 60_000)).ok).toBe(true);
    const sp = await fence.spawn('g4', ['/bin/sleep', '100']);
    await sleep(100);
    uptimeOffset += 10; // the machine "slept" 10 s
    await sleep(150);
    expect(alive(sp.pid!)).toBe(false);
    expect(events().some((e) => e.event === 'fired' && e.group === 'g4' && String(e.reason).startsWith('suspend'))).toBe(true);
  });

  it('refuses a client whose monotonic clock is not its own', async () => {
    const r = await fence.request({ op: 'arm', group: 'g5', epoch: 1, nonce: 'x', deadlineMono: 1e12, sentMono: 1e12 - 1000 });
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/another time namespace/);
  });

  it('an unreachable fence is a value, not an exception', async () => {
    const none = new FenceClient({ runDir: path.join(runDir, 'nope'), node: 'x', timeoutMs: 300 });
    const r = await none.renew('g', 1, 1000);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/fence unreachable/);
  });
});
