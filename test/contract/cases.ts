/**
 * The contract cases: one entry per resource type (and per SunJESMsg flavour), each describing
 * how to configure it against the sandbox suite (test users with encrypted passwords, so deep
 * checks are real logins), how to half-start it behind the agent's back, how to break its
 * configuration, and which daemon to kill or freeze in the fault scenarios. IP and Mount run
 * no process: their cases use a network namespace and a loop-mounted image (root only). NIC
 * (a link, persistent) runs the link sequence on a namespace whose switch port the case controls.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { addrs, Lan } from '../fixtures/cluster/netns';
import { makeExt4Image } from '../helpers/loop-disk';
import { execProgram } from '../../plugin/core/exec';
import type { ProcessMatcher } from '../../plugin/core/results';
import { findProcesses, listInstanceProcesses } from '../../plugin/proc/matching';
import { runScript } from '../fixtures/sandbox/control';
import type { Sandbox } from '../fixtures/sandbox/types';

export interface ContractCase {
  title: string;
  type: string;
  /** Attributes; secrets are `enc:v1:` values (encrypted with the contract's temp cluster key). */
  attrs(sb: Sandbox): Record<string, unknown>;
  /** Deep checks that must log in for the resource to be ONLINE: check name → its ok reason. */
  logins?(sb: Sandbox): Record<string, RegExp>;
  /** Secret attribute of the test user: a wrong value must give OFFLINE, recovery 'configuration'. */
  credential?: string;
  /** Starts part of the resource behind the agent's back (clean must remove it). */
  halfStart(sb: Sandbox): Promise<void>;
  /** Attribute overrides that point the resource nowhere. */
  broken: Record<string, unknown>;
  /** What of this resource must be gone after offline/clean: its processes (or its address, its mount). */
  residue(sb: Sandbox): Promise<unknown[]>;
  /**
   * Daemon (matcher) killed with -9 in the crash scenario. A case without one manages no
   * process (an address, a mount): no pids, and offline with nothing to do says `idle` instead.
   */
  victim?(sb: Sandbox): ProcessMatcher;
  /** What offline says when there is nothing to remove (cases without a victim). */
  idle?: RegExp;
  /** Daemon SIGSTOPped in the hang scenario (one whose deep check then times out). */
  freeze?(sb: Sandbox): ProcessMatcher;
  /** The deep check that must time out while `freeze` is stopped. */
  frozenCheck?(sb: Sandbox): string;
  /**
   * A persistent type (NIC: a link): online, offline and clean change nothing, so the contract
   * runs the link sequence instead (contract.test.ts): the switch port down, detached, back.
   */
  link?: { portDown(down: boolean): void; detach(detached: boolean): void };
  /** Started before / stopped after the case (backends a proxy needs). */
  setup?(sb: Sandbox): Promise<void>;
  teardown?(sb: Sandbox): Promise<void>;
}

const TIMEOUTS = { OnlineTimeout: 30, OfflineTimeout: 30, CleanTimeout: 20, MonitorTimeout: 4, SecondLevelMonitor: 1 };
const NOWHERE = '/tmp/mh-nowhere/none';

async function must(p: Promise<{ code: number; stderr: string }>, what: string): Promise<void> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed: ${r.stderr}`);
}

async function pidsOf(matchers: ProcessMatcher[]): Promise<number[]> {
  const found = await findProcesses(matchers, { fresh: true });
  return [...found.values()].flat();
}

interface DaemonSpecLike { argv: string[]; masterPid?: string; pidFile: string }
async function daemonSpec(root: string, name: string): Promise<DaemonSpecLike> {
  const cfg = JSON.parse(await fs.readFile(path.join(root, 'config', 'sandbox.json'), 'utf8')) as { daemons: Record<string, DaemonSpecLike> };
  const d = cfg.daemons[name];
  if (!d) throw new Error(`no daemon ${name} in ${root}`);
  return d;
}

/** The sandbox's Dovecot (imapd) config, run by the Application type as a forking daemon. */
async function dovecotConf(sb: Sandbox): Promise<{ conf: string; masterPid: string }> {
  const d = await daemonSpec(sb.msgRoot, 'imapd');
  const conf = d.argv[d.argv.indexOf('-c') + 1]!;
  return { conf, masterPid: d.masterPid! };
}

const msstart = (root: string) => path.join(root, 'lib', 'msstart');
const SERVICES = ['imap', 'pop', 'smtp', 'http'];
const SERVICE_DAEMONS = ['imapd', 'popd', 'dispatcher', 'tcp_lmtp_server', 'mshttpd'];

/** Encrypts a clear secret with the contract's cluster key (plugin/secrets encryptSecret). */
export type Encrypt = (clear: string) => string;

const IMAP_LOGIN = /IMAP login, open of the mailbox and LOGOUT succeeded/;
const POP_LOGIN = /POP3 login, STAT and QUIT succeeded/;
const WEB_LOGIN = /login of the test user succeeded/;
const SMTP_RCPT = /RCPT TO, RSET and QUIT succeeded/;

/** A network namespace with eth0 on a bridge of its own (10.213.<net>.0/24), for the IP case. */
const VIP_NET = 219;
const VIP = `10.213.${VIP_NET}.50`;

/** The NIC case's LAN: n1 is the node, gw (.254) the ping host. */
const NIC_NET = 218;
const NIC_GW = `10.213.${NIC_NET}.254`;

/** Mounts of `mountPoint` in this node's view. */
async function mountsAt(mountPoint: string): Promise<string[]> {
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').filter((l) => l.split(' ')[4] === mountPoint);
}

export function contractCases(dovecot: { conf: string; masterPid: string }, enc: Encrypt): ContractCase[] {
  let lan: Lan | undefined;
  let ns = '';
  let nicLan: Lan | undefined;
  let nicNs = '';
  const disk = (sb: Sandbox) => ({ image: path.join(sb.dir, 'disk.img'), mountPoint: path.join(sb.dir, 'mnt') });
  return [
    {
      title: 'SunJESMsg core',
      type: 'SunJESMsg',
      attrs: (sb) => ({ ServerRoot: sb.msgRoot, MsgHost: sb.host, MsgServices: { core: sb.ports.core }, ...TIMEOUTS }),
      halfStart: (sb) => must(runScript(msstart(sb.msgRoot), ['store']), 'msstart store'),
      broken: { ServerRoot: NOWHERE },
      residue: (sb) => listInstanceProcesses(sb.msgRoot),
      victim: (sb) => ({ name: 'sched', root: sb.msgRoot }),
    },
    {
      title: 'SunJESMsg services imap+pop+smtp+http',
      type: 'SunJESMsg',
      // MsgHost is the FQDN (smtp needs its domain for RCPT TO); it resolves as a .localhost name.
      attrs: (sb) => ({
        ServerRoot: sb.msgRoot, MsgHost: sb.fqdn, MsgServices: { imap: sb.ports.imap, pop: sb.ports.pop, smtp: sb.ports.smtp, http: sb.ports.http },
        LDAPTestUser: sb.testUser.name, LDAPTestPasswd: enc(sb.testUser.password), ...TIMEOUTS,
      }),
      logins: (sb) => ({ [`imap:${sb.ports.imap}`]: IMAP_LOGIN, [`pop:${sb.ports.pop}`]: POP_LOGIN,
        [`http:${sb.ports.http}`]: WEB_LOGIN, [`smtp:${sb.ports.smtp}`]: SMTP_RCPT }),
      credential: 'LDAPTestPasswd',
      halfStart: (sb) => must(runScript(msstart(sb.msgRoot), ['imap']), 'msstart imap'),
      broken: { ServerRoot: NOWHERE },
      residue: (sb) => pidsOf(SERVICE_DAEMONS.map((name) => ({ name, root: sb.msgRoot }))),
      victim: (sb) => ({ name: 'popd', root: sb.msgRoot }),
      // The Dovecot master of imapd: its logins hang (and the webmail's, which go through IMAP).
      freeze: (sb) => ({ name: 'imapd', root: sb.msgRoot }),
      frozenCheck: (sb) => `imap:${sb.ports.imap}`,
    },
    {
      title: 'SunJESMsg MMP',
      type: 'SunJESMsg',
      attrs: (sb) => ({ ServerType: 'MMP', ServerRoot: sb.mmpRoot, MsgHost: sb.host,
        MsgServices: { imap: sb.ports.mmpImap, pop: sb.ports.mmpPop, imaps: sb.ports.mmpImaps },
        LDAPTestUser: sb.testUser.name, LDAPTestPasswd: enc(sb.testUser.password), ...TIMEOUTS }),
      logins: (sb) => ({ [`imap:${sb.ports.mmpImap}`]: IMAP_LOGIN, [`pop:${sb.ports.mmpPop}`]: POP_LOGIN }),
      credential: 'LDAPTestPasswd',
      setup: (sb) => must(runScript(msstart(sb.msgRoot), ['imap', 'pop']), 'msstart imap pop (MMP backends)'),
      teardown: (sb) => must(runScript(msstart(sb.msgRoot), ['-k', 'imap', 'pop']), 'msstart -k imap pop'),
      halfStart: (sb) => must(runScript(msstart(sb.mmpRoot), ['mmp']), 'msstart mmp'),
      broken: { ServerRoot: NOWHERE },
      residue: (sb) => listInstanceProcesses(sb.mmpRoot),
      victim: (sb) => ({ name: 'AService', root: sb.mmpRoot }),
      freeze: (sb) => ({ name: 'AService', root: sb.mmpRoot }),
      frozenCheck: (sb) => `imap:${sb.ports.mmpImap}`,
    },
    {
      title: 'SunJESAdm',
      type: 'SunJESAdm',
      attrs: (sb) => ({ ServerRoot: sb.adminRoot, AdminHost: sb.host, AdminPort: sb.ports.admin, AdminUser: sb.admin.user,
        AdminPasswd: enc(sb.admin.password), SSLDbPasswd: enc(sb.sslDbPassword), ...TIMEOUTS }),
      credential: 'AdminPasswd',
      halfStart: (sb) => must(runScript(path.join(sb.adminRoot, 'start-admin'), [], { stdin: sb.sslDbPassword }), 'start-admin'),
      broken: { ServerRoot: NOWHERE },
      residue: (sb) => listInstanceProcesses(sb.adminRoot),
      victim: (sb) => ({ name: 'uxwdog', root: path.join(sb.adminRoot, 'admin-serv', 'config') }),
      freeze: (sb) => ({ name: 'ns-httpd', root: path.join(sb.adminRoot, 'admin-serv', 'config') }),
    },
    {
      title: 'SunJESLDAP',
      type: 'SunJESLDAP',
      attrs: (sb) => ({ InstanceRoot: sb.ldapRoot, LDAPHost: sb.fqdn, LDAPPort: sb.ports.ldap, SSLPort: sb.ports.ldaps, SSLDbPasswd: enc(sb.sslDbPassword), ...TIMEOUTS }),
      halfStart: (sb) => must(runScript(path.join(sb.ldapRoot, 'start-slapd'), [], { stdin: sb.sslDbPassword }), 'start-slapd'),
      broken: { InstanceRoot: NOWHERE },
      residue: (sb) => listInstanceProcesses(sb.ldapRoot),
      victim: (sb) => ({ name: 'ns-slapd', root: sb.ldapRoot }),
      freeze: (sb) => ({ name: 'ns-slapd', root: sb.ldapRoot }),
    },
    {
      title: 'NetscapeMsg',
      type: 'NetscapeMsg',
      attrs: (sb) => ({ ServerRoot: sb.netscapeRoot, MsgHost: sb.fqdn,
        Ports: { smtp: sb.ports.nsSmtp, pop: sb.ports.nsPop, imap: sb.ports.nsImap, http: sb.ports.nsHttp }, ProbeTimeout: 3,
        LDAPTestUser: sb.testUser.name, LDAPTestPasswd: enc(sb.testUser.password), ...TIMEOUTS }),
      logins: (sb) => ({ [`imap:${sb.ports.nsImap}`]: IMAP_LOGIN, [`pop:${sb.ports.nsPop}`]: POP_LOGIN,
        [`http:${sb.ports.nsHttp}`]: WEB_LOGIN, [`smtp:${sb.ports.nsSmtp}`]: SMTP_RCPT }),
      credential: 'LDAPTestPasswd',
      halfStart: (sb) => must(runScript(path.join(sb.netscapeRoot, 'start-msg'), ['imapd', 'stored']), 'start-msg imapd stored'),
      broken: { ServerRoot: NOWHERE },
      residue: (sb) => listInstanceProcesses(sb.netscapeRoot),
      victim: (sb) => ({ name: 'stored', root: sb.netscapeRoot }),
      freeze: (sb) => ({ name: 'mshttpd', root: sb.netscapeRoot }),
      frozenCheck: (sb) => `http:${sb.ports.nsHttp}`,
    },
    {
      title: 'Application (Dovecot)',
      type: 'Application',
      attrs: (sb) => ({
        StartProgram: ['/usr/sbin/dovecot', '-c', dovecot.conf],
        StopProgram: ['/usr/sbin/dovecot', '-c', dovecot.conf, 'stop'],
        PidFiles: [dovecot.masterPid],
        MonitorProcesses: [`/usr/sbin/dovecot -c ${dovecot.conf}`],
        ProbeHost: sb.host, ProbeServices: { imap: sb.ports.imap, imaps: sb.ports.imaps },
        ProbeUser: sb.testUser.name, ProbePasswd: enc(sb.testUser.password), ProbeCAFile: sb.certFile, ...TIMEOUTS,
      }),
      logins: (sb) => ({ [`imap:${sb.ports.imap}`]: IMAP_LOGIN, [`imaps:${sb.ports.imaps}`]: IMAP_LOGIN }),
      credential: 'ProbePasswd',
      // execProgram, not runScript: the forked master keeps the output pipes open.
      halfStart: async () => {
        const r = await execProgram(['/usr/sbin/dovecot', '-c', dovecot.conf], { timeoutMs: 15_000 });
        if (r.code !== 0) throw new Error(`dovecot: ${r.stderr}`);
      },
      broken: { StopProgram: [NOWHERE], PidFiles: [NOWHERE + '.pid'], MonitorProcesses: [NOWHERE] },
      residue: () => pidsOf([{ name: `/usr/sbin/dovecot -c ${dovecot.conf}`, match: 'substring' }]),
      victim: () => ({ name: `/usr/sbin/dovecot -c ${dovecot.conf}`, match: 'substring' }),
    },
    {
      // No StopProgram: offline falls back to SIGTERM of the daemon's processes.
      title: 'Application (slapd, no StopProgram)',
      type: 'Application',
      attrs: (sb) => ({
        StartProgram: slapdArgv(sb),
        PidFiles: [path.join(sb.ldapRoot, 'logs', 'pid')],
        MonitorProcesses: [`/usr/sbin/slapd -f ${path.join(sb.ldapRoot, 'config', 'slapd.conf')}`],
        ProbeHost: sb.host, ProbeServices: { ldap: sb.ports.ldap }, ...TIMEOUTS,
      }),
      halfStart: async (sb) => {
        const r = await execProgram(slapdArgv(sb), { timeoutMs: 15_000 });
        if (r.code !== 0) throw new Error(`slapd: ${r.stderr}`);
      },
      broken: { PidFiles: [NOWHERE + '.pid'], MonitorProcesses: [NOWHERE] },
      residue: (sb) => pidsOf([{ name: `/usr/sbin/slapd -f ${path.join(sb.ldapRoot, 'config', 'slapd.conf')}`, match: 'substring' }]),
      victim: (sb) => ({ name: `/usr/sbin/slapd -f ${path.join(sb.ldapRoot, 'config', 'slapd.conf')}`, match: 'substring' }),
      freeze: (sb) => ({ name: `/usr/sbin/slapd -f ${path.join(sb.ldapRoot, 'config', 'slapd.conf')}`, match: 'substring' }),
    },
    {
      // Duplicate address detection runs for real (nothing else on the bridge answers).
      title: 'IP',
      type: 'IP',
      // One contract run at a time (run-lock.ts): a fixed namespace name, replaced if left over.
      setup: async () => {
        lan = new Lan('ct', VIP_NET);
        ns = lan.host('n1', 1);
      },
      teardown: async () => { lan?.destroy(); },
      attrs: () => ({ Address: `${VIP}/24`, Device: 'eth0', ContainerName: ns, ...TIMEOUTS }),
      halfStart: async () => { execFileSync('ip', ['-n', ns, 'addr', 'add', `${VIP}/24`, 'dev', 'eth0']); },
      broken: { Device: 'mh-nodev0' },
      residue: async () => addrs(ns).filter((a) => a.local === VIP),
      idle: /was not on eth0|was not on mh-nodev0/,
    },
    {
      // A link (persistent): the link sequence, not the process one. The port is the switch side.
      title: 'NIC',
      type: 'NIC',
      // One contract run at a time (run-lock.ts): fixed namespace names, replaced if left over.
      setup: async () => {
        nicLan = new Lan('ctn', NIC_NET);
        nicNs = nicLan.host('n1', 1);
        nicLan.host('gw', 254);
      },
      teardown: async () => { nicLan?.destroy(); },
      attrs: () => ({ Device: 'eth0', ContainerName: nicNs, PingHosts: [NIC_GW], PingTimeoutMs: 500, ...TIMEOUTS }),
      link: {
        portDown: (down) => nicLan!.portDown('n1', down),
        detach: (detached) => nicLan!.detach('n1', detached),
      },
      // A link is never started nor stopped by the agent: nothing to half-start, nothing left behind.
      halfStart: async () => { nicLan!.portDown('n1', false); },
      broken: { Device: 'mh-nodev0' },
      residue: async () => [],
      idle: /a link is not stopped/,
    },
    {
      title: 'Mount',
      type: 'Mount',
      setup: async (sb) => {
        makeExt4Image(disk(sb).image, '16M');
        await fs.mkdir(disk(sb).mountPoint, { recursive: true });
      },
      teardown: async (sb) => {
        if ((await mountsAt(disk(sb).mountPoint)).length > 0) execFileSync('umount', [disk(sb).mountPoint]);
        await fs.rm(disk(sb).image, { force: true });
      },
      attrs: (sb) => ({ BlockDevice: disk(sb).image, MountPoint: disk(sb).mountPoint, FSType: 'ext4', ...TIMEOUTS }),
      halfStart: async (sb) => { execFileSync('mount', ['-t', 'ext4', '-o', 'loop', disk(sb).image, disk(sb).mountPoint]); },
      broken: { BlockDevice: NOWHERE },
      residue: (sb) => mountsAt(disk(sb).mountPoint),
      idle: /is unmounted/,
    },
  ];
}

/** slapd of the sandbox's directory instance, forking into the background (no -d). */
function slapdArgv(sb: Sandbox): string[] {
  return ['/usr/sbin/slapd', '-f', path.join(sb.ldapRoot, 'config', 'slapd.conf'), '-h', `ldap://127.0.0.1:${sb.ports.ldap}/`];
}

export { dovecotConf };
