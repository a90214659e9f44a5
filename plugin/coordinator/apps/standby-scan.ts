/**
 * The standby's work, done once per node by the coordinator instead of by an agent per resource:
 * every OfflineMonitorInterval, each resource that is not running here (OFFLINE, FAULTED or
 * UNKNOWN, no agent app up) is checked with its first-level monitor; any live process of it is a
 * concurrency violation, handed to its group runner (which cleans it when the group does not run
 * here). The checks that fall due in one tick run together, so they share one /proc snapshot
 * (proc/table.ts keeps it a few hundred ms).
 *
 * Guarantees: a resource is never checked while its app is up or starting, nor while the
 * coordinator runs another of its functions; a verdict is dropped when the resource started
 * meanwhile; a persistent type (NIC: a fact of the node) is never checked; a check cut short is
 * no verdict.
 */
import { numberAttr } from '../../model/attributes';
import type { FunctionOutcome } from '../../resource-types/function-runner';
import type { AppRegistry } from './app-registry';
import type { GroupRunner } from '../group-runner';
import type { InProcessAgents } from './in-process';
import type { ResState } from '../group-types';

/** States in which nothing of ours should run the resource here. */
const STANDBY: ReadonlySet<ResState> = new Set(['OFFLINE', 'FAULTED', 'UNKNOWN']);

export class StandbyScan {
  private readonly due = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  /** `secondMs`: one second of OfflineMonitorInterval (tests shorten it). */
  constructor(
    private readonly groups: ReadonlyMap<string, Pick<GroupRunner, 'resources' | 'resourceState' | 'onReport'>>,
    private readonly apps: Pick<AppRegistry, 'isUp' | 'isStarting'>,
    private readonly local: InProcessAgents,
    private readonly secondMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.secondMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private idle(g: Pick<GroupRunner, 'resourceState'>, id: string): boolean {
    const state = g.resourceState(id);
    return !!state && STANDBY.has(state) && !this.apps.isUp(id) && !this.apps.isStarting(id);
  }

  /** Run every check that is due now (the timer calls it every second). */
  tick(): void {
    const at = this.now();
    for (const g of this.groups.values()) {
      for (const res of g.resources()) {
        const every = numberAttr(res.attrs, 'OfflineMonitorInterval');
        if (every <= 0 || this.local.typeOf(res.type)?.persistent) continue;
        if (!this.idle(g, res.id) || this.local.busy(res.id)) { this.due.delete(res.id); continue; }
        const due = this.due.get(res.id);
        if (due === undefined) { this.due.set(res.id, at + every * this.secondMs); continue; }
        if (due > at) continue;
        this.due.set(res.id, at + every * this.secondMs);
        void this.local.run(res, 'monitor').then((o) => this.verdict(g, res.id, o));
      }
    }
  }

  private verdict(g: Pick<GroupRunner, 'resourceState' | 'onReport'>, id: string, o: FunctionOutcome): void {
    if (o.cancelled || !this.idle(g, id)) return;
    // Any live process of this instance counts, not only a complete one: a lone store daemon on
    // a standby writes to the same mailboxes as the holder's.
    const partly = o.state !== 'ONLINE' && (o.pids?.length ?? 0) > 0;
    if (o.state !== 'ONLINE' && !partly) return;
    const what = partly ? `partly running (pids ${o.pids!.join(',')})` : 'running';
    g.onReport({
      resource: id, pid: process.pid, fn: 'monitor', state: 'ONLINE', target: 'offline', violation: true, durationMs: o.durationMs,
      reason: `concurrency violation: ${partly ? `${what}: ` : ''}${o.reason}`,
    });
  }
}
