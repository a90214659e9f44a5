/**
 * A follower's view of the epoch it watches, and the rule that says when it may claim the next
 * one (docs/lease.md, "The protocol": Observe and Claim). Pure: the elector reads the record,
 * verifies it, and hands in the record it may trust (or none), the raw bytes, the file's id and
 * the times, on this node's monotonic clock, at which it issued the read and received the answer.
 *
 * Life is (docs/lease.md, Observe):
 * - a trusted record (MAC verified, or format 1 while acceptUnsigned is set) whose counter is
 *   greater than any trusted so far for the epoch — a replay or the same record is not life;
 * - a change in place of the same file to bytes that do not verify: only a writer of that very
 *   file can make it, and it may hide the holder's renewals from us (a torn write of the holder,
 *   or, where others can write our files — NFS root_squash — someone overwriting each renewal).
 *   Counting it keeps two holders impossible; the price is that such a writer can keep a dead
 *   holder's group down (denial of service);
 * - once per epoch, the file replaced by another (rename over it, a link): the holder's renewals
 *   fail from that moment (file-ops.ts rewrites only its own inode), so its deadlines end before
 *   L after the replacement was seen. Later replacements, forged or replayed records in them, and
 *   unchanged garbage are never life.
 *
 * Guarantees: a claim is due only when a read issued at least L (plus the placement wait) after
 * the last life was received finds no newer life, or after a trusted RELEASED record — at once
 * when handoff_to names this node, after the placement wait when it names nobody and this node
 * did not release it, after L otherwise. A read that failed is never handed in, so it moves no
 * timer. The followed epoch never goes below the highest epoch this node has trusted (a file
 * that vanished is not a release: its holder may still be alive). Files above it that do not
 * verify are judged by the same rule before a claim may pass them (FileSights).
 */
import type { LeaseRecord } from './record';

/** 'release-pending': the record is a claim of ours whose outcome we never learnt (give it back). */
export type Verdict = 'wait' | 'claim' | 'release-pending';

export interface ClaimRules {
  node: string;
  leaseMs: number;
  /** The placement wait before a claim nobody hands to this node (ms, never negative). */
  claimDelay(previousHolder: string): number;
}

/** One read of an epoch file. */
export interface Sighting { raw: Buffer; id: string; record: LeaseRecord | undefined }

export class Observation {
  /** The epoch followed; undefined before the first listing. */
  n: number | undefined;
  /** The highest epoch this node trusted (read, won or held): never followed below. */
  highest = -1;
  /** An epoch this node released itself: not claimed back before L. */
  ownReleased: number | undefined;
  /** A claim whose outcome is unknown (the link timed out): released if it turns out to be ours. */
  pending: { epoch: number; nonce: string } | undefined;
  /** The trusted record of epoch n with the greatest counter. */
  private best: LeaseRecord | undefined;
  /** The previous read of epoch n. */
  private prev: { raw: Buffer; id: string } | undefined;
  private replaced = false;
  /** When the last life (or the first read) was received. */
  private tLife: number | undefined;
  /** When the current RELEASED record was first received. */
  private relSeen: number | undefined;

  /** Follows epoch `n` from nothing: no life must then be seen for a whole L. */
  reset(n: number | undefined): void {
    this.n = n;
    this.best = undefined;
    this.prev = undefined;
    this.replaced = false;
    this.tLife = undefined;
    this.relSeen = undefined;
  }

  /** This node trusts epoch `e` (a trusted read, a won claim). */
  trust(e: number): void {
    if (e > this.highest) this.highest = e;
  }

  /** The holder named by the best trusted record ('' when released or none). */
  holder(): string { return this.best?.state === 'HELD' ? this.best.holder : ''; }
  leaseState(): 'HELD' | 'RELEASED' | 'UNKNOWN' { return this.best?.state ?? 'UNKNOWN'; }

  /**
   * After a listing whose newest trusted epoch is `newest`: move up to it. With `missing` (the
   * followed epoch does not exist), go back to it only when the followed one was never trusted
   * (our own claim failed with an error and left nothing); a trusted epoch that vanished is
   * still followed. `pending` stays, so a link that lands late is still found.
   */
  follow(newest: number, missing: boolean): void {
    if (this.n === undefined || newest > this.n) this.reset(newest);
    else if (missing && newest < this.n && this.n > this.highest) this.reset(Math.max(newest, this.highest));
  }

  /** One read of epoch `n`, issued at `tIssue`, received at `tDone`. `life`: it was life (never on the first read). */
  observe(n: number, s: Sighting, tIssue: number, tDone: number, rules: ClaimRules): { verdict: Verdict; life: boolean } {
    const rec = s.record;
    if (rec && this.pending && this.pending.epoch === n && rec.nonce === this.pending.nonce && rec.state === 'HELD') {
      this.pending = undefined;
      return { verdict: 'release-pending', life: false };
    }
    if (rec) this.trust(n);
    let life = false;
    if (this.tLife === undefined) this.tLife = tDone;
    const prev = this.prev;
    this.prev = { raw: s.raw, id: s.id };
    if (rec && (!this.best || rec.counter > this.best.counter)) {
      life = this.best !== undefined;
      this.best = rec;
      this.tLife = tDone;
      this.relSeen = rec.state === 'RELEASED' ? tDone : undefined;
      if (rec.state !== 'RELEASED') return { verdict: 'wait', life };
    } else if (!rec && prev && prev.id === s.id && !prev.raw.equals(s.raw)) {
      life = true; // changed in place: see the header
      this.tLife = tDone;
    } else if (prev && prev.id !== s.id && !this.replaced) {
      this.replaced = true; // replaced: once per epoch, see the header
      this.tLife = tDone;
    }
    const cur = this.best;
    if (cur && cur.state === 'RELEASED') {
      const to = cur.handoffTo;
      const mine = this.ownReleased === n;
      const seen = this.relSeen ?? tDone;
      // epoch.0 is written RELEASED by whichever node came first: nobody held it before.
      const now = to === rules.node || (to === '' && !mine && tIssue >= seen + rules.claimDelay(n === 0 ? '' : cur.holder));
      return { verdict: now || tIssue >= seen + rules.leaseMs ? 'claim' : 'wait', life };
    }
    // No life (HELD unchanged, nothing trusted, or the file gone) for a whole L, timed from receipt.
    const due = tIssue >= this.tLife + rules.leaseMs + rules.claimDelay(cur ? cur.holder : '');
    return { verdict: due ? 'claim' : 'wait', life };
  }

  /** How long a HELD record has shown no life, at `now` (undefined: none followed, or released). */
  silentFor(now: number): number | undefined {
    return this.best?.state === 'HELD' && this.tLife !== undefined ? now - this.tLife : undefined;
  }

  /** A read of the followed epoch that found no file (it vanished): no life; the wait goes on. */
  absent(tIssue: number, tDone: number, rules: ClaimRules): Verdict {
    if (this.tLife === undefined) this.tLife = tDone;
    return tIssue >= this.tLife + rules.leaseMs + rules.claimDelay(this.holder()) ? 'claim' : 'wait';
  }
}

/**
 * Files above the followed epoch whose records do not verify, judged like the followed epoch: a
 * claim may pass one only after it was seen for L without life (no change in place, at most one
 * replacement). A real claim whose record someone keeps overwriting in place is thus never
 * passed; garbage left there costs one L, judged while the followed epoch is judged too.
 */
export class FileSights {
  private readonly seen = new Map<number, { raw: Buffer; id: string; since: number; replaced: boolean }>();

  /** Records a read of untrusted epoch `e`; true when it may be passed (no life for L). */
  note(e: number, s: Sighting, tDone: number, leaseMs: number): boolean {
    const prev = this.seen.get(e);
    if (!prev) { this.seen.set(e, { raw: s.raw, id: s.id, since: tDone, replaced: false }); return false; }
    if (prev.id === s.id && !prev.raw.equals(s.raw)) Object.assign(prev, { raw: s.raw, since: tDone });
    else if (prev.id !== s.id) {
      if (!prev.replaced) Object.assign(prev, { since: tDone, replaced: true });
      Object.assign(prev, { raw: s.raw, id: s.id });
    }
    return tDone - prev.since >= leaseMs;
  }

  /** Forgets epochs at or below `e` (followed or passed for good). */
  forget(e: number): void {
    for (const k of this.seen.keys()) if (k <= e) this.seen.delete(k);
  }
}
