/**
 * `msgha demo-cluster [--stop]`: a two-node cluster on this machine, with the real product on each node.
 * Each node is a network + mount + PID namespace with its own PM2 daemon (own PM2_HOME) running
 * the coordinator and one agent app per resource; a bridge and a client namespace; a shared
 * directory for the lease; a loop-mounted ext4 disk holding the sandbox suite (real Dovecot,
 * Postfix, JES-style daemons). The group `mail` comes online on node1; IMAP is crashed and
 * restarted in place; then node1 is killed (every process SIGKILLed at once) and the group
 * answers IMAP LOGIN on its virtual IP from node2 — each with the measured time. Everything stays
 * in /tmp/mh-demo, namespaces mh-demo-*, addresses 10.213.30.0/24; `--stop` tears it all down.
 * Needs root, Debian's slapd/dovecot/postfix/iproute2/arping/util-linux, and `npm run build`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repositoryMissing } from './demo';

export const usage = 'demo-cluster [--stop]           two nodes on this machine: the mail group online on one, kill it, IMAP answers on the VIP from the other';

const TAG = 'demo';
const NET = 30;
const BASE_PORT = 25000;
const NODES = ['node1', 'node2'];

function say(line = ''): void {
  process.stdout.write(line + '\n');
}

type ClusterModule = typeof import('../../../test/fixtures/cluster/cluster');
type PlansModule = typeof import('../../../test/fixtures/cluster/plans');

function harness(): { cluster: ClusterModule; plans: PlansModule } {
  // Loaded lazily: the harness lives with the test fixtures (compiled into dist/ beside plugin/).
  return {
    cluster: require('../../../test/fixtures/cluster/cluster') as ClusterModule,
    plans: require('../../../test/fixtures/cluster/plans') as PlansModule,
  };
}

function makeCluster(log: (l: string) => void) {
  const { cluster, plans } = harness();
  return new cluster.MsgCluster({
    tag: TAG, net: NET, nodes: NODES, profile: 'fast', clusterName: 'demo', say: log,
    // One IMAP crash is restarted in place; the node kill moves the group.
    timing: { RestartLimit: 3 },
    groups: [plans.mailPlan(NODES, BASE_PORT, { webmail: true })],
  });
}

function missingTools(): string[] {
  const need = ['/usr/sbin/slapd', '/usr/sbin/dovecot', '/usr/lib/postfix/sbin/master', '/usr/bin/nsenter', '/usr/bin/unshare',
    '/usr/sbin/losetup', '/usr/sbin/mkfs.ext4', '/usr/bin/arping'];
  return need.filter((f) => !fs.existsSync(f));
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function stop(): Promise<void> {
  const c = makeCluster(() => undefined);
  await c.teardown();
  say(`demo stopped: nodes, namespaces mh-${TAG}-*, loop devices and ${c.base} removed`);
}

export async function run(args: string[]): Promise<number> {
  if (repositoryMissing('demo-cluster')) return 1;
  if (args.includes('--stop')) { await stop(); return 0; }
  if (args.some((a) => a !== '--stop')) { process.stderr.write(`usage: msgha ${usage}\n`); return 2; }
  if (process.getuid?.() !== 0) { process.stderr.write('msgha demo: needs root (network namespaces, loop devices, mounts)\n'); return 1; }
  const missing = missingTools();
  if (missing.length) {
    process.stderr.write(`msgha demo: missing ${missing.join(', ')} — run: bash test/install-debian-deps.sh demo\n`);
    return 1;
  }
  const { cluster } = harness();
  const c = makeCluster(say);
  const { mono } = require('../../../test/fixtures/cluster/invariant') as typeof import('../../../test/fixtures/cluster/invariant');
  try {
    say(`1. building two nodes (${NODES.join(', ')}: each its own network, mount and PID namespace), a client namespace,`);
    say(`   a shared directory ${c.shared} and a shared disk with the sandbox suite on it`);
    await c.setup();
    const vip = c.vipOf('mail');
    const sb = c.groups.get('mail')!.sandbox;
    say(`   virtual IP of group mail: ${vip}; cluster file ${c.clusterFile} (lease profile 'fast': takeover ≤ 3.2 s + service start)`);
    say(`2. starting PM2 + the coordinator on each node (PM2_HOME=${c.pm2Home('node1')}, ${c.pm2Home('node2')})`);
    const t0 = mono();
    await c.startAll();
    if (!(await c.waitFor(() => !!c.onlineAt('mail'), 120_000, 200))) throw new Error('group mail did not come online within 120 s');
    const first = c.onlineAt('mail')!;
    const up = await c.waitImap('mail', 30_000);
    if (!up.ok) throw new Error(`IMAP on ${vip} does not answer: ${up.error}`);
    say(`   group mail ONLINE on ${first} ${secs(up.at! - t0)} after \`pm2 start\`; IMAP LOGIN on ${vip}:${sb.ports.imap} from the client namespace works`);
    say((await c.pm2(first, ['ls'])).stdout);
    const sent = await c.client!.request({ op: 'smtpSend', host: vip, port: sb.ports.smtp, from: `demo@${sb.domain}`, to: sb.testUser.email, subject: 'sent-before-the-failover' });
    say(`   a message sent through ${vip}:${sb.ports.smtp}: ${sent.ok ? 'accepted (250)' : `refused: ${sent.error}`}`);

    say(`3. crash: kill -9 of the IMAP daemon on ${first} (restarted in place by its agent)`);
    const pidText = c.node(first).readFile(path.join(sb.msgRoot, 'config', 'pid', 'imapd.pid'));
    const imapd = c.node(first).hostPid(Number(pidText?.trim()));
    if (imapd) {
      const tk = mono();
      process.kill(imapd, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      const back = await c.waitImap('mail', 60_000);
      say(back.ok ? `   IMAP answered again ${secs(back.at! - tk)} after the kill, still on ${c.onlineAt('mail') ?? first}` : `   IMAP did not come back: ${back.error}`);
    }

    const second = NODES.find((n) => n !== first)!;
    say(`4. failover: every process of ${first} SIGKILLed at once (PM2, coordinator, agents, fence, daemons — a power cut)`);
    await new Promise((r) => setTimeout(r, 1500));
    const tKill = await c.killNode(first);
    const after = await c.waitImap('mail', 60_000);
    if (!after.ok) throw new Error(`IMAP did not come back on ${vip}: ${after.error}`);
    await c.waitFor(() => !!c.onlineAt('mail'), 20_000, 100);
    say(`   IMAP LOGIN on ${vip} answered from ${c.onlineAt('mail') ?? second} ${secs(after.at! - tKill)} after the kill`);
    const inbox = await c.imapLogin('mail', { subjects: true });
    say(`   the message sent before the failover is in the mailbox: ${(inbox.subjects ?? []).includes('sent-before-the-failover') ? 'yes' : 'not yet'}`);
    const v = c.monitor!.report();
    say(`   safety checker (VIP, mount and daemons of mail never on two nodes at once): ${v.length ? `VIOLATED: ${v.join('; ')}` : 'held'}`);
    say(`5. ${first} boots again and rejoins as a standby`);
    await c.startNode(first);

    const cli = cluster.msghaBin();
    const pm2 = cluster.pm2Bin();
    say('');
    say('Look around (each node has its own PM2):');
    for (const n of NODES) say(`  PM2_HOME=${c.pm2Home(n)} node ${pm2} ls`);
    say(`  PM2_HOME=${c.pm2Home(second)} node ${pm2} logs mail:imap --lines 20`);
    say(`  PM2_HOME=${c.pm2Home(second)} MSGHA_NODE=${second} MSGHA_CLUSTER_FILE=${c.clusterFile} node ${cli} status   # the whole cluster`);
    say(`  PM2_HOME=${c.pm2Home(second)} MSGHA_NODE=${second} MSGHA_CLUSTER_FILE=${c.clusterFile} node ${cli} switch mail:${first}`);
    say(`  ip netns exec mh-${TAG}-cl curl -s imap://${vip}:${sb.ports.imap}/ -u '${sb.testUser.name}:…'   # from the client namespace`);
    say(`  ip -n mh-${TAG}-${second} addr show eth0     # the VIP and its remaining lifetime`);
    say('Tear down: msgha demo-cluster --stop');
    return 0;
  } catch (err) {
    process.stderr.write(`msgha demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.stderr.write(`  logs: ${c.base}/<node>/pm2/logs; tear down with: msgha demo-cluster --stop\n`);
    return 1;
  } finally {
    // The cluster keeps running for the person to look around; only this process's watchers end.
    c.monitor?.stop();
    c.client?.close();
  }
}
