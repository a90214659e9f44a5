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
  /**
   * After a pause's heal: per group, the bytes the paused node's daemons wrote (dirtied, from
   * /proc/<pid>/io write_bytes) between the thaw and their end — any is a write to the shared
   * disk, which matters when another node mounted it meanwhile (campaign.ts decides).
   */
  writesAfterThaw?: Record<string, number>;
  heal(): Promise<void>;
}

/** Dirtied bytes a process caused so far (write_bytes of /proc/<pid>/io), or undefined when gone. */
function writeBytes(pid: number): number | undefined {
  try {
    const m = /^write_bytes:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch { return undefined; }
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
      case 'node-pause': {
        node.pause(true);
        const done: Injected = {
          nodes, what: `${n} paused (every process SIGSTOPped)`, paused: [n],
          heal: async () => { done.writesAfterThaw = await this.thawWatchingWrites(n); },
        };
        return done;
      }
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

  /**
   * Thaws a paused node and follows its group daemons' dirtied bytes from the instant of the
   * thaw (read while still stopped) until they end (at most 10 s): what they wrote after the thaw.
   */
  private async thawWatchingWrites(n: string): Promise<Record<string, number>> {
    const node = this.c.node(n);
    const watched = [...this.c.groups.values()].map((g) => ({ group: g.plan.name, pids: [...new Set(g.watched.processTokens.flatMap((t) => node.find(t)))] }));
    const base = new Map<number, number>();
    for (const w of watched) for (const p of w.pids) { const b = writeBytes(p); if (b !== undefined) base.set(p, b); }
    node.pause(false);
    const last = new Map(base);
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      let alive = 0;
      for (const p of base.keys()) { const b = writeBytes(p); if (b !== undefined) { last.set(p, b); alive += 1; } }
      if (alive === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return Object.fromEntries(watched.map((w) => [w.group, w.pids.reduce((s, p) => s + Math.max(0, (last.get(p) ?? 0) - (base.get(p) ?? 0)), 0)]));
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
