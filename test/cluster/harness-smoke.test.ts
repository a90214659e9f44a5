// The cluster harness itself, without the coordinator: two nodes (own network, mount and PID
// namespaces), a client namespace, the shared disk with the sandbox suite on it. The group is
// moved by hand — mount, VIP with a kernel lifetime, services on node 1; power cut; the kernel
// drops the VIP; mount + VIP + services on node 2 — and the mail delivered on node 1 is read
// through the VIP on node 2. The invariant checker must see each node hold in turn, never both.
// A PM2 daemon per node runs inside the node. Needs root and `npm run build`.
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MsgCluster, RUN_LOCK_WAIT_MS } from '../fixtures/cluster/cluster';
import { mono } from '../fixtures/cluster/invariant';
import { addrs } from '../fixtures/cluster/netns';
import { portBlock } from '../helpers/ports';

const c = new MsgCluster({
  tag: 'sm', net: 21, nodes: ['n1', 'n2'],
  groups: [{ name: 'mail', vipHost: 50, basePort: portBlock('spare', 1), systemList: ['n1', 'n2'], services: () => ({}) }],
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bringUp(node: string, vipLifetime: number): Promise<void> {
  const g = c.groups.get('mail')!;
  const n = c.node(node);
  const ok = async (argv: string[]) => { const r = await n.exec(argv); expect(r.stderr + r.stdout, argv.join(' ')).toBeDefined(); expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(0); };
  await ok(['mount', '-t', 'ext4', c.diskPath('mail'), g.disk.mountPoint]);
  await ok(['ip', 'addr', 'add', `${g.vip}/24`, 'dev', 'eth0', 'valid_lft', String(vipLifetime), 'preferred_lft', String(vipLifetime)]);
  // Gratuitous ARP, as the IP agent does: the client would keep the old node's MAC for tens of seconds.
  await ok(['arping', '-U', '-c', '1', '-I', 'eth0', g.vip]);
  await ok([path.join(g.sandbox.msgRoot, 'lib', 'msstart'), 'store', 'sched']);
  await ok([path.join(g.sandbox.msgRoot, 'lib', 'msstart'), 'imap', 'smtp']);
}

// RUN_LOCK_WAIT_MS to wait for another live run of this tag (see MsgCluster.setup), 120 s ours.
beforeAll(async () => { await c.setup(); }, RUN_LOCK_WAIT_MS + 120_000);
afterAll(async () => { await c.teardown(); }, 60_000);

describe('cluster harness (no coordinator)', () => {
  it('nodes have their own PID and mount namespaces; the disk is mounted nowhere yet', () => {
    const n1 = c.node('n1');
    const n2 = c.node('n2');
    expect(n1.up() && n2.up()).toBe(true);
    expect(n1.pids()).not.toEqual(n2.pids());
    expect(n1.pids()).toContain(n1.initPid);
    expect(c.groups.get('mail')!.disk.mountedOnHost()).toBe(false);
    expect(c.monitor!.holders('mount', 'mail')).toEqual([]);
  });

  it('a PM2 daemon per node runs inside the node', async () => {
    for (const n of ['n1', 'n2']) {
      const r = await c.pm2(n, ['ping']);
      expect(r.code, r.stderr).toBe(0);
      const god = c.pm2DaemonPid(n)!;
      expect(god).toBeGreaterThan(0);
      expect(c.node(n).pids()).toContain(god);
    }
  });

  it('group on node 1: IMAP login and mail through the VIP from the client namespace', async () => {
    await bringUp('n1', 3);
    expect(await c.waitFor(() => c.monitor!.holders('daemons', 'mail').length === 1, 3000)).toBe(true);
    expect(c.monitor!.holders('vip', 'mail')).toEqual(['n1']);
    expect(c.monitor!.holders('mount', 'mail')).toEqual(['n1']);
    const login = await c.imapLogin('mail');
    expect(login.ok, login.error).toBe(true);
    const sent = await c.client!.request({ op: 'smtpSend', host: c.vipOf('mail'), port: c.groups.get('mail')!.sandbox.ports.smtp,
      from: 'a@example.localhost', to: c.groups.get('mail')!.sandbox.testUser.email, subject: 'moved-with-the-disk' });
    expect(sent.ok, sent.error).toBe(true);
    // the node refreshes its VIP lifetime like a holder does
    await c.node('n1').exec(['ip', 'addr', 'change', `${c.vipOf('mail')}/24`, 'dev', 'eth0', 'valid_lft', '2', 'preferred_lft', '2']);
  });

  it('power cut of node 1: its processes and mounts vanish at once, the kernel drops the VIP by its lifetime', async () => {
    await sleep(1500); // let the LMTP delivery land in the store
    const t0 = await c.killNode('n1');
    expect(c.node('n1').up()).toBe(false);
    expect(await c.waitFor(() => c.monitor!.holders('daemons', 'mail').length === 0 && c.monitor!.holders('mount', 'mail').length === 0, 2000)).toBe(true);
    expect(await c.waitFor(() => !addrs(c.node('n1').netns).some((a) => a.local === c.vipOf('mail')), 4000)).toBe(true);
    expect(mono() - t0).toBeLessThan(4000);
  });

  it('group on node 2 serves the same mailbox through the same VIP; the invariant held throughout', async () => {
    await bringUp('n2', 30);
    const r = await c.waitImap('mail', 10_000);
    expect(r.ok, r.error).toBe(true);
    const s = await c.imapLogin('mail', { subjects: true });
    expect(s.subjects).toContain('moved-with-the-disk');
    expect(c.monitor!.holders('vip', 'mail')).toEqual(['n2']);
    expect(c.monitor!.history('mount', 'mail').map((i) => i.node)).toEqual(['n1', 'n2']);
    expect(c.monitor!.report()).toEqual([]);
  });

  it('the checker sees a double mount, and a write by the older mount (proves it bites)', async () => {
    await c.startNode('n1').catch(() => undefined); // reboot n1 (PM2 start fails harmlessly: no coordinator needed)
    const g = c.groups.get('mail')!;
    const before = c.monitor!.violations.length;
    const r = await c.node('n1').exec(['mount', '-t', 'ext4', c.diskPath('mail'), g.disk.mountPoint]);
    expect(r.code, r.stderr).toBe(0);
    expect(await c.waitFor(() => c.monitor!.violations.slice(before).some((v) => v.kind === 'mount'), 2000)).toBe(true);
    expect(c.monitor!.violations.slice(before).find((v) => v.kind === 'mount')).toMatchObject({ group: 'mail', nodes: ['n2', 'n1'] });
    // n1's mount is the newest now: what n2, the older one, writes lands under its feet.
    const wrote = await c.node('n2').exec(['sh', '-c', `echo late > ${g.disk.mountPoint}/late && sync -f ${g.disk.mountPoint}`]);
    expect(wrote.code, wrote.stderr).toBe(0);
    expect(await c.waitFor(() => c.monitor!.violations.slice(before).some((v) => v.kind === 'write'), 2000)).toBe(true);
    expect(c.monitor!.violations.slice(before).find((v) => v.kind === 'write')).toMatchObject({ group: 'mail', nodes: ['n2', 'n1'] });
    await c.node('n1').exec(['umount', g.disk.mountPoint]);
  });
});
