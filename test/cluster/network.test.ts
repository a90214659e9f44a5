// Network failures on a real three-node cluster (docs/network.md): the holder's switch port down
// (no carrier) or detached (carrier up, silent), a standby's link down, the standbys on an island
// without the client network, and a holder whose VIP no longer answers the network while its own
// checks pass. Each group has a NIC resource whose ping host is the client namespace (standing in
// for the gateway); the standbys probe the mail services through the VIP every second. The
// checker of failover.test.ts runs throughout: never two nodes holding a VIP, mount or daemons.
// Needs root and `npm run build`.
import { describe, expect, it } from 'vitest';
import { L, NODES, clusterLifecycle, groupView, healthy, log, makeCluster, mono, msgha, sleep, summary, takeoverAfter, violationsSince } from './cluster-env';

const c = makeCluster();
const lan = () => c.lan!;
const others = (h: string): string[] => NODES.filter((n) => n !== h);
/** The view a node publishes says its link of the group is up (true) / down (false). */
const linkOf = (node: string, group = 'mail'): boolean | null | undefined => c.views()[node]?.links?.find((l) => l.group === group)?.up;
/** Detection (three 1 s link checks) + handoff + service start on this 2-core machine. */
const MOVE_BOUND = 20_000;

clusterLifecycle(c);

/** The old holder, once its link is back: a standby again — not FAULTED, contending, holding nothing. */
async function standbyAgain(h: string, holder: string): Promise<void> {
  expect(await c.waitFor(() => linkOf(h) === true, 15_000, 200), `link of ${h} not up again: ${JSON.stringify(summary(c))}`).toBe(true);
  expect(await c.waitFor(() => { const v = groupView(c, h, 'mail'); return !!v && !v.faulted && v.contending; }, 15_000, 200),
    `${h} not a standby again: ${JSON.stringify(groupView(c, h, 'mail'))}`).toBe(true);
  await sleep(L);
  expect(c.onlineAt('mail')).toBe(holder);
  expect(c.monitor!.holders('vip', 'mail')).toEqual([holder]);
}

describe('network failures (fast profile, NIC resources, remote probes)', () => {
  it.each<[string, string, (h: string, on: boolean) => void]>([
    ["holder's switch port down (no carrier): the group moves; IMAP answers on the VIP; the old holder comes back as a standby and takes nothing",
      'switch port down', (h, on) => lan().portDown(h, on)],
    ["holder's port detached from the switch (carrier up, nothing passes): the group moves by the link's ping check",
      'port detached', (h, on) => lan().detach(h, on)],
  ])('%s', async (_name, fault, cut) => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    const t0 = mono();
    cut(h, true);
    let to: string | undefined;
    try {
      const ms = await takeoverAfter(c, h, t0, MOVE_BOUND);
      expect(await c.waitFor(() => { to = c.onlineAt('mail'); return !!to && to !== h; }, 10_000, 100)).toBe(true);
      log(`${fault} on ${h} → IMAP LOGIN through the VIP on ${to} after ${ms.toFixed(0)} ms; ${h} says: ${JSON.stringify(groupView(c, h, 'mail')?.lastFailover ?? null)}`);
    } finally { cut(h, false); }
    await standbyAgain(h, to!);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  it("a standby's link down: no move; the standby is refused as a switch target, with the reason, until its link is up", async () => {
    const { mail: h } = await healthy(c);
    const s = others(h)[0]!;
    const v0 = c.monitor!.violations.length;
    lan().portDown(s, true);
    try {
      expect(await c.waitFor(() => linkOf(s) === false, 15_000, 200), `${s} never published its link down: ${JSON.stringify(c.views()[s])}`).toBe(true);
      // The holder reads the views once per publish period (500 ms here): let it read this one.
      await sleep(1500);
      const r = await c.msgha(h, ['switch', `mail:${s}`]);
      log(`switch to ${s} with its link down: exit ${r.code}: ${(r.stdout + r.stderr).trim().slice(0, 300)}`);
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/link eth0 is down/);
      await sleep(3000);
      expect(c.onlineAt('mail')).toBe(h);
    } finally { lan().portDown(s, false); }
    expect(await c.waitFor(() => linkOf(s) === true, 15_000, 200)).toBe(true);
    // Every node reads the views every publish period: give the holder one to see the link back.
    await sleep(1500);
    await msgha(c, h, ['switch', `mail:${s}`]);
    expect(await c.waitFor(() => c.onlineAt('mail') === s, 30_000, 200), JSON.stringify(summary(c))).toBe(true);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  it('every standby on an island (they see each other, not the clients or the holder): no move', async () => {
    const { mail: h } = await healthy(c);
    const island = others(h);
    const v0 = c.monitor!.violations.length;
    const e0 = groupView(c, h, 'mail')!.epoch;
    lan().toIsland(island, true);
    try {
      // Their remote probes fail from the first cycle; three are needed, plus the publish delay: wait well past.
      await sleep(10_000);
      const gv = groupView(c, h, 'mail')!;
      log(`standbys ${island.join(', ')} on an island: mail on ${c.onlineAt('mail')}, epoch ${gv.epoch}, verdict ${JSON.stringify(gv.unreachable ?? null)}; links ${island.map((n) => `${n} ${linkOf(n)}`).join(', ')}`);
      expect(c.onlineAt('mail')).toBe(h);
      expect(gv.epoch).toBe(e0);
      expect((await c.imapLogin('mail')).ok).toBe(true);
    } finally { lan().toIsland(island, false); }
    expect(violationsSince(c, v0)).toEqual([]);
  });

  it("holder's VIP unreachable from the network while its own checks pass (replies from the VIP dropped): the standbys' remote probes agree and the group moves", async () => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    const vip = c.vipOf('mail');
    const n = c.node(h);
    // Policy routing: anything the node sends from the VIP goes to a blackhole; its own address
    // (the link's ping, the shared directory) and traffic inside the node are untouched.
    const rule = ['rule', 'add', 'from', vip, 'lookup', '213', 'priority', '100'];
    expect((await n.exec(['ip', 'route', 'add', 'blackhole', 'default', 'table', '213'])).code).toBe(0);
    expect((await n.exec(['ip', ...rule])).code).toBe(0);
    const t0 = mono();
    let to: string | undefined;
    try {
      const ms = await takeoverAfter(c, h, t0, 30_000);
      expect(await c.waitFor(() => { to = c.onlineAt('mail'); return !!to && to !== h; }, 10_000, 100)).toBe(true);
      const fo = groupView(c, h, 'mail')?.lastFailover;
      log(`VIP of ${h} unreachable from the network → IMAP through the VIP on ${to} after ${ms.toFixed(0)} ms; ${h}: ${JSON.stringify(fo ?? null)}`);
      expect(fo?.kind).toBe('network');
      expect(groupView(c, h, 'mail')?.faulted).toBe(false);
    } finally {
      await n.exec(['ip', 'rule', 'del', 'from', vip, 'lookup', '213', 'priority', '100']);
      await n.exec(['ip', 'route', 'flush', 'table', '213']);
    }
    await sleep(L);
    expect(c.onlineAt('mail')).toBe(to);
    expect(violationsSince(c, v0)).toEqual([]);
  });
});
