// The IP agent in real network namespaces (bridge + two node namespaces + a client namespace,
// 10.213.7.0/24, nothing leaves them): the address carries the lease lifetime and the kernel
// drops it when nobody refreshes it; refresh extends it; duplicate address detection refuses;
// offline removes; a passed serve deadline makes monitor remove it.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipType, refreshLifetime } from '../../plugin/resource-types/ip';
import { monotonicMs } from '../../plugin/lease/clock';
import { setLeaseHooks } from '../../plugin/lease/hooks';
import { guardedIpArgv, SLACK_MS } from '../../plugin/resource-types/vip-guard';
import { agentContext, resolvedResource } from '../contract/agent-context';
import { addrs, Lan } from './netns';

const VIP = '10.213.7.50';
let lan: Lan;
let n1: string, n2: string, client: string;
let seconds: number | 'forever' = 'forever';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ctx = (ns: string) => agentContext(resolvedResource('IP', 'vip', { Address: `${VIP}/24`, Device: 'eth0', ContainerName: ns }, 'mail'));
const has = (ns: string): boolean => addrs(ns).some((a) => a.local === VIP);

beforeAll(() => {
  lan = new Lan(`i${process.pid % 1000}`, 7);
  n1 = lan.host('n1', 1);
  n2 = lan.host('n2', 2);
  client = lan.host('cl', 100);
  // `seconds` of serve time from now (0: the deadline just passed)
  setLeaseHooks({ serveUntilMono: () => seconds === 'forever' ? 'forever' : monotonicMs() + seconds * 1000, epoch: () => 1 });
});

afterAll(() => {
  setLeaseHooks(undefined);
  lan?.destroy();
});

describe('IP agent in network namespaces', () => {
  it('online adds the VIP with the lease lifetime (rounded down); the kernel drops it when not refreshed', async () => {
    seconds = 2;
    const r = await ipType.online(ctx(n1));
    expect(r).toMatchObject({ ok: true });
    const a = addrs(n1).find((x) => x.local === VIP)!;
    expect(a.valid).toBeLessThanOrEqual(2);
    expect((await ipType.monitor(ctx(n1), { deep: false })).state).toBe('ONLINE');
    // the client reaches it through the bridge
    execFileSync('ip', ['netns', 'exec', client, 'ping', '-c', '1', '-W', '1', VIP]);
    await sleep(3300);
    expect(has(n1)).toBe(false);
    expect((await ipType.monitor(ctx(n1), { deep: false })).state).toBe('OFFLINE');
  });

  it('refreshLifetime on renewal keeps it alive past its first lifetime', async () => {
    seconds = 3;
    expect((await ipType.online(ctx(n1))).ok).toBe(true);
    for (let i = 0; i < 3; i++) { await sleep(1000); expect((await refreshLifetime(ctx(n1), { lease: monotonicMs() + 2500 })).ok).toBe(true); }
    expect(has(n1)).toBe(true);
    expect((await ipType.offline(ctx(n1))).ok).toBe(true);
  });

  it('duplicate address detection: a second node refuses while the first holds the VIP (recovery move)', async () => {
    seconds = 'forever';
    expect((await ipType.online(ctx(n1))).ok).toBe(true);
    const r = await ipType.online(ctx(n2));
    expect(r).toMatchObject({ ok: false, recovery: 'move' });
    expect(r.reason).toMatch(/another host already answers for 10\.213\.7\.50/);
    expect(has(n2)).toBe(false);
  });

  it('offline removes it (idempotent), then the other node may take it', async () => {
    expect((await ipType.offline(ctx(n1))).ok).toBe(true);
    expect(has(n1)).toBe(false);
    expect((await ipType.offline(ctx(n1))).ok).toBe(true);
    expect(await ipType.online(ctx(n2))).toMatchObject({ ok: true });
    expect(has(n2)).toBe(true);
    expect((await ipType.clean(ctx(n2))).ok).toBe(true);
    expect(has(n2)).toBe(false);
  });

  it('monitor removes the VIP itself once the serve deadline has passed (layer 3)', async () => {
    seconds = 'forever';
    expect((await ipType.online(ctx(n1))).ok).toBe(true);
    seconds = 0;
    const m = await ipType.monitor(ctx(n1), { deep: false });
    expect(m.state).toBe('OFFLINE');
    expect(m.reason).toMatch(/serve deadline passed/);
    expect(has(n1)).toBe(false);
    expect(await ipType.online(ctx(n1))).toMatchObject({ ok: false });
  });

  it('a missing device is a move, a bad address a configuration error', async () => {
    const bad = agentContext(resolvedResource('IP', 'vip', { Address: `${VIP}/24`, Device: 'eth9', ContainerName: n1 }, 'mail'));
    seconds = 5;
    expect(await ipType.online(bad)).toMatchObject({ ok: false, recovery: 'move' });
    const worse = agentContext(resolvedResource('IP', 'vip', { Address: '10.213.7.300/24', Device: 'eth0' }, 'mail'));
    expect(await ipType.online(worse)).toMatchObject({ ok: false, recovery: 'configuration' });
  });

  it('the kernel ADDS a missing address on `ip addr change` (why refreshes go through the guard)', () => {
    expect(has(n1)).toBe(false);
    execFileSync('ip', ['netns', 'exec', n1, 'ip', 'addr', 'change', `${VIP}/24`, 'dev', 'eth0', 'valid_lft', '1', 'preferred_lft', '1']);
    expect(has(n1)).toBe(true);
    execFileSync('ip', ['netns', 'exec', n1, 'ip', 'addr', 'del', `${VIP}/24`, 'dev', 'eth0']);
  });

  it('a guarded refresh extends a present address and never adds a missing one', async () => {
    seconds = 'forever';
    const none = await refreshLifetime(ctx(n1), { lease: monotonicMs() + 3000 });
    expect(none).toMatchObject({ ok: true });
    expect(none.reason).toMatch(/not on eth0: nothing to refresh/);
    expect(has(n1)).toBe(false);
    seconds = 4;
    expect(await ipType.online(ctx(n1))).toMatchObject({ ok: true });
    const r = await refreshLifetime(ctx(n1), { lease: monotonicMs() + 4000 });
    expect(r).toMatchObject({ ok: true });
    expect(addrs(n1).find((a) => a.local === VIP)!.valid).toBe(3);
    expect((await ipType.offline(ctx(n1))).ok).toBe(true);
  });

  it('a refresh frozen between its presence check and its change, thawed after the lifetime ran out, never brings the VIP back', async () => {
    // `ip` for the guard: the presence check runs the real one, then stops the guard (its
    // parent) right after answering "present" — the freeze of the issue, at the worst moment.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'mh-ipstop-'));
    fs.writeFileSync(path.join(bin, 'ip'), '#!/bin/sh\nif [ "$1" = "-o" ]; then /usr/sbin/ip "$@"; kill -STOP $PPID; exit 0; fi\nexec /usr/sbin/ip "$@"\n', { mode: 0o755 });
    try {
      execFileSync('ip', ['netns', 'exec', n1, 'ip', 'addr', 'add', `${VIP}/24`, 'dev', 'eth0', 'valid_lft', '1', 'preferred_lft', '1']);
      const guard = spawn('ip', ['netns', 'exec', n1, ...guardedIpArgv('change', `${VIP}/24`, 'eth0', monotonicMs() + 10_000)], {
        env: { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin` }, stdio: 'ignore',
      });
      const exited = new Promise<NodeJS.Signals | number | null>((r) => guard.on('exit', (code, sig) => r(sig ?? code)));
      const stopped = (): boolean => { try { return /^State:\s+T/m.test(fs.readFileSync(`/proc/${guard.pid}/status`, 'utf8')); } catch { return false; } };
      for (let i = 0; i < 200 && !stopped(); i++) await sleep(10);
      expect(stopped()).toBe(true);
      // the kernel removes the address once its 1 s lifetime ends (its expiry timer is coarse)
      for (let i = 0; i < 60 && has(n1); i++) await sleep(100);
      expect(has(n1)).toBe(false);
      await sleep(SLACK_MS);
      guard.kill('SIGCONT');
      expect(await exited).toBe('SIGALRM');
      for (let i = 0; i < 10; i++) { expect(has(n1)).toBe(false); await sleep(20); }
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
      try { execFileSync('ip', ['netns', 'exec', n1, 'ip', 'addr', 'del', `${VIP}/24`, 'dev', 'eth0'], { stdio: 'ignore' }); } catch { /* gone */ }
    }
  });
});
