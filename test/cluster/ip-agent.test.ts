// The IP agent in real network namespaces (bridge + two node namespaces + a client namespace,
// 10.213.7.0/24, nothing leaves them): the address carries the lease lifetime and the kernel
// drops it when nobody refreshes it; refresh extends it; duplicate address detection refuses;
// offline removes; a passed serve deadline makes monitor remove it. Checklist row 20 (agent part).
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipType, refreshLifetime } from '../../plugin/agents/ip';
import { setLeaseHooks } from '../../plugin/lease/hooks';
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
  setLeaseHooks({ serveSecondsLeft: () => seconds, epoch: () => 1 });
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
    seconds = 2;
    expect((await ipType.online(ctx(n1))).ok).toBe(true);
    for (let i = 0; i < 3; i++) { await sleep(1000); expect((await refreshLifetime(ctx(n1), 2)).ok).toBe(true); }
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
});
