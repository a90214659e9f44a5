/**
 * Carrying out the recovery policy (plugin/recovery/policy.ts) for one group: a resource that
 * faulted while the group runs (restart in place, fail over, wait for the operator), a first
 * online that failed (OnlineRetryLimit), and the group fault itself. Every choice comes from
 * decide(); this file only does what it says, in order, and writes the outcome in the book.
 */
import type { RecoveryClass } from '../core/results';
import type { AgentReport } from '../pm2/protocol';
import type { FaultReason } from '../metrics/snapshot';
import { decide, type DecisionOf } from '../recovery/policy';
import type { GroupBook } from './group-book';
import type { Started } from './group-order';
import type { GroupRunnerDeps, Runtime } from './group-types';

/** What recovery needs from the runner. */
export interface RecoveryHooks {
  /** True when this node is losing the group's lease (see GroupRunner.leaseSettled). */
  losingLease(): Promise<boolean>;
  /** No automatic action while the group is frozen. */
  frozen(): boolean;
  /** Take every resource offline in order, but leave `keep`'s state as it is. */
  stopAll(keep: Runtime): Promise<string[]>;
}

type GiveUp = DecisionOf<'fail-over' | 'operator'>;

export class GroupRecovery {
  constructor(private readonly book: GroupBook, private readonly deps: GroupRunnerDeps, private readonly hooks: RecoveryHooks) {}

  /** A full monitor (both levels) of one resource now: is a fault reported earlier still there? */
  recheck(r: Runtime): Promise<AgentReport> {
    return this.book.ask(r, { cmd: 'monitor', deep: true });
  }

  /** The hot path: a resource of a running group faulted. `deep`: found by a deep check. */
  async onFault(r: Runtime, reason: string, recovery: RecoveryClass | undefined, cause: FaultReason, deep = false): Promise<void> {
    const book = this.book;
    const running = r.state === 'ONLINE' && book.running();
    const losingLease = running && await this.hooks.losingLease();
    const d = decide({
      at: 'fault', attrs: r.res.attrs, why: reason, recovery, running, losingLease, frozen: this.hooks.frozen(),
      inAdoptionGrace: deep && r.adoptionGraceUntil !== undefined && book.now() < r.adoptionGraceUntil,
      restartsUsed: r.budget.used(),
    });
    switch (d.do) {
      case 'ignore':
        book.log.info(`${r.res.id}: fault report ignored (${r.state} in a ${book.state} group): ${reason}`);
        return;
      case 'stand-down':
        book.log.warn(`${r.res.id}: ${reason} — not restarted: the lease of ${book.name} is being lost here`);
        if (r.state === 'ONLINE') book.setRes(r, 'OFFLINE', `${reason} (${d.why})`);
        return;
      default:
        book.emit((e) => e.fault(r.res, cause));
    }
    switch (d.do) {
      case 'hold':
        // The operator is working on the group: report, never act.
        book.setRes(r, 'FAULTED', `${reason} (${d.why})`);
        r.faultedWhileFrozen = true;
        book.settle(`${r.res.name} faulted while frozen`);
        return;
      case 'restart-here':
        return this.restartInPlace(r, reason, d);
      default:
        return this.giveUp(r, d);
    }
  }

  private async restartInPlace(r: Runtime, reason: string, first: DecisionOf<'restart-here'>): Promise<void> {
    const book = this.book;
    if (first.recheckFirst) {
      const again = await this.recheck(r);
      if (again.state === 'ONLINE' && r.state === 'ONLINE') {
        book.log.info(`${r.res.id}: ${reason} — right after a coordinator restart; passes again (${again.reason}): not restarted`);
        return;
      }
      r.adoptionGraceUntil = undefined;
    }
    let last = reason;
    for (let d = first; ;) {
      if (d.charge?.to === 'RestartLimit') r.budget.take();
      r.restarts += 1;
      book.emit((e) => e.restart(r.res));
      book.setRes(r, 'RESTARTING', last);
      book.setState('PARTIAL', `${r.res.name} faulted (${last}); ${d.why}`);
      const cleaned = await book.ask(r, { cmd: 'clean' });
      if (!cleaned.ok) {
        last = `clean failed: ${cleaned.reason}`;
        return this.giveUp(r, decide({ at: 'restart-failed', step: 'clean', attrs: r.res.attrs, why: last }));
      }
      const rep = await this.onlineAfterCrash(r);
      if (rep.ok) {
        book.setRes(r, 'ONLINE', `restarted in place: ${rep.reason}`);
        book.settle(`${r.res.name} restarted in place`);
        return;
      }
      last = `online after restart failed: ${rep.reason}`;
      book.emit((e) => e.fault(r.res, 'online-failed'));
      const losingLease = await this.hooks.losingLease();
      const next = decide({ at: 'restart-failed', step: 'online', attrs: r.res.attrs, why: last, losingLease, restartsUsed: r.budget.used() });
      if (next.do === 'stand-down') { book.setRes(r, 'UNKNOWN', `${last} (${next.why})`); return; }
      if (next.do !== 'restart-here') return this.giveUp(r, next);
      d = next;
    }
  }

  /** The online of a restart in place, tried again at once while the policy says so (QUICK_RETRY). */
  private async onlineAfterCrash(r: Runtime): Promise<AgentReport> {
    const first = this.book.now();
    for (;;) {
      const t0 = this.book.now();
      const rep = await this.book.ask(r, { cmd: 'online' });
      if (rep.ok) return rep;
      const d = decide({
        at: 'restart-online-failed', why: rep.reason, recovery: rep.recovery, elapsedMs: this.book.now() - t0, sinceFirstMs: this.book.now() - first,
        losingLease: await this.hooks.losingLease(),
      });
      if (d.do === 'fault') return rep;
      this.book.log.warn(`${r.res.id}: ${d.why}`);
      await new Promise((resolve) => setTimeout(resolve, d.pauseMs ?? 0));
      await this.book.ask(r, { cmd: 'clean' });
    }
  }

  private async giveUp(r: Runtime, d: GiveUp): Promise<void> {
    if (d.do === 'fail-over') { await this.faultGroup(`critical resource ${r.res.name} faulted: ${d.why}`, r); return; }
    await this.book.ask(r, { cmd: 'clean' });
    this.book.setRes(r, 'FAULTED', d.why);
    this.book.settle(`non-critical ${r.res.name} FAULTED`);
  }

  /**
   * Take the whole group offline here and mark it FAULTED (`onFaulted`: the cluster fails it
   * over); false (nothing done but the culprit's state) when the lease is being lost here: the
   * lease's offline, queued behind this, stops the group, and the node must stay eligible.
   */
  async faultGroup(reason: string, culprit: Runtime): Promise<boolean> {
    const book = this.book;
    const d = decide({ at: 'group-fault', losingLease: await this.hooks.losingLease() });
    if (d.do === 'stand-down') {
      book.log.warn(`group ${book.name}: ${reason} — not FAULTED: the lease is being lost here`);
      book.setRes(culprit, 'UNKNOWN', `${reason} (${d.why})`);
      return false;
    }
    book.setRes(culprit, 'FAULTED', reason);
    book.emit((e) => e.failover('resource-fault'));
    book.setState('STOPPING', reason);
    await this.hooks.stopAll(culprit);
    book.setState('FAULTED', reason);
    if (this.deps.onFaulted) {
      try { this.deps.onFaulted(reason); } catch (err) { book.log.error(`group ${book.name}: onFaulted: ${String(err)}`); }
    }
    return true;
  }

  /**
   * First online of one resource (its app restarted first if PM2 has it stopped): after a
   * failure it is cleaned and, while the policy says so (OnlineRetryLimit), tried again.
   */
  async startOne(r: Runtime, signal?: AbortSignal): Promise<Started> {
    const book = this.book;
    if (r.state === 'STOPPED' && !(await this.deps.restartApp(r.res.id))) {
      const failed = decide({ at: 'cannot-try', attrs: r.res.attrs, why: 'agent app could not be started' });
      book.setRes(r, 'FAULTED', failed.why);
      return { ok: false, reason: failed.why, failed };
    }
    let doing = 'online';
    for (let attempts = 1; ; attempts++) {
      book.setRes(r, 'STARTING', doing);
      const rep = await book.ask(r, { cmd: 'online' });
      if (rep.ok) {
        const n = attempts - 1;
        book.setRes(r, 'ONLINE', n === 0 ? rep.reason : `${rep.reason} (after ${n} OnlineRetryLimit retr${n === 1 ? 'y' : 'ies'})`);
        return { ok: true, reason: rep.reason };
      }
      const mayRun = !signal?.aborted;
      book.log.warn(`${r.res.id}: online failed (${rep.reason}); cleaning`);
      book.emit((e) => e.fault(r.res, 'online-failed'));
      const cleaned = await book.ask(r, { cmd: 'clean' });
      const d = decide({ at: 'online-failed', attrs: r.res.attrs, why: rep.reason, recovery: rep.recovery, attempts, cleaned: cleaned.ok === true, mayRun });
      if (d.do === 'restart-here') { doing = d.why; continue; }
      book.setRes(r, 'FAULTED', `online failed: ${d.why}${cleaned.ok ? '' : `; clean failed: ${cleaned.reason}`}`);
      return { ok: false, reason: d.why, failed: d };
    }
  }
}
