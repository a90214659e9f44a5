/**
 * The fence process's wire protocol: one JSON object per line over the unix socket
 * `<runDir>/fence.sock`, one reply per request, in order. A fence that marks its replies `keep`
 * serves any number of requests on one connection (the client keeps one open); an older fence
 * answered one request and closed, and the client then opens one per request. Deadlines travel as absolute
 * CLOCK_MONOTONIC milliseconds, computed by the client at send time (so time spent in transit
 * never extends them); `sentMono` lets the fence refuse a client whose monotonic clock is not
 * its own (another time namespace). No dependencies: the fence imports only node: modules.
 */
import * as path from 'node:path';

export type FenceRequest =
  | { op: 'arm'; group: string; epoch: number; nonce: string; deadlineMono: number; sentMono: number; mounts?: string[] }
  | { op: 'renew'; group: string; epoch: number; deadlineMono: number; sentMono: number }
  | { op: 'disarm'; group: string; epoch: number }
  | { op: 'adopt'; group: string; pid: number }
  | { op: 'spawn'; group: string; argv: string[]; env?: Record<string, string>; cwd?: string; logFile?: string }
  | { op: 'fire'; group: string; reason: string }
  | { op: 'status' }
  /** Open (and from then on pet) a watchdog device in a fence started without one. */
  | { op: 'watchdog'; device: string; timeoutMs?: number }
  | { op: 'shutdown'; force?: boolean };

export interface GroupStatus {
  group: string;
  armed: boolean;
  epoch: number;
  nonce: string;
  /** ms until the kill deadline (negative = passed); undefined when disarmed. */
  remainingMs?: number;
  firedEpoch: number;
  cgroup?: string;
  pgids: number[];
  pids: number[];
}

export interface FenceReply {
  ok: boolean;
  reason?: string;
  pid?: number;
  groups?: GroupStatus[];
  mode?: 'cgroup' | 'pgid';
  fencePid?: number;
  /** Scheduling the fence runs with, e.g. 'SCHED_FIFO 10' or 'SCHED_OTHER nice -10'. */
  sched?: string;
  watchdog?: WatchdogStatus;
  /** Set by the fence: this connection stays open for the next request (client.ts strips it). */
  keep?: boolean;
}

export interface WatchdogStatus {
  device: string;
  /** W the fence works with: the driver's timeout when readable, else the configured one. */
  timeoutMs?: number;
  open: boolean;
  /** Why the device is not open, or why petting stopped for good. */
  error?: string;
  stoppedFor?: string;
  /** Petting is withheld now (a deadline is nearer than W, or a fired group has survivors). */
  withheld: boolean;
  pets: number;
  /** CLOCK_MONOTONIC ms of the last pet. */
  lastPetMono?: number;
}

/** One line of the protocol (request or reply) is at most this long; a longer one, without its newline yet, ends the connection. */
export const MAX_LINE_BYTES = 1 << 20;

export const socketPath = (runDir: string): string => path.join(runDir, 'fence.sock');
export const pidPath = (runDir: string): string => path.join(runDir, 'fence.pid');
export const logPath = (runDir: string): string => path.join(runDir, 'fence.log');

/** Largest accepted difference between the client's and the fence's monotonic clocks at send. */
export const CLOCK_AGREEMENT_MS = 5000;
