/**
 * The chaos campaign's faults, each injected on the namespace cluster (test/fixtures/cluster) the
 * way the cluster suite injects it alone, and healed after its hold time. inject() resolves the
 * node from the fault's role at that moment and returns what it did and how to heal it; it never
 * throws for a fault that found nothing to hit (e.g. no daemon running): that is recorded as a
 * no-op. Operator actions run `msgha` on a node, as an administrator would.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MsgCluster } from '../../test/fixtures/cluster/cluster';
import type { PlannedFault } from './schedule';

export interface Injected {
  /** The nodes hit ('' for none). */
  nodes: string[];
  /** One line: what was done. */
  what: string;
  /** Nodes paused, for the checker's paused-node window (SIGSTOP of the whole node). */
  paused?: string[];
  heal(): Promise<void>;
}

const nothing = async (): Promise<void> => undefined;
const signal = (pids: number[], sig: NodeJS.Signals): void => { for (const p of pids) { try { process.kill(p, sig); } catch { /* gone */ } } };

/** Daemons of each group that a daemon fault may hit (pid files of the sandbox, or process tokens). */
const DAEMONS: Readonly<Record<string, string[]>> = { mail: ['imapd', 'stored', 'dispatcher', 'tcp_lmtp_server'], dir: [] };

export class FaultInjector {
  constructor(private readonly c: MsgCluster) {}

  private up(): string[] { return [...this.c.nodes.keys()].filter((n) => this.c.node(n).up()); }

  holder(group: string): string | undefined {
    return this.c.onlineAt(group) ?? this.c.monitor?.holders('vip', group)[0];
  }

  /** The nodes a role names now ([] when there is none, e.g. no holder during a takeover). */
  targets(f: PlannedFault): string[] {
    const up = this.up().sort();
    const h = this.holder(f.group);
    if (f.role === 'all') return up;
    if (f.role === 'holder') return h && up.includes(h) ? [h] : [];
    const standbys = up.filter((n) => n !== h);
    return standbys.length ? [standbys[Math.floor(f.pick * standbys.length)]!] : [];
  }

  async inject(f: PlannedFault): Promise<Injected> {
    const c = this.c;
    const nodes = this.targets(f);
    const n = nodes[0];
    if (!n) return { nodes: [], what: `no ${f.role} of ${f.group} to hit`, heal: nothing };
    const node = c.node(n);
    switch (f.kind) {
      case 'node-kill':
        await c.killNode(n);
        return { nodes, what: `power cut of ${n}`, heal: () => c.startNode(n) };
      case 'node-pause':
        node.pause(true);
        // Its writes after the thaw, if any reached a disk another node mounted, are the checker's.
        return { nodes, what: `${n} paused (every process SIGSTOPped)`, paused: [n], heal: async () => { node.pause(false); } };
      case 'coord-kill': {
        const pids = node.find('plugin/main.js');
        signal(pids, 'SIGKILL');
        return { nodes, what: `coordinator of ${n} SIGKILLed (${pids.length} process)`, heal: nothing };
      }
      case 'coord-stop': {
        const pids = node.find('plugin/main.js');
        signal(pids, 'SIGSTOP');
        return { nodes, what: `coordinator of ${n} SIGSTOPped`, heal: async () => signal(pids, 'SIGCONT') };
      }
      case 'pm2-kill': {
        const god = c.pm2DaemonPid(n);
        if (god) signal([god], 'SIGKILL');
        // An administrator reboots a node whose PM2 died (the fence has stopped its groups).
        return { nodes, what: `PM2 daemon of ${n} SIGKILLed`, heal: async () => { await c.killNode(n); await c.startNode(n); } };
      }
      case 'fence-kill': {
        const pids = node.find('fence-main');
        signal(pids, 'SIGKILL');
        return { nodes, what: `fence of ${n} SIGKILLed (${pids.length} process)`, heal: nothing };
      }
      case 'agent-kill': {
        const pids = node.find('agent-app.js');
        const p = pids.length ? [pids[Math.floor(f.pick * pids.length)]!] : [];
        signal(p, 'SIGKILL');
        return { nodes, what: p.length ? `an agent of ${n} SIGKILLed` : `no agent on ${n}`, heal: nothing };
      }
      case 'daemon-kill':
      case 'daemon-stop': {
        const pids = this.daemonPids(n, f);
        const sig = f.kind === 'daemon-kill' ? 'SIGKILL' : 'SIGSTOP';
        signal(pids, sig);
        return {
          nodes, what: pids.length ? `${f.group} daemon pid ${pids.join(',')} on ${n}: ${sig}` : `no ${f.group} daemon on ${n}`,
          heal: f.kind === 'daemon-stop' ? async () => signal(pids, 'SIGCONT') : nothing,
        };
      }
      case 'storage-hang': {
        const all = nodes.flatMap((x) => c.node(x).find('io-helper-child'));
        signal(all, 'SIGSTOP');
        return { nodes, what: `shared-directory I/O hangs on ${nodes.join(', ')}`, heal: async () => signal(all, 'SIGCONT') };
      }
      case 'storage-ro': {
        for (const x of nodes) await c.node(x).readOnlyOver(c.shared, path.join(c.base, 'ro-stage', x));
        return {
          nodes, what: `shared directory read-only on ${nodes.join(', ')}`,
          heal: async () => { for (const x of nodes) if (c.node(x).up()) await c.node(x).exec(['umount', c.shared]); },
        };
      }
      case 'record-corrupt': {
        const file = this.liveRecord(f.group);
        if (file) fs.writeFileSync(file, randomBytes(512));
        return { nodes: [], what: file ? `random bytes over ${path.basename(file)} of ${f.group}` : `no record of ${f.group}`, heal: nothing };
      }
      case 'link-cut':
        c.lan!.portDown(n, true);
        return { nodes, what: `switch port of ${n} down`, heal: async () => c.lan!.portDown(n, false) };
      case 'link-detach':
        c.lan!.detach(n, true);
        return { nodes, what: `port of ${n} detached`, heal: async () => c.lan!.detach(n, false) };
      case 'switch': {
        const to = this.up().filter((x) => x !== n).sort()[Math.floor(f.pick * 2) % 2] ?? this.up().find((x) => x !== n);
        if (!to) return { nodes, what: 'no node to switch to', heal: nothing };
        const r = await c.msgha(n, ['switch', `${f.group}:${to}`, '--no-wait'], 30_000);
        return { nodes, what: `msgha switch ${f.group}:${to} on ${n}: exit ${r.code}`, heal: nothing };
      }
      case 'evacuate': {
        const r = await c.msgha(n, ['evacuate', '--no-wait'], 30_000);
        return { nodes, what: `msgha evacuate on ${n}: exit ${r.code}`, heal: nothing };
      }
      case 'freeze': {
        const r = await c.msgha(n, ['freeze', f.group], 30_000);
        return { nodes, what: `msgha freeze ${f.group} on ${n}: exit ${r.code}`, heal: async () => { await c.msgha(n, ['unfreeze', f.group], 30_000); } };
      }
      case 'clear': {
        for (const x of this.up()) await c.msgha(x, ['clear', f.group], 30_000);
        return { nodes: this.up(), what: `msgha clear ${f.group} on every node`, heal: nothing };
      }
    }
  }

  private daemonPids(n: string, f: PlannedFault): number[] {
    if (f.group === 'mail') {
      const names = DAEMONS.mail!;
      const pid = this.c.daemonPid(n, 'mail', names[Math.floor(f.pick * names.length)]!);
      return pid ? [pid] : [];
    }
    // The directory: its slapd, by the group's process tokens.
    const tokens = this.c.groups.get(f.group)!.watched.processTokens;
    const pids = [...new Set(tokens.flatMap((t) => this.c.node(n).find(t)))];
    return pids.length ? [pids[Math.floor(f.pick * pids.length)]!] : [];
  }

  private liveRecord(group: string): string | undefined {
    const dir = path.join(this.c.shared, '.cluster', this.c.clusterName, 'groups', group);
    try {
      const epochs = fs.readdirSync(dir).filter((x) => /^epoch\.\d+$/.test(x)).map((x) => Number(x.slice(6)));
      return epochs.length ? path.join(dir, `epoch.${Math.max(...epochs)}`) : undefined;
    } catch { return undefined; }
  }
}
