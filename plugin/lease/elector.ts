/**
 * The lease elector of one group on one node (docs/lease.md, "The protocol"): observe, claim,
 * renew, release with handoff_to, obey the admin file (freeze, move), self-fence. The claim rule
 * is observation.ts; the store calls, each bounded by T_io, are group-files.ts.
 *
 * Guarantees, given the store contract (store.ts), T1–T4 (profiles.ts) and clock rate errors
 * within rho:
 * - it claims only after a read it issued at least L after the last life of epoch.N (a trusted
 *   record with a greater counter: observation.ts) found no newer life, or after a trusted
 *   RELEASED record (at once when handoff_to names this node, after the placement wait when it
 *   names nobody, after L otherwise or when it released itself);
 * - it claims the first number above N whose file is absent: on EEXIST it reads the file, follows
 *   it when it is trusted, and passes it when it is not once it showed no life for L
 *   (observation.ts FileSights; CLAIM_TRIES per cycle, the next cycle goes on from there), so
 *   unverified files never block a takeover for good and every contender of N meets the same
 *   first free number;
 * - a holder steps down only for a newer epoch whose record it trusts; unverified files are
 *   counted, logged and ignored;
 * - a renewal counts only when it started before FS − T_io after the previous one and took at
 *   most T_io, measured from before the write; the serve deadline is w_last + FS;
 * - at the serve deadline, when superseded, or on fence(), the leadership signal aborts and
 *   onLost runs; RELEASED is written only after onLost resolved (services stopped);
 * - decisions use only this node's monotonic clock and records verified with the cluster's
 *   shared-directory key (shared-key.ts); wall time is never read for a decision.
 * Not guaranteed: that services stop — the fence process (plugin/fence) kills them at F even
 * when this loop is paused; that a frozen group moves (freeze stops claims, never self-fencing).
 */
import type { AcquireInfo, ElectorEvent, ElectorOptions, ElectorState, ElectorStatus, LostReason, RenewInfo, ResumeToken } from './elector-types';
import { effectiveAdmin } from './admin';
import { GroupFiles } from './group-files';
import { FileSights, Observation, type ClaimRules } from './observation';
import { type LeaseRecord } from './record';
import { SharedDirKey } from './shared-key';
import { fenceMs, renewDeadlineMs, timingsDigest } from './profiles';
import type { IoResult } from './store';

export type { AcquireInfo, ElectorEvent, ElectorOptions, ElectorState, ElectorStatus, LostReason, RenewInfo, ResumeToken } from './elector-types';

/** Renewal cycles between checks of the admin file and of epoch E+1 (docs/lease.md, Checks). */
const CHECK_EVERY = 5;
/** Follower polls between directory listings (to move up when a newer epoch appeared). */
const LIST_EVERY = 5;
const GC_KEEP = 1000;
/** Epoch files tried per claim cycle, and read per listing or holder check (unverified files cost this much at most). */
const CLAIM_TRIES = 8;
const SCAN_READS = 8;
const TMP_MAX_AGE_MS = 3_600_000;

const defaultNonce = (): string => {
  const b = Buffer.alloc(8);
  for (let i = 0; i < 8; i++) b[i] = Math.floor(Math.random() * 256);
  return b.toString('hex');
};

export class Elector {
  private state: ElectorState = 'stopped';
  private loop: Promise<void> | undefined;
  private wake = new AbortController();
  private stopping = false;

  // follower: the epoch watched and when it may be claimed
  private readonly obs = new Observation();
  /** Untrusted files above the followed epoch, judged before a claim passes them. */
  private readonly sights = new FileSights();
  private polls = 0;
  /** A holder-silent event was emitted for the current silence (reset by the next life). */
  private silentNoted = false;
  /** The claim goes on from this number while following `claimFrom.n` (files below it did not verify). */
  private claimFrom: { n: number; next: number } | undefined;
  /** The holder's scan of newer files goes on from here (files below it did not verify). */
  private supersedeFrom = 0;

  // holder
  private record: LeaseRecord | undefined;
  private wLast = 0;
  private renewals = 0;
  private renewFailures = 0;
  private lastRenewMs: number | undefined;
  private leadership: AbortController | undefined;
  private deadlineWatch: AbortController | undefined;
  private renewing: Promise<unknown> | undefined;
  private releasing = false;
  /** Set while a release writes RELEASED: no renewal may overwrite it. */
  private noRenew = false;
  private cycles = 0;
  private handledAdmin = new Set<string>();

  private lastHolder = '';
  private lastLeaseState: ElectorStatus['leaseState'] = 'UNKNOWN';
  readonly key: SharedDirKey;
  private frozen = false;
  private readonly nonceFn: () => string;
  private readonly F: number;
  private readonly Dr: number;
  private readonly files: GroupFiles;
  private readonly rules: ClaimRules;

  constructor(private readonly o: ElectorOptions) {
    this.nonceFn = o.nonce ?? defaultNonce;
    this.F = fenceMs(o.profile.timings);
    this.Dr = renewDeadlineMs(o.profile.timings);
    this.key = o.key ?? SharedDirKey.ephemeral();
    this.files = new GroupFiles(o.store, o.group, o.node, o.clock, o.profile.timings.ioTimeoutMs, this.key);
    this.rules = { node: o.node, leaseMs: o.profile.timings.leaseMs, claimDelay: (prev) => this.claimDelay(prev) };
  }

  private get t() { return this.o.profile.timings; }
  private emit(e: ElectorEvent): void { try { this.o.onEvent?.(e); } catch { /* observers never break the loop */ } }

  private setState(s: ElectorState, why: string): void {
    if (s === this.state) return;
    this.o.log?.info(`lease ${this.o.group}: ${this.state} → ${s} (${why})`);
    this.state = s;
    this.emit({ type: 'state', detail: `${s}: ${why}`, epoch: this.obs.n });
  }

  /** Starts as a follower (or resumes holding after a coordinator restart: docs/lease.md, Coordinator restart). */
  start(opts: { resume?: ResumeToken } = {}): void {
    if (this.loop) return;
    this.stopping = false;
    this.setState('follower', 'started');
    this.loop = this.run(opts.resume).catch((err: unknown) => {
      this.o.log?.error(`lease ${this.o.group}: elector loop failed: ${err instanceof Error ? err.stack : String(err)}`);
    });
  }

  /** Stops the loop; a holder first releases (services stopped through onLost). */
  async stop(): Promise<void> {
    if (this.state === 'holder') await this.release();
    this.stopping = true;
    this.wake.abort();
    await this.loop;
    this.loop = undefined;
    this.setState('stopped', 'stopped');
  }

  /** Self-fence now (e.g. the data volume's .cluster-epoch is newer, or the fence process fired). */
  fence(reason: LostReason = 'fenced'): void {
    if (this.state === 'holder') void this.selfFence(reason);
  }

  /** The current nonce and epoch (for the fence's resume check after a coordinator restart). */
  tenure(): { epoch: number; nonce: string } | undefined {
    return this.state === 'holder' && this.record ? { epoch: this.record.epoch, nonce: this.record.nonce } : undefined;
  }

  status(): ElectorStatus {
    // The serve deadline on this node's clock: w_last + FS.
    const sd = this.state === 'holder' ? this.wLast + this.t.fenceStartMs : undefined;
    return {
      group: this.o.group,
      node: this.o.node,
      state: this.state,
      epoch: this.state === 'holder' ? this.record?.epoch : this.obs.n,
      holder: this.lastHolder,
      leaseState: this.lastLeaseState,
      remainingServeMs: sd === undefined ? undefined : Math.max(0, sd - this.o.clock.now()),
      lastRenewMs: this.lastRenewMs,
      renewFailures: this.renewFailures,
      renewals: this.renewals,
      frozen: this.frozen,
      profile: this.o.profile.name,
    };
  }

  /**
   * Planned release (switch, evacuate, shutdown): leadership aborts, onLost stops the services
   * (renewals continue meanwhile, so a slow stop never overruns FS by itself), then RELEASED is
   * written with handoff_to. Others claim at once (handoff target or nobody named) or after L.
   */
  async release(handoffTo = ''): Promise<{ ok: boolean; reason: string }> {
    if (this.state !== 'holder' || !this.record || this.releasing) return { ok: false, reason: `not the holder of group ${this.o.group}` };
    this.releasing = true;
    const epoch = this.record.epoch;
    this.leadership?.abort(new Error('released'));
    await this.callLost('released', epoch);
    if (this.state !== 'holder') { this.releasing = false; return { ok: false, reason: 'leadership ended while stopping (self-fenced)' }; }
    this.stopHolding();
    this.noRenew = true;
    await this.renewing;
    const r = await this.writeReleased(epoch, handoffTo);
    this.releasing = false;
    this.becomeFollower(epoch, 'released' + (handoffTo ? ` to ${handoffTo}` : ''));
    this.obs.ownReleased = epoch;
    this.emit({ type: 'released', epoch, detail: handoffTo });
    return r.ok ? { ok: true, reason: `released epoch ${epoch}${handoffTo ? ` to ${handoffTo}` : ''}` }
      : { ok: false, reason: `services stopped, but RELEASED could not be written (${r.message}); others take over after L` };
  }

  // ---- main loop ----------------------------------------------------------------------------

  private async run(resume?: ResumeToken): Promise<void> {
    if (resume) await this.tryResume(resume);
    while (!this.stopping) {
      if (this.state === 'follower') {
        await this.followStep();
        if (this.state === 'follower') await this.o.clock.sleep(this.t.pollMs, this.wake.signal);
      } else if (this.state === 'holder') {
        await this.renewStep();
        if (this.state === 'holder') {
          const untilFence = this.wLast + this.t.fenceStartMs - this.o.clock.now();
          await this.o.clock.sleep(Math.max(0, Math.min(this.t.renewMs, untilFence)), this.wake.signal);
        }
      } else {
        await this.o.clock.sleep(this.t.pollMs, this.wake.signal); // 'fencing': selfFence drives the state
      }
      if (this.wake.signal.aborted && !this.stopping) this.wake = new AbortController();
    }
  }

  private becomeFollower(n: number, why: string): void {
    this.obs.reset(n);
    this.setState('follower', why);
  }

  /**
   * Lists the group and moves up to the newest epoch whose record this node trusts. Files above
   * the followed epoch are read newest first, then oldest first (SCAN_READS each way at most);
   * one that does not verify is ignored for judgement and read again at the next listing (a
   * real record may replace it). Before anything is trusted, the lowest file is followed: a
   * follower may judge too old an epoch (its claim then walks up through the newer files), never
   * one above the real holder's.
   */
  private async discover(missing = false): Promise<boolean> {
    const l = await this.files.listEpochs();
    if (!l.ok) return false;
    if (l.value.length === 0) {
      // An empty group gets epoch.0 = RELEASED, so the first claim needs no L wait and still
      // goes through link(): exactly one node wins epoch 1.
      const c = await this.files.createEpoch(0, this.makeRecord(0, 'RELEASED', ''));
      if (!c.ok) return false;
      this.obs.reset(0);
      return true;
    }
    const from = this.obs.n ?? -1;
    const above = l.value.filter((e) => e > from);
    const order = [...above.slice(-SCAN_READS).reverse(), ...above.slice(0, SCAN_READS)];
    const tried = new Set<number>();
    let newest: number | undefined;
    for (const e of order) {
      if (tried.has(e) || (newest !== undefined && e <= newest)) continue;
      tried.add(e);
      const r = await this.files.readEpoch(e);
      if (r.ok && r.value.record) { this.obs.trust(e); newest = e; }
      // judged from now on, so that a claim can pass it once it showed no life for L
      else if (r.ok) this.sights.note(e, r.value, this.o.clock.now(), this.t.leaseMs);
    }
    if (newest !== undefined) this.sights.forget(newest);
    if (newest !== undefined) this.obs.follow(newest, missing);
    else if (this.obs.n === undefined) this.obs.follow(Math.max(l.value[0]!, this.obs.highest), missing);
    else if (missing) this.obs.follow(Math.max(...l.value.filter((e) => e <= this.obs.n!), -1), true);
    return true;
  }

  /** Observe (a fresh read of the followed epoch), then claim when due. */
  private async followStep(): Promise<void> {
    if (this.obs.n === undefined) { if (!(await this.discover())) return; }
    if (++this.polls % LIST_EVERY === 0) await this.discover();
    const n = this.obs.n!;
    // t_issue before the read; an error or timeout is no observation and moves no timer.
    const tIssue = this.o.clock.now();
    const r = await this.files.readEpoch(n);
    if (this.state !== 'follower' || this.obs.n !== n) return;
    if (!r.ok) {
      if (r.code !== 'ENOENT') return;
      // A trusted epoch whose file vanished is not released: its holder may be alive. No life
      // comes from it; after L without life the claim goes above it.
      if (n <= this.obs.highest) {
        if (this.obs.absent(tIssue, this.o.clock.now(), this.rules) === 'claim') await this.claim(n);
      } else {
        await this.discover(true);
      }
      return;
    }
    const tDone = this.o.clock.now();
    const rec = r.value.record;
    const { verdict, life } = this.obs.observe(n, r.value, tIssue, tDone, this.rules);
    this.lastHolder = this.obs.holder();
    this.lastLeaseState = this.obs.leaseState();
    if (life) this.emit({ type: 'observed-change', epoch: n });
    const silent = this.obs.silentFor(tDone);
    if (life || silent === undefined || silent <= silentAfterMs(this.t) || this.obs.holder() === this.o.node) this.silentNoted = false;
    else if (!this.silentNoted) {
      this.silentNoted = true;
      this.emit({ type: 'holder-silent', epoch: n, detail: `${this.obs.holder()}: no renewal seen for ${Math.round(silent)} ms` });
    }
    // A claim whose outcome we never learned turned out to be ours: nothing started, release it.
    if (verdict === 'release-pending' && rec) await this.writeReleased(n, '', rec);
    else if (verdict === 'claim') await this.claim(n);
  }

  private claimDelay(previousHolder: string): number {
    try {
      return Math.max(0, this.o.claimDelayMs?.(previousHolder) ?? 0);
    } catch {
      return 0;
    }
  }

  private makeRecord(epoch: number, state: 'HELD' | 'RELEASED', handoffTo: string): LeaseRecord {
    return {
      state, epoch, counter: 0, holder: this.o.node, nonce: this.nonceFn().slice(0, 16),
      incarnation: this.o.incarnation ?? 0, leaseMs: this.t.leaseMs, fenceMs: this.F,
      wallMs: Date.now(), handoffTo, flags: 0, profileDigest: timingsDigest(this.t),
    };
  }

  /** Claims the first free epoch above n (docs/lease.md, Claim). */
  private async claim(n: number): Promise<void> {
    // 1. Frozen, or the admin file unreadable: do nothing.
    const adm = await this.files.readAdmin();
    if (!adm.ok) return;
    const cmd = adm.value.cmd === 'invalid' ? adm.value : effectiveAdmin(adm.value);
    const wasFrozen = this.frozen;
    this.frozen = cmd.cmd === 'freeze';
    if (this.frozen) { if (!wasFrozen) this.emit({ type: 'frozen', epoch: n }); return; }
    if (cmd.cmd === 'invalid') return;
    // 2.–3. Full HELD record in a temp file, link() to the first absent number above n. A file
    // there that does not verify is passed once it showed no life for L (FileSights); the walk
    // goes on from where it stopped at the next poll.
    let next = this.claimFrom?.n === n ? this.claimFrom.next : n + 1;
    let rec: LeaseRecord | undefined;
    let r: IoResult<'created' | 'exists'> | undefined;
    let t0 = 0;
    let t1 = 0;
    let won = false;
    let unknown = false;
    for (let tries = 0; ; tries++) {
      if (!Number.isSafeInteger(next + 1)) { this.o.log?.error(`lease ${this.o.group}: no epoch number left above ${n}: no claim`); return; }
      if (tries >= CLAIM_TRIES) {
        this.claimFrom = { n, next };
        this.o.log?.warn(`lease ${this.o.group}: epoch files ${n + 1}..${next - 1} exist but do not verify: claim goes on from epoch ${next} at the next poll`);
        return;
      }
      rec = this.makeRecord(next, 'HELD', '');
      t0 = this.o.clock.now();
      r = await this.files.createEpoch(next, rec);
      t1 = this.o.clock.now();
      if (this.stopping) return;
      won = r.ok && r.value === 'created';
      unknown = !r.ok;
      if (!r.ok || r.value !== 'exists') break;
      // 4. EEXIST: ours if the file carries our nonce (a retransmitted link after a lost reply);
      // someone else's trusted record: they won. Anything else may be passed once it showed no
      // life for L (FileSights): until then, no claim.
      const back = await this.files.readEpoch(next);
      if (!back.ok) { unknown = true; break; }
      const there = back.value.record;
      if (there) { won = there.nonce === rec.nonce; break; }
      if (!this.sights.note(next, back.value, this.o.clock.now(), this.t.leaseMs)) {
        this.claimFrom = { n, next };
        return;
      }
      next += 1;
    }
    this.claimFrom = undefined;
    if (unknown) {
      // Outcome unknown: follow n+1; if it turns out to carry our nonce, release it.
      this.obs.pending = { epoch: next, nonce: rec.nonce };
      this.obs.reset(next);
      return;
    }
    if (!won) {
      this.emit({ type: 'claim-lost', epoch: next });
      this.obs.trust(next);
      this.obs.reset(next); // restart observation from nothing: a full L
      return;
    }
    this.obs.trust(next);
    // 5. Won, but too slowly: nothing has started, so give it back.
    if (t1 - t0 > this.t.ioTimeoutMs) {
      await this.writeReleased(next, '', rec);
      this.obs.reset(next);
      this.obs.ownReleased = next;
      return;
    }
    this.becomeHolder(rec!, t0);
  }

  private becomeHolder(rec: LeaseRecord, wLast: number, resumed = false): void {
    this.record = rec;
    this.wLast = wLast;
    this.obs.n = rec.epoch;
    this.obs.trust(rec.epoch);
    this.supersedeFrom = rec.epoch + 1;
    this.obs.ownReleased = undefined;
    this.obs.pending = undefined;
    this.lastHolder = this.o.node;
    this.lastLeaseState = 'HELD';
    this.noRenew = false;
    this.releasing = false;
    this.cycles = 0;
    this.leadership = new AbortController();
    this.setState('holder', `acquired epoch ${rec.epoch}`);
    this.armDeadlineWatch();
    this.emit({ type: 'acquired', epoch: rec.epoch, detail: resumed ? 'resumed' : undefined });
    const info: AcquireInfo = { ...this.renewInfo(0), resumed };
    try { this.o.onAcquired?.(rec.epoch, this.leadership.signal, info); } catch (err) {
      this.o.log?.error(`lease ${this.o.group}: onAcquired threw: ${String(err)}`);
    }
    void this.files.gc(rec.epoch - GC_KEEP, TMP_MAX_AGE_MS);
  }

  private renewInfo(renewMs: number): RenewInfo {
    const now = this.o.clock.now();
    return {
      epoch: this.record!.epoch,
      serveRemainingMs: this.wLast + this.t.fenceStartMs - now,
      killRemainingMs: this.wLast + this.F - now,
      renewMs,
    };
  }

  /** A timer at w_last + FS, re-armed by every successful renewal: self-fence on time even if the loop is busy. */
  private armDeadlineWatch(): void {
    this.deadlineWatch?.abort();
    const ctl = new AbortController();
    this.deadlineWatch = ctl;
    const at = this.wLast + this.t.fenceStartMs;
    void this.o.clock.sleep(at - this.o.clock.now(), ctl.signal).then(() => {
      if (ctl.signal.aborted || this.state !== 'holder') return;
      if (this.o.clock.now() >= this.wLast + this.t.fenceStartMs) void this.selfFence('renew-deadline');
    });
  }

  private stopHolding(): void {
    this.deadlineWatch?.abort();
    this.deadlineWatch = undefined;
  }

  /** Renews (docs/lease.md, Renew), and every CHECK_EVERY cycles runs the holder's checks. */
  private async renewStep(): Promise<void> {
    const rec = this.record!;
    // A release is writing RELEASED (services already stopped): nothing may overwrite it.
    if (this.noRenew) return;
    const now = this.o.clock.now();
    if (now >= this.wLast + this.t.fenceStartMs) { await this.selfFence('renew-deadline'); return; }
    if (now < this.wLast + this.Dr) {
      const next: LeaseRecord = { ...rec, counter: rec.counter + 1, wallMs: Date.now() };
      const t = this.o.clock.now();
      const p = this.files.writeEpoch(rec.epoch, next);
      this.renewing = p;
      const r = await p;
      const d = this.o.clock.now();
      if (this.state !== 'holder' || this.record !== rec) return;
      // Success only with no error and d − t ≤ T_io (t taken before the write: a pause anywhere fails it).
      if (r.ok && d - t <= this.t.ioTimeoutMs) {
        this.record = next;
        this.wLast = t;
        this.renewals++;
        this.lastRenewMs = d - t;
        this.armDeadlineWatch();
        const info = this.renewInfo(d - t);
        this.emit({ type: 'renewed', epoch: rec.epoch });
        try { this.o.onRenewed?.(info); } catch (err) { this.o.log?.error(`lease ${this.o.group}: onRenewed threw: ${String(err)}`); }
      } else {
        this.record = next; // the write may still land: later renewals must keep counting upward
        this.renewFailures++;
        this.emit({ type: 'renew-failed', epoch: rec.epoch, detail: r.ok ? `took ${d - t} ms` : r.message });
        this.o.log?.warn(`lease ${this.o.group}: renewal of epoch ${rec.epoch} failed (${r.ok ? `took ${Math.round(d - t)} ms > T_io` : r.message})`);
      }
    }
    if (++this.cycles % CHECK_EVERY === 0) await this.holderChecks(rec.epoch);
  }

  /**
   * Superseded? Only a trusted record of a newer epoch says so. A real claim above E is at the
   * first number above E that was free when it was made, so the files above E are read in
   * ascending order: epoch.E+1 first (absent: nobody claimed), then up to SCAN_READS more per
   * check, going on from where the previous check stopped.
   */
  private async superseded(epoch: number): Promise<boolean> {
    const first = await this.files.readEpoch(epoch + 1);
    if (!first.ok) return false;
    if (first.value.record) return true;
    const l = await this.files.listEpochs();
    if (!l.ok) return false;
    let above = l.value.filter((e) => e > epoch + 1 && e >= this.supersedeFrom);
    if (above.length === 0) { this.supersedeFrom = epoch + 2; above = l.value.filter((e) => e > epoch + 1); }
    for (const e of above.slice(0, SCAN_READS)) {
      const r = await this.files.readEpoch(e);
      if (r.ok && r.value.record) return true;
      this.supersedeFrom = e + 1;
    }
    return false;
  }

  /** Every few renewals: superseded (a trusted newer epoch)? operator request? */
  private async holderChecks(epoch: number): Promise<void> {
    const sup = await this.superseded(epoch);
    if (this.state !== 'holder') return;
    if (sup) { await this.selfFence('superseded'); return; }
    const adm = await this.files.readAdmin();
    if (!adm.ok || this.state !== 'holder') return;
    const cmd = effectiveAdmin(adm.value);
    this.frozen = cmd.cmd === 'freeze';
    // A move is for the holder of the epoch it names (an unsigned one, read with acceptUnsigned, names none).
    const forUs = cmd.epoch === epoch || (cmd.unsigned === true && cmd.epoch === undefined);
    if (cmd.cmd === 'move' && cmd.to && cmd.to !== this.o.node && forUs && !this.releasing) {
      const key = `${cmd.id ?? ''}/${cmd.to}/${epoch}`;
      if (this.handledAdmin.has(key)) return;
      this.handledAdmin.add(key);
      this.emit({ type: 'move-requested', epoch, detail: cmd.to });
      if (this.o.onMoveRequested) this.o.onMoveRequested(cmd.to, epoch);
      else void this.release(cmd.to);
    }
  }

  /** Self-fence (docs/lease.md): stop serving; RELEASED after the services are stopped, unless superseded. */
  private async selfFence(reason: LostReason): Promise<void> {
    // During the last phase of a release the services are already stopped and RELEASED (with its
    // handoff_to) is being written; a second, empty RELEASED would send the group to anyone.
    if (this.state !== 'holder' || !this.record || this.noRenew) return;
    const epoch = this.record.epoch;
    this.stopHolding();
    this.setState('fencing', reason);
    this.leadership?.abort(new Error(reason));
    this.emit({ type: 'lost', epoch, detail: reason });
    await this.callLost(reason, epoch);
    if (reason !== 'superseded') {
      await this.renewing;
      await this.writeReleased(epoch, '');
    }
    this.releasing = false;
    this.obs.ownReleased = epoch;
    this.becomeFollower(reason === 'superseded' ? epoch + 1 : epoch, `self-fenced: ${reason}`);
  }

  private async callLost(reason: LostReason, epoch: number): Promise<void> {
    try { await this.o.onLost?.(reason, epoch); } catch (err) {
      this.o.log?.error(`lease ${this.o.group}: onLost threw: ${String(err)}`);
    }
  }

  private async writeReleased(epoch: number, handoffTo: string, base?: LeaseRecord): Promise<IoResult<void>> {
    const from = base ?? this.record ?? this.makeRecord(epoch, 'HELD', '');
    const rec: LeaseRecord = { ...from, state: 'RELEASED', handoffTo, counter: from.counter + 1, wallMs: Date.now() };
    const r = await this.files.writeEpoch(epoch, rec);
    if (r.ok) { this.lastHolder = ''; this.lastLeaseState = 'RELEASED'; }
    return r;
  }

  /** The fence is still armed for our epoch and nonce (coordinator restarted): resume renewing. */
  private async tryResume(tok: ResumeToken): Promise<void> {
    const refused = (why: string): void => this.emit({ type: 'resume-failed', epoch: tok.epoch, detail: why });
    if (tok.killRemainingMs <= this.t.ioTimeoutMs) return refused('the fence deadline is too close');
    const r = await this.files.readEpoch(tok.epoch, true);
    if (!r.ok) return refused(`cannot read epoch ${tok.epoch}`);
    // Our own record in format 1 (written before an upgrade) is ours too: the fence, armed with
    // this epoch and nonce, vouches for it. The next renewal rewrites it in format 2.
    const d = r.value.decoded;
    const rec = d.kind === 'valid' || d.kind === 'format1' ? d.record : undefined;
    if (!rec || rec.state !== 'HELD' || rec.nonce !== tok.nonce || rec.holder !== this.o.node) return refused(`epoch ${tok.epoch} is no longer ours`);
    if (d.kind === 'format1') this.o.log?.info(`lease ${this.o.group}: resuming our own epoch ${tok.epoch} from a format-1 record (the fence vouches for it); it is rewritten in format 2 now`);
    this.becomeHolder(rec, this.o.clock.now() + tok.killRemainingMs - this.F, true);
  }
}

/**
 * When a follower calls a holder silent (event holder-silent): a third of L, and never before two
 * renew periods were missed — late enough that a busy holder's slow renewal is not mistaken for
 * a dead one, early enough to leave most of L for what is prepared meanwhile.
 */
export function silentAfterMs(t: { renewMs: number; leaseMs: number }): number {
  return Math.max(2 * t.renewMs, t.leaseMs / 3);
}
