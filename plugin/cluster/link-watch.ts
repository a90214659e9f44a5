/**
 * The coordinator's link watch: on EVERY node, whether it holds the group or not, each NIC
 * resource of the groups this node may run is checked (resource-types/nic.ts checkLink: carrier,
 * then the ping hosts) every MonitorInterval. A link is down once more than ToleranceLimit checks
 * in a row failed — the rule the holder's agent applies to the same resource — and up again at
 * the first check that passes. The result goes into this node's view (`links`): placement then
 * refuses a node whose link is down as a target, the node stops contending for the group, and a
 * group FAULTED here by its link is cleared once the link is back (cluster-node.ts).
 *
 * Like the holder's agent, it checks at once when the device's flags change (link-events.ts).
 *
 * Guarantees: one check per distinct link (device, hosts, namespace, interval), however many
 * groups name it; a check never overlaps the next (each ends within MonitorTimeout); checks never
 * throw; stop() ends the timers, the event monitors and the checks in flight.
 */
import type { ResolvedGroup } from '../model/cluster-types';
import { numberAttr } from '../model/attributes';
import type { Logger } from '../core/log';
import { checkLink, linkSpecOf, nicType, type LinkCheck, type LinkSpec } from '../resource-types/nic';
import { watchLinkEvents, type LinkEvents } from '../resource-types/link-events';
import type { LinkView } from './node-view';

/** The type name of link resources. */
export const LINK_TYPE = nicType.name;

interface Probe {
  spec: LinkSpec;
  everyMs: number;
  timeoutMs: number;
  tolerance: number;
  failures: number;
  up: boolean | null;
  last: LinkCheck | undefined;
  /** Date.now() at the start of the last check, when it passed (undefined: it failed, or none yet). */
  passStartedAt: number | undefined;
  since: string;
  timer: NodeJS.Timeout | undefined;
  abort: AbortController | undefined;
  running: boolean;
  /** An event came while a check ran: check again right after it. */
  again: boolean;
  events: LinkEvents | undefined;
}

interface Watched { group: string; resource: string; probe: Probe }

export class LinkWatch {
  private readonly watched: Watched[] = [];
  private readonly probes = new Map<string, Probe>();
  private stopped = false;

  constructor(groups: readonly ResolvedGroup[], private readonly log: Logger, private readonly changed: () => void) {
    for (const g of groups) {
      for (const r of g.resources) {
        if (r.type !== LINK_TYPE) continue;
        const spec = linkSpecOf(r.attrs);
        if (typeof spec === 'string') { log.warn(`${r.id}: not watched (${spec})`); continue; }
        const everyMs = numberAttr(r.attrs, 'MonitorInterval') * 1000;
        const key = JSON.stringify([spec, everyMs]);
        let probe = this.probes.get(key);
        if (!probe) {
          probe = {
            spec, everyMs, timeoutMs: numberAttr(r.attrs, 'MonitorTimeout') * 1000, tolerance: numberAttr(r.attrs, 'ToleranceLimit'),
            failures: 0, up: null, last: undefined, passStartedAt: undefined, since: new Date().toISOString(), timer: undefined, abort: undefined,
            running: false, again: false, events: undefined,
          };
          this.probes.set(key, probe);
        }
        this.watched.push({ group: g.name, resource: r.name, probe });
      }
    }
  }

  get empty(): boolean { return this.watched.length === 0; }

  start(): void {
    for (const p of this.probes.values()) {
      p.events = watchLinkEvents(p.spec.device, p.spec.containerName, () => this.now(p), this.log);
      void this.run(p);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const p of this.probes.values()) { if (p.timer) clearTimeout(p.timer); p.abort?.abort(); p.events?.close(); }
  }

  /** A flag of the device changed: check at once (after the check in flight, if any). */
  private now(p: Probe): void {
    if (this.stopped) return;
    if (p.running) { p.again = true; return; }
    if (p.timer) clearTimeout(p.timer);
    void this.run(p);
  }

  private async run(p: Probe): Promise<void> {
    if (this.stopped) return;
    p.running = true;
    const started = Date.now();
    p.abort = new AbortController();
    const limit = setTimeout(() => p.abort?.abort(), p.timeoutMs);
    let c: LinkCheck;
    try { c = await checkLink(p.spec, { signal: p.abort.signal, log: this.log }); } finally { clearTimeout(limit); p.running = false; }
    if (this.stopped) return;
    p.last = c;
    p.passStartedAt = c.up ? started : undefined;
    const was = p.up;
    if (c.up) { p.failures = 0; p.up = true; } else {
      p.failures += 1;
      if (p.failures > p.tolerance) p.up = false;
    }
    if (p.up !== was) {
      p.since = new Date().toISOString();
      const level = p.up === false ? 'error' : 'info';
      this.log[level](`link ${p.spec.device}: ${p.up ? 'up' : 'DOWN'} (${c.reason})`);
      this.changed();
    }
    const again = p.again;
    p.again = false;
    p.timer = setTimeout(() => { void this.run(p); }, again ? 0 : Math.max(0, p.everyMs - (Date.now() - started)));
  }

  /** Every link of every group, for this node's view. */
  views(): LinkView[] {
    return this.watched.map(({ group, resource, probe: p }) => ({
      group, resource, device: p.spec.device, up: p.up, verified: p.last?.verified ?? false,
      reason: p.last?.reason ?? 'not checked yet', since: p.since,
    }));
  }

  /** The first link of the group that is down here, or undefined. */
  down(group: string): LinkView | undefined {
    return this.views().find((l) => l.group === group && l.up === false);
  }

  /**
   * The group has links and the last check of every one of them passed and started after
   * `t` (Date.now() ms): proof the links work now, whatever the count of failures said before.
   */
  passedSince(group: string, t: number): boolean {
    const mine = this.watched.filter((w) => w.group === group);
    return mine.length > 0 && mine.every((w) => w.probe.up === true && (w.probe.passStartedAt ?? 0) > t);
  }

  /** This node's IPv4 addresses per watched device (other nodes ping them: `reach`). */
  addresses(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const p of this.probes.values()) if (p.last?.addresses.length) out[p.spec.device] = [...p.last.addresses];
    return out;
  }
}
