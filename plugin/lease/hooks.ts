/**
 * How agents learn the lease of their group: the fencing epoch and the serve deadline.
 * Default: the local guard file (guard.ts) under $MSGHA_RUN_DIR (default /run/msgha); without
 * a guard the group is not lease-managed: epoch 0 and no deadline ('forever'). The coordinator
 * may install its own hooks in-process with setLeaseHooks().
 * Guarantees: never throws, never touches the shared directory.
 */
import { DEFAULT_RUN_DIR, readGuard } from './guard';

export interface LeaseHooks {
  /**
   * The serve deadline on CLOCK_MONOTONIC (ms, as clock.ts monotonicMs), or 'forever' with no
   * lease. Absolute, so a decision taken on it stays right however late it is acted on.
   */
  serveUntilMono(group: string): number | 'forever';
  /** Fencing epoch this node holds for the group, 0 with no lease. */
  epoch(group: string): number;
}

const runDir = (): string => process.env.MSGHA_RUN_DIR || DEFAULT_RUN_DIR;

export const guardHooks: LeaseHooks = {
  serveUntilMono: (group) => readGuard(runDir(), group)?.serveUntilMono ?? 'forever',
  epoch: (group) => readGuard(runDir(), group)?.epoch ?? 0,
};

let current: LeaseHooks = guardHooks;

export function setLeaseHooks(h: LeaseHooks | undefined): void { current = h ?? guardHooks; }
export function leaseHooks(): LeaseHooks { return current; }
