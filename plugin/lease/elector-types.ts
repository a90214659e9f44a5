/**
 * What the elector (elector.ts) and its user (plugin/cluster/group-lease.ts) exchange: options
 * and callbacks, events, status, and the token that resumes a tenure after a restart.
 */
import type { Logger } from '../core/log';
import type { Clock } from './clock';
import type { LeaseProfile } from './profiles';
import type { SharedDirKey } from './shared-key';
import type { LeaseStore } from './store';

export type ElectorState = 'stopped' | 'follower' | 'holder' | 'fencing';
export type LostReason = 'renew-deadline' | 'superseded' | 'released' | 'fenced' | 'stopped';

export interface RenewInfo {
  epoch: number;
  /** ms left, on this node's clock, until services must start stopping (w_last + FS). */
  serveRemainingMs: number;
  /** ms left until the fence process must SIGKILL (w_last + F). */
  killRemainingMs: number;
  /** How long the renewal write took. */
  renewMs: number;
}

export interface AcquireInfo extends RenewInfo {
  /** True when a coordinator restart resumed an epoch whose fence was still armed (services may be running). */
  resumed: boolean;
}

/**
 * `holder-silent`: a follower saw no life from the holder for a third of L (at least two renew
 * periods: elector.ts silentAfterMs) — its renewals stopped, a claim may follow at L (once per
 * silence; the next life emits `observed-change`).
 */
export interface ElectorEvent {
  type: 'acquired' | 'renewed' | 'renew-failed' | 'lost' | 'released' | 'claim-lost' | 'observed-change' | 'holder-silent' | 'frozen' | 'move-requested' | 'state' | 'resume-failed';
  epoch?: number;
  detail?: string;
}

export interface ElectorOptions {
  group: string;
  node: string;
  store: LeaseStore;
  clock: Clock;
  profile: LeaseProfile;
  /**
   * Signs and verifies the records (shared-key.ts). The coordinator always passes the cluster's;
   * without one, a key of this process only (tests and benchmarks that run every node in one
   * process): records from anywhere else never verify.
   */
  key?: SharedDirKey;
  /** Distinguishes restarts of the same node (e.g. the coordinator's start time). */
  incarnation?: number;
  log?: Logger;
  /** Random claim id, ≤ 16 chars. */
  nonce?: () => string;
  /**
   * Called once per won epoch (and once on resume, with info.resumed); not awaited. `signal`
   * aborts when leadership ends.
   */
  onAcquired?: (epoch: number, signal: AbortSignal, info: AcquireInfo) => void;
  /** Called after every successful renewal (refresh fence deadline, VIP lifetime, guard file). */
  onRenewed?: (info: RenewInfo) => void;
  /** Called when leadership ends; must resolve once this node's services of the group are stopped. */
  onLost?: (reason: LostReason, epoch: number) => void | Promise<void>;
  /**
   * An operator asked (admin file) to move the group to `to`. Default: release(to) at once
   * (onLost stops the services first). A coordinator may instead check the target, run its
   * offline and call release(to) itself.
   */
  onMoveRequested?: (to: string, epoch: number) => void;
  onEvent?: (e: ElectorEvent) => void;
  /**
   * Extra wait (ms) before claiming a group nobody hands to this node — RELEASED to anyone, or
   * HELD by `previousHolder` and silent for L — asked again at every poll. Placement uses it to
   * let nodes earlier in the systemList claim first. Only ever delays a claim, so never unsafe.
   */
  claimDelayMs?: (previousHolder: string) => number;
}

export interface ResumeToken {
  epoch: number;
  nonce: string;
  /** ms left until the fence's kill deadline, as the fence reports it. */
  killRemainingMs: number;
}

export interface ElectorStatus {
  group: string;
  node: string;
  state: ElectorState;
  epoch: number | undefined;
  /** Holder named by the last valid record read or written ('' when released or unknown). */
  holder: string;
  leaseState: 'HELD' | 'RELEASED' | 'UNKNOWN';
  /** ms until this node must stop serving (holder only). */
  remainingServeMs: number | undefined;
  lastRenewMs: number | undefined;
  renewFailures: number;
  renewals: number;
  frozen: boolean;
  profile: string;
}
