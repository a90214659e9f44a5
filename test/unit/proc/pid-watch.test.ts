// The exit watch of known pids (pid-watch.ts): noticed within a poll, one timer for all watches.
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchPids } from '../../../plugin/proc/pid-watch';
import { isAlive } from '../../../plugin/proc/table';
import { makeProcDir, removeProcDir, start, until } from './fixture';

let dir: string;

beforeAll(async () => { dir = await makeProcDir(); });
afterAll(removeProcDir);

describe('watchPids', () => {
  it('notices the exit of a known pid within 300 ms', async () => {
    const a = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['306']);
    const b = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['307']);
    await until(async () => isAlive(b.pid!));
    const exits: { pid: number; at: number }[] = [];
    const w = watchPids([a.pid!, b.pid!], (pid) => exits.push({ pid, at: Date.now() }));
    await new Promise((r) => setTimeout(r, 400));
    expect(exits).toEqual([]);
    const killedAt = Date.now();
    process.kill(a.pid!, 'SIGKILL');
    await until(async () => exits.length === 1, 1000);
    expect(exits[0]!.pid).toBe(a.pid);
    expect(exits[0]!.at - killedAt).toBeLessThan(300);
    w.stop();
  });
});

describe('watchPids (shared timer)', () => {
  it('serves several watches with their own intervals; stop() inside a callback ends that watch only', async () => {
    const a = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['310']);
    const b = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['311']);
    const c = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['312']);
    await until(async () => (await isAlive(a.pid!)) && (await isAlive(b.pid!)) && (await isAlive(c.pid!)));
    const seen: string[] = [];
    const w1 = watchPids([a.pid!, b.pid!], (pid) => { seen.push(`w1:${pid}`); w1.stop(); }, 50);
    const w2 = watchPids([c.pid!], (pid) => seen.push(`w2:${pid}`), 200);
    process.kill(a.pid!, 'SIGKILL');
    process.kill(b.pid!, 'SIGKILL');
    await until(async () => seen.length >= 1, 1000);
    await new Promise((r) => setTimeout(r, 150));
    // Both exited in the same sweep, but w1 was stopped by its first callback.
    expect(seen).toHaveLength(1);
    expect([`w1:${a.pid}`, `w1:${b.pid}`]).toContain(seen[0]);
    const killedAt = Date.now();
    process.kill(c.pid!, 'SIGKILL');
    await until(async () => seen.length === 2, 1000);
    expect(seen[1]).toBe(`w2:${c.pid}`);
    expect(Date.now() - killedAt).toBeLessThan(450);
    w2.stop();
  });

  it('reports a pid that is already gone at once, and nothing after stop()', async () => {
    const exits: number[] = [];
    const w = watchPids([2 ** 22 + 12345], (pid) => exits.push(pid));
    await until(async () => exits.length === 1, 500);
    w.stop();
    const d = start(path.join(dir, 'r1', 'bin', 'fakedaemon'), ['313']);
    await until(async () => isAlive(d.pid!));
    const late: number[] = [];
    const w2 = watchPids([d.pid!], (pid) => late.push(pid), 20);
    w2.stop();
    process.kill(d.pid!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 150));
    expect(late).toEqual([]);
  });
});
