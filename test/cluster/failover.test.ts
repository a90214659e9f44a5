// The full product on a three-node cluster on this machine (see cluster-env.ts and
// test/fixtures/cluster): real namespaces, one PM2 daemon + coordinator + agents + fence per node,
// the sandbox suite on loop-mounted shared disks, the VIP moving between nodes. Every scenario
// checks the invariant from the machine's one CLOCK_MONOTONIC — never two nodes holding a
// group's VIP, mount or daemons at the same instant — and mail acknowledged with 250 must be in
// the mailbox afterwards. Each scenario is one failure of docs/lease.md ("What happens when
// something fails"); the lease alone on three nodes is in lease-cluster.test.ts. Needs root and
// `npm run build`.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { procState } from '../fixtures/cluster/node';
import {
  CRASH_BOUND, F, L, NODES, T, clusterLifecycle, daemonPid, diag, fenceLog, groupView, healthy, imapBackAfter, log, takeoverAfter, makeCluster, mono, msgha, sleep, summary, violationsSince,
} from './cluster-env';

const c = makeCluster();
/**
 * MH_REPEAT=N registers the scenarios marked `repeated` N times (suffix #1…#N), for campaigns on
 * one cluster: `MH_REPEAT=20 npx vitest run --config test/vitest.config.ts test/cluster/failover.test.ts -t '#'`.
 * The RestartLimit scenario repeats too: each repetition clears the node it faulted, which
 * empties that node's RestartLimit window again.
 */
const REPEAT = Math.max(1, Number(process.env.MH_REPEAT) || 1);
const repeated = (name: string, fn: () => Promise<void>): void => {
  for (let i = 1; i <= REPEAT; i++) it(REPEAT > 1 ? `${name} #${i}` : name, fn);
};
const other = (not: string[]): string => NODES.find((n) => !not.includes(n) && c.node(n).up())!;
/** The new holder's own view says ONLINE (published a moment after it answers IMAP). */
const movedOff = (h: string): Promise<boolean> => c.waitFor(() => { const on = c.onlineAt('mail'); return !!on && on !== h; }, 10_000, 100);
/** Service start after a claim on this 2-core machine, plus scheduling slack. */
const START_SLACK = 8000;
/** Where a node's read-only view of the shared directory is prepared (readOnlyOver). */
const roStage = (n: string): string => path.join(c.base, 'ro-stage', n);

clusterLifecycle(c);

describe('failover on a real three-node cluster (fast profile)', () => {
  it('group dependency: dir comes online first, mail after it; each on its first node; status from any node', async () => {
    // Placement at start is by who claims first once dir is up (nodes start one after another).
    log(`placement at start: dir on ${c.onlineAt('dir')}, mail on ${c.onlineAt('mail')} (systemList dir: mx2,mx1,mx3; mail: mx1,mx2,mx3)`);
    expect(c.onlineAt('dir')).toBeDefined();
    expect(c.onlineAt('mail')).toBeDefined();
    const dirFirst = c.monitor!.firstHold('daemons', 'dir', 0)!;
    const mailFirst = c.monitor!.firstHold('daemons', 'mail', 0)!;
    expect(dirFirst).toBeLessThan(mailFirst);
    const st = JSON.parse(await msgha(c, 'mx3', ['status', '--json'])) as unknown;
    const text = JSON.stringify(st);
    for (const s of ['mail', 'dir', 'mx1', 'mx2']) expect(text).toContain(s);
    expect(violationsSince(c, 0)).toEqual([]);
  });

  it('node kill: every process of the holder SIGKILLed → IMAP LOGIN on the VIP from another node; acknowledged mail kept', async () => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    expect((await c.mailLoop('mail', `kill${Date.now()}`, 150)).ok).toBe(true);
    await sleep(1500);
    const t0 = await c.killNode(h);
    const ms = await takeoverAfter(c, h, t0, 40_000);
    await c.waitFor(() => !!c.onlineAt('mail'), 20_000);
    const to = c.onlineAt('mail');
    log(`node kill of ${h} → first IMAP LOGIN through the VIP from ${to}: ${ms.toFixed(0)} ms (bound 2P+L+T_io = ${CRASH_BOUND} ms + service start)`);
    expect(to).not.toBe(h);
    expect(ms).toBeLessThan(CRASH_BOUND + START_SLACK);
    await sleep(1500);
    const loop = await c.mailLoopStop();
    expect(loop.acked!.length).toBeGreaterThan(5);
    // Deferred deliveries (LMTP down during the takeover) are retried every few seconds.
    let missing: string[] = [];
    await c.waitFor(async () => {
      const inbox = await c.imapLogin('mail', { subjects: true });
      missing = loop.acked!.filter((s) => !(inbox.subjects ?? []).includes(s));
      return missing.length === 0;
    }, 30_000, 1000);
    log(`mail: ${loop.acked!.length} acknowledged with 250, ${loop.failed} refused during the takeover, ${missing.length} missing`);
    expect(missing).toEqual([]);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  it('the killed node rejoins as a follower and claims nothing', async () => {
    const down = NODES.find((n) => !c.node(n).up());
    const holder = c.onlineAt('mail');
    const v0 = c.monitor!.violations.length;
    if (down) await c.startNode(down);
    await sleep(2 * L + 2000);
    expect(c.onlineAt('mail')).toBe(holder);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  it('PM2 daemon of the holder SIGKILLed (agents die, daemons orphaned) → fenced before any takeover', async () => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    const fired0 = fenceLog(c, h).filter((e) => e.event === 'fired').length;
    const god = c.pm2DaemonPid(h)!;
    expect(god).toBeGreaterThan(0);
    const t0 = mono();
    process.kill(god, 'SIGKILL');
    const ms = await takeoverAfter(c, h, t0, 40_000);
    await c.waitFor(() => !!c.onlineAt('mail') && c.onlineAt('mail') !== h, 20_000);
    const to = c.onlineAt('mail')!;
    log(`PM2 daemon of ${h} killed → IMAP on the VIP from ${to} after ${ms.toFixed(0)} ms`);
    expect(to).not.toBe(h);
    expect(fenceLog(c, h).filter((e) => e.event === 'fired').length).toBeGreaterThan(fired0);
    const released = c.monitor!.lastRelease('daemons', 'mail', h)!;
    const taken = c.monitor!.firstHold('daemons', 'mail', t0, to)!;
    try {
      expect(released).toBeLessThan(taken);
      expect(released - t0).toBeLessThanOrEqual(F + 1000);
      // Nobody is left on the node to unmount the disk: the fence kills processes only.
      log(`after the PM2 kill, ${h} still mounts: ${c.node(h).mountPoints().filter((m) => m.startsWith(c.base)).join(', ') || 'nothing of the cluster'}`);
      expect(violationsSince(c, v0)).toEqual([]);
    } finally {
      // The operator's answer to a node whose PM2 died: reboot it (clears what was left mounted).
      await c.killNode(h);
    }
  });

  repeated('resource fault beyond RestartLimit → the group fails over; the node stays FAULTED until clear', async () => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    const first = daemonPid(c, h, 'mail', 'imapd')!;
    process.kill(first, 'SIGKILL');
    // RestartLimit 1: the first crash is restarted in place
    const restarted = await c.waitFor(() => { const p = daemonPid(c, h, 'mail', 'imapd'); return !!p && p !== first; }, 20_000, 100);
    expect(restarted, `first crash not restarted in place on ${h}: ${JSON.stringify(groupView(c, h, 'mail')?.lastFailover ?? summary(c))}`).toBe(true);
    // the holder's view says ONLINE again one publish period after the restart
    await c.waitFor(() => c.onlineAt('mail') === h, 5000, 50);
    expect(c.onlineAt('mail'), `after the first crash: ${JSON.stringify(summary(c))}; ${diag(c, h)}`).toBe(h);
    await sleep(1500);
    const t0 = mono();
    process.kill(daemonPid(c, h, 'mail', 'imapd')!, 'SIGKILL');
    expect(await c.waitFor(() => !!c.onlineAt('mail') && c.onlineAt('mail') !== h, 40_000, 100)).toBe(true);
    const ms = await imapBackAfter(c, t0, 30_000);
    log(`second IMAP crash on ${h} → failover to ${c.onlineAt('mail')}: IMAP back after ${ms.toFixed(0)} ms; view of ${h}: ${JSON.stringify(groupView(c, h, 'mail')?.lastFailover ?? null)}`);
    expect(await c.waitFor(() => !!groupView(c, h, 'mail')?.faulted, 10_000)).toBe(true);
    await msgha(c, h, ['clear', 'mail']);
    expect(await c.waitFor(() => groupView(c, h, 'mail')?.faulted === false, 10_000)).toBe(true);
    // Other nodes judge a switch target from the views they last read (every ≤ 2 s).
    await sleep(2500);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  repeated('switch to a named node: clean offline, handoff, the target serves; nobody else claims', async () => {
    const { mail: h } = await healthy(c);
    const target = other([h]);
    const v0 = c.monitor!.violations.length;
    const epoch0 = groupView(c, h, 'mail')!.epoch!;
    const t0 = mono();
    await msgha(c, h, ['switch', `mail:${target}`]);
    const ms = await takeoverAfter(c, h, t0, 30_000);
    expect(await c.waitFor(() => c.onlineAt('mail') === target, 10_000)).toBe(true);
    log(`switch mail ${h} → ${target}: IMAP back after ${ms.toFixed(0)} ms (goal ≤ 1500 ms)`);
    expect(groupView(c, target, 'mail')!.epoch).toBe(epoch0 + 1);
    // The VIP stayed on the old holder (refreshed) until its daemons were down, then moved.
    const daemonsDown = c.monitor!.lastRelease('daemons', 'mail', h)!;
    const vipDown = c.monitor!.lastRelease('vip', 'mail', h)!;
    log(`switch: daemons on ${h} down ${(daemonsDown - t0).toFixed(0)} ms, VIP removed ${(vipDown - t0).toFixed(0)} ms after the command`);
    expect(vipDown).toBeGreaterThanOrEqual(daemonsDown - 40); // the checker samples daemons every 20 ms
    await sleep(L + 500);
    expect(c.onlineAt('mail')).toBe(target);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  repeated('holder coordinator SIGKILLed and its VIP lapsed before PM2 restarts it: the address is back at once, nothing restarts, the group stays', async () => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    const node = c.node(h);
    const before = Object.fromEntries(['imapd', 'popd', 'tcp_lmtp_server'].map((d) => [d, daemonPid(c, h, 'mail', d)]));
    expect(before.imapd).toBeGreaterThan(0);
    const coord = node.find('plugin/main.js');
    expect(coord.length).toBeGreaterThan(0);
    for (const p of coord) process.kill(p, 'SIGKILL');
    // What a lapse does, at once and for sure (the kernel's own expiry is coarse): the address goes.
    const vip = c.groups.get('mail')!.vip;
    await node.exec(['ip', 'addr', 'del', `${vip}/24`, 'dev', 'eth0']);
    const t0 = mono();
    await c.waitFor(() => !c.monitor!.holders('vip', 'mail').includes(h), 2000, 5); // the checker saw it go
    expect(await c.waitFor(() => c.monitor!.holders('vip', 'mail').includes(h), 15_000, 20)).toBe(true);
    const back = mono() - t0;
    log(`coordinator of ${h} killed, VIP removed: back on ${h} after ${back.toFixed(0)} ms (the restarted coordinator resumed the lease)`);
    await sleep(5000); // deep checks through the VIP run every few seconds
    expect(c.onlineAt('mail')).toBe(h);
    const after = Object.fromEntries(['imapd', 'popd', 'tcp_lmtp_server'].map((d) => [d, daemonPid(c, h, 'mail', d)]));
    expect(after).toEqual(before);
    // The restarted coordinator counts restarts from 0 (the old one's count is gone with it).
    const restarts = (groupView(c, h, 'mail')?.resources ?? []).reduce((n, r) => n + r.restarts, 0);
    expect(restarts).toBe(0);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  it('freeze during maintenance: a stopped daemon is left alone; unfreeze resumes monitoring', async () => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    await msgha(c, h, ['freeze', 'mail']);
    expect(await c.waitFor(() => !!groupView(c, h, 'mail')?.frozen, 5000)).toBe(true);
    const sb = c.groups.get('mail')!.sandbox;
    const stop = await c.node(h).exec([path.join(sb.msgRoot, 'lib', 'msstart'), '-k', 'imap']);
    expect(stop.code, stop.stderr).toBe(0);
    await sleep(5000);
    expect(daemonPid(c, h, 'mail', 'imapd')).toBeUndefined();
    expect((await c.imapLogin('mail')).ok).toBe(false);
    expect(c.monitor!.holders('vip', 'mail')).toEqual([h]);
    const start = await c.node(h).exec([path.join(sb.msgRoot, 'lib', 'msstart'), 'imap']);
    expect(start.code, start.stderr).toBe(0);
    await msgha(c, h, ['unfreeze', 'mail']);
    expect(await c.waitFor(() => groupView(c, h, 'mail')?.frozen === false && c.onlineAt('mail') === h, 10_000)).toBe(true);
    expect((await c.waitImap('mail', 10_000)).ok).toBe(true);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  it('persistent freeze, then the holder dies: nobody claims while frozen; unfreeze → claim', async () => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    await msgha(c, h, ['freeze', 'mail:persistent']);
    const witness = other([h]);
    expect(await c.waitFor(() => !!groupView(c, witness, 'mail')?.frozen, 10_000)).toBe(true);
    await c.killNode(h);
    await sleep(3 * L);
    expect(c.monitor!.holders('mount', 'mail')).toEqual([]);
    expect(c.monitor!.holders('daemons', 'mail')).toEqual([]);
    const t1 = mono();
    await msgha(c, witness, ['unfreeze', 'mail']);
    const ms = await imapBackAfter(c, t1, 30_000);
    log(`unfreeze after a frozen holder crash → IMAP back after ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(L + T.pollMs + START_SLACK);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  it('concurrency violation: a daemon started behind the cluster\'s back on a standby is reported and cleaned', async () => {
    const { mail: h } = await healthy(c);
    const s = other([h]);
    const sb = c.groups.get('mail')!.sandbox;
    const fake = path.join(sb.msgRoot, 'lib', 'stored');
    const child = c.node(s).spawn(['bash', '-c', `exec -a ${fake} sleep 600`]);
    let pid: number | undefined;
    expect(await c.waitFor(() => { pid = c.node(s).find(fake)[0]; return !!pid; }, 5000)).toBe(true);
    c.monitor!.ignorePids.add(pid!);
    expect(await c.waitFor(() => !!groupView(c, s, 'mail')?.resources.some((r) => r.violation), 20_000, 200)).toBe(true);
    const res = groupView(c, s, 'mail')!.resources.find((r) => r.violation)!;
    log(`concurrency violation on ${s}: ${res.id}: ${res.violation}`);
    expect(await c.waitFor(() => procState(pid!) === undefined || procState(pid!) === 'Z', 20_000)).toBe(true);
    expect(c.onlineAt('mail')).toBe(h);
    child.kill('SIGKILL');
  });

  it('holder coordinator SIGSTOPped for 2L: the fence kills its services by F, another node serves; none come back on SIGCONT', async () => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    const coord = c.node(h).find('plugin/main.js');
    expect(coord.length).toBeGreaterThan(0);
    const thaw = (): void => { for (const p of coord) { try { process.kill(p, 'SIGCONT'); } catch { /* gone */ } } };
    for (const p of coord) process.kill(p, 'SIGSTOP');
    const t0 = mono();
    try {
      await takeoverAfter(c, h, t0, 30_000);
      expect(await movedOff(h)).toBe(true);
      expect(c.monitor!.lastRelease('daemons', 'mail', h)! - t0).toBeLessThanOrEqual(F + 1000);
      await sleep(Math.max(0, t0 + 2 * L - mono()));
    } finally { thaw(); }
    await sleep(L);
    expect(c.monitor!.holders('daemons', 'mail')).not.toContain(h);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  it('storage hangs on the holder only (its I/O helpers SIGSTOPped): it stops serving before anyone claims', async () => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    const helpers = c.node(h).find('io-helper-child');
    expect(helpers.length).toBeGreaterThan(0);
    const t0 = mono();
    for (const p of helpers) process.kill(p, 'SIGSTOP');
    try {
      await takeoverAfter(c, h, t0, 30_000);
      expect(await movedOff(h)).toBe(true);
      expect(c.monitor!.lastRelease('daemons', 'mail', h)! - t0).toBeLessThanOrEqual(F + 1000);
    } finally {
      for (const p of helpers) { try { process.kill(p, 'SIGCONT'); } catch { /* respawned */ } }
    }
    expect(violationsSince(c, v0)).toEqual([]);
  });

  it('fence SIGKILLed on the holder: the holder stops at its next renewal, another node serves; the fence is started again and the node can hold again', async () => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    const fences = c.node(h).find('fence-main');
    expect(fences.length).toBeGreaterThan(0);
    const t0 = mono();
    for (const p of fences) process.kill(p, 'SIGKILL');
    const ms = await takeoverAfter(c, h, t0, 30_000);
    expect(await movedOff(h)).toBe(true);
    log(`fence of ${h} killed → IMAP on the VIP from ${c.onlineAt('mail')} after ${ms.toFixed(0)} ms`);
    // The coordinator's loop starts a new fence (before, the node could never hold a group again).
    expect(await c.waitFor(() => c.node(h).find('fence-main').some((p) => !fences.includes(p)), 10_000, 100)).toBe(true);
    const to = c.onlineAt('mail')!;
    await sleep(2500);
    await msgha(c, to, ['switch', `mail:${h}`]);
    expect(await c.waitFor(() => c.onlineAt('mail') === h, 30_000, 200), JSON.stringify(summary(c))).toBe(true);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  it('storage hangs on a follower only: no holder change', async () => {
    const { mail: h, dir } = await healthy(c);
    const s = NODES.find((n) => n !== h && n !== dir) ?? other([h]);
    const v0 = c.monitor!.violations.length;
    const helpers = c.node(s).find('io-helper-child');
    for (const p of helpers) process.kill(p, 'SIGSTOP');
    await sleep(2 * L);
    for (const p of helpers) { try { process.kill(p, 'SIGCONT'); } catch { /* respawned */ } }
    await sleep(L);
    expect(c.onlineAt('mail')).toBe(h);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  repeated('storage fails fast on the holder only (its view of the shared directory read-only): fence and takeover', async () => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    const n = c.node(h);
    const t0 = mono();
    try {
      await n.readOnlyOver(c.shared, roStage(h));
      await takeoverAfter(c, h, t0, 30_000);
      expect(await movedOff(h)).toBe(true);
      expect(c.monitor!.lastRelease('daemons', 'mail', h)! - t0).toBeLessThanOrEqual(F + 1000);
    } finally { await n.exec(['umount', c.shared]); }
    expect(violationsSince(c, v0)).toEqual([]);
  });

  repeated('storage down for all nodes for 3L: every holder fences, nobody claims; one claim per group after', async () => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    for (const n of NODES) await c.node(n).readOnlyOver(c.shared, roStage(n));
    const t0 = mono();
    try {
      await sleep(F + 1000);
      expect(c.monitor!.holders('daemons', 'mail'), `${JSON.stringify(summary(c))}; ${diag(c, h)}`).toEqual([]);
      const during = c.monitor!.history('daemons', 'mail').filter((i) => i.start > t0);
      await sleep(3 * L - F - 1000);
      expect(during).toEqual([]);
      expect(c.monitor!.history('daemons', 'mail').filter((i) => i.start > t0)).toEqual([]);
    } finally { for (const n of NODES) await c.node(n).exec(['umount', c.shared]); }
    await healthy(c);
    expect(c.monitor!.history('vip', 'mail').filter((i) => i.start > t0).length).toBe(1);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  it('random bytes over the live lease record ×5: a changing record is life — no takeover', async () => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    const dir = path.join(c.shared, '.cluster', c.clusterName, 'groups', 'mail');
    const epochs = fs.readdirSync(dir).filter((f) => /^epoch\.\d+$/.test(f)).map((f) => Number(f.slice(6)));
    const file = path.join(dir, `epoch.${Math.max(...epochs)}`);
    for (let i = 0; i < 5; i++) { fs.writeFileSync(file, crypto.randomBytes(512)); await sleep(300); }
    await sleep(2 * L);
    expect(c.onlineAt('mail')).toBe(h);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  it.each([
    ['bytes 100–300 of the record flipped', (b: Buffer): Buffer => { const x = Buffer.from(b); for (let i = 100; i < 300 && i < x.length; i++) x[i] = x[i]! ^ 0xff; return x; }],
    ['the record truncated to 100 bytes', (b: Buffer): Buffer => b.subarray(0, 100)],
  ])('holder crash, then %s: unchanged garbage is dead after L — takeover, no overlap', async (_what, damage) => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    const dir = path.join(c.shared, '.cluster', c.clusterName, 'groups', 'mail');
    const t0 = await c.killNode(h);
    const epochs = fs.readdirSync(dir).filter((f) => /^epoch\.\d+$/.test(f)).map((f) => Number(f.slice(6)));
    const file = path.join(dir, `epoch.${Math.max(...epochs)}`);
    fs.writeFileSync(file, damage(fs.readFileSync(file)));
    const ms = await takeoverAfter(c, h, t0, 40_000);
    log(`crash of ${h} and a damaged record → IMAP on the VIP after ${ms.toFixed(0)} ms`);
    expect(await movedOff(h)).toBe(true);
    expect(violationsSince(c, v0)).toEqual([]);
  });

  // Asserted here: the lease and the VIP move, the VIP never doubles, the new holder's storage
  // fence shuts down the frozen node's file system before it mounts the disk, so nothing the
  // frozen node does after the thaw (its daemons, its kernel's writeback) reaches the disk; the
  // thawed node gives everything up at once, and the group then runs.
  repeated('whole holder node paused (SIGSTOP of every process) for 2L, then thawed: the lease and the VIP move, never doubled; the storage fence keeps the thawed node off the disk', async () => {
    const { mail: h } = await healthy(c);
    const v0 = c.monitor!.violations.length;
    const e0 = groupView(c, h, 'mail')!.epoch ?? 0;
    const newHolder = (): string | undefined => NODES.find((n) => n !== h && groupView(c, n, 'mail')?.role === 'holder' && (groupView(c, n, 'mail')?.epoch ?? 0) > e0);
    c.node(h).pause(true);
    const t0 = mono();
    let took: string | undefined;
    try {
      expect(await c.waitFor(() => !!(took = newHolder()), 30_000, 50)).toBe(true);
      log(`node pause of ${h}: lease of mail taken by ${took} after ${(mono() - t0).toFixed(0)} ms`);
      await sleep(Math.max(0, t0 + 2 * L - mono()));
    } finally { c.node(h).pause(false); }
    const thaw = mono();
    expect(await c.waitFor(() => !c.monitor!.holders('daemons', 'mail').includes(h) && !c.monitor!.holders('mount', 'mail').includes(h) && !c.monitor!.holders('vip', 'mail').includes(h), 10_000)).toBe(true);
    const v = c.monitor!.violations.slice(v0);
    const gone = (k: 'daemons' | 'mount' | 'vip'): string => `${k} ${Math.max(0, (c.monitor!.lastRelease(k, 'mail', h) ?? thaw) - thaw).toFixed(0)} ms`;
    log(`after thaw ${h} gave up everything in ${(mono() - thaw).toFixed(0)} ms (checker, 20 ms sampling: ${gone('daemons')}, ${gone('mount')}, ${gone('vip')}); overlaps while it was frozen (docs/lease.md, "After a thaw"): ${v.map((x) => x.kind).join(', ') || 'none'}`);
    expect(v.filter((x) => x.kind === 'vip')).toEqual([]);
    expect(v.filter((x) => x.kind === 'write')).toEqual([]);
    // The new holder claimed the disk at the storage before it mounted it: the frozen node's device was cut off.
    const claims = fs.readFileSync(c.storageLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { at: number; claimant: string; group: string; fenced: string[] });
    expect(claims.filter((x) => x.group === 'mail' && x.claimant === took).at(-1)?.fenced).toContain(h);
    // Everything it met while losing the lease (its agents self-fencing, stops that failed) left it
    // eligible: not FAULTED, contending again — without `msgha clear`.
    const counter = (): number => c.views()[h]?.counter ?? 0;
    const c0 = counter();
    expect(await c.waitFor(() => counter() > c0 + 2, 15_000, 100)).toBe(true);
    const hv = groupView(c, h, 'mail')!;
    log(`thawed ${h} says of mail: ${hv.state}, faulted ${hv.faulted}, contending ${hv.contending}`);
    expect(hv.faulted).toBe(false);
    expect(hv.state).not.toBe('FAULTED');
    expect(hv.contending).toBe(true);
    const back = await healthy(c);
    log(`after the thaw (and clear of nodes whose start met the frozen node's sockets), mail runs on ${back.mail}`);
  });

  it('a node with a different lease profile refuses to join, naming both profiles', async () => {
    await healthy(c);
    const n = 'mx3';
    await c.pm2(n, ['kill']);
    const file = path.join(c.base, 'cluster-local.config.js');
    fs.writeFileSync(file, fs.readFileSync(c.clusterFile, 'utf8').replace('"profile": "fast"', '"profile": "local"'));
    const r = await c.pm2(n, ['start', file]);
    expect(r.code, r.stderr).toBe(0);
    const logs = path.join(c.pm2Home(n), 'logs');
    const said = (): boolean => fs.existsSync(logs) && fs.readdirSync(logs).some((f) => f.startsWith('msgha') && /lease profile mismatch: this node runs profile 'local'.*cluster runs profile 'fast'/.test(fs.readFileSync(path.join(logs, f), 'utf8')));
    expect(await c.waitFor(said, 20_000, 200)).toBe(true);
    await c.pm2(n, ['kill']);
    log(`profile mismatch refused on ${n}: ${JSON.stringify(summary(c))}`);
  });
});
