/**
 * A follower's view of the epoch it watches, and the rule that says when it may claim the next
 * one (docs/lease.md, "The protocol": Observe and Claim). Pure: the elector reads the record and
 * hands in the raw bytes and the times, on this node's monotonic clock, at which it issued the
 * read and received the answer.
 *
 * Guarantees: a claim is due only when a read issued at least L (plus the placement wait) after
 * the current bytes were first received returned those same bytes, or after a valid RELEASED
 * record — at once when handoff_to names this node, after the placement wait when it names
 * nobody and this node did not release it, after L otherwise. Any change of the raw bytes, even
 * to garbage, restarts the wait. A read that failed is never handed in, so it moves no timer.
 */
import type { DecodeResult } from './record';

/** 'release-pending': the record is a claim of ours whose outcome we never learnt (give it back). */
export type Verdict = 'wait' | 'claim' | 'release-pending';

export interface ClaimRules {
  node: string;
  leaseMs: number;
  /** The placement wait before a claim nobody hands to this node (ms, never negative). */
  claimDelay(previousHolder: string): number;
}

export class Observation {
  /** The epoch followed; undefined before the first listing. */
  n: number | undefined;
  /** An epoch this node released itself: not claimed back before L. */
  ownReleased: number | undefined;
  /** A claim whose outcome is unknown (the link timed out): released if it turns out to be ours. */
  pending: { epoch: number; nonce: string } | undefined;
  private lastRaw: Buffer | undefined;
  /** When the current bytes were first received. */
  private tChange = 0;
  /** When the current RELEASED record was first received. */
  private relSeen: number | undefined;

  /** Follows epoch `n` from nothing: unchanged bytes must then be seen for a whole L. */
  reset(n: number | undefined): void {
    this.n = n;
    this.lastRaw = undefined;
    this.relSeen = undefined;
  }

  /**
   * After a listing whose newest epoch is `max`: move up to it. With `missing` (the followed
   * epoch does not exist: our claim failed with an error and left nothing), go back to it too, or
   * nobody would ever claim again. `pending` stays, so a link that lands late is still found.
   */
  follow(max: number, missing: boolean): void {
    if (this.n === undefined || max > this.n) this.reset(max);
    else if (missing && max < this.n) this.reset(max);
  }

  /**
   * One read of epoch `n`, issued at `tIssue` and received at `tDone`. `changed`: the bytes
   * differ from the previous read's (never on the first read).
   */
  observe(n: number, raw: Buffer, dec: DecodeResult, tIssue: number, tDone: number, rules: ClaimRules): { verdict: Verdict; changed: boolean } {
    if (dec.valid && this.pending && this.pending.epoch === n && dec.record.nonce === this.pending.nonce && dec.record.state === 'HELD') {
      this.pending = undefined;
      return { verdict: 'release-pending', changed: false };
    }
    const released = dec.valid && dec.record.state === 'RELEASED';
    let changed = false;
    if (!this.lastRaw || !raw.equals(this.lastRaw)) {
      changed = this.lastRaw !== undefined;
      this.lastRaw = raw;
      this.tChange = tDone;
      this.relSeen = released ? tDone : undefined;
      if (!released) return { verdict: 'wait', changed };
    }
    if (dec.valid && dec.record.state === 'RELEASED') {
      const to = dec.record.handoffTo;
      const mine = this.ownReleased === n;
      const seen = this.relSeen ?? tDone;
      // epoch.0 is written RELEASED by whichever node came first: nobody held it before.
      const now = to === rules.node || (to === '' && !mine && tIssue >= seen + rules.claimDelay(n === 0 ? '' : dec.record.holder));
      return { verdict: now || tIssue >= seen + rules.leaseMs ? 'claim' : 'wait', changed };
    }
    // Same bytes (HELD, torn, corrupt, short, wrong epoch) for a whole L, timed from receipt.
    const due = tIssue >= this.tChange + rules.leaseMs + rules.claimDelay(dec.valid ? dec.record.holder : '');
    return { verdict: due ? 'claim' : 'wait', changed };
  }
}
