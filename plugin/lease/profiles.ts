/**
 * Lease timing profiles and the rules T1–T4 that relate their numbers (docs/lease.md).
 *
 * Guarantees: every built-in profile passes validateTimings(); a profile that breaks a rule is
 * refused with one exact message per broken rule, naming the numbers. The safety argument
 * (never two holders) holds only when the clock rate error of every node is within rho, a
 * killed process's I/O stops within the jitter J, and the watchdog can run at F — see
 * describeProfile(). Worst-case failover times assume the storage answers the new holder.
 */
import { crc32 } from './crc32';

export type ProfileName = 'nfs' | 'local' | 'fast';

/** All durations in milliseconds, each measured on the deciding node's CLOCK_MONOTONIC. */
export interface LeaseTimings {
  /** P: follower poll interval. */
  pollMs: number;
  /** R: holder renew interval. */
  renewMs: number;
  /** T_io: longest time one lease I/O may take before it counts as failed. */
  ioTimeoutMs: number;
  /** FS: the holder starts stopping its services FS after its last successful renewal began. */
  fenceStartMs: number;
  /** K: stop budget; the fence process SIGKILLs at F = FS + K. */
  stopBudgetMs: number;
  /** J: jitter allowance (kill latency, scheduling). */
  jitterMs: number;
  /** L: a follower claims after seeing the same bytes for L. */
  leaseMs: number;
  /** rho: max clock rate error (0.1 = 10 %, safe with chrony's default slew rate). */
  rho: number;
  /** W: hardware watchdog timeout, only when /dev/watchdog is used. */
  watchdogMs?: number;
}

export interface LeaseProfile {
  name: string;
  timings: LeaseTimings;
  /** Open lease files with O_DIRECT (NFS, shared LUN); off for tmpfs-backed test directories. */
  directIo: boolean;
  summary: string;
}

/** F = FS + K: the fence process's SIGKILL deadline after the last successful renewal. */
export const fenceMs = (t: LeaseTimings): number => t.fenceStartMs + t.stopBudgetMs;
/** D_r = FS − T_io: the last moment to start a renewal. */
export const renewDeadlineMs = (t: LeaseTimings): number => t.fenceStartMs - t.ioTimeoutMs;

const s = (x: number): number => x * 1000;

export const PROFILES: Readonly<Record<ProfileName, LeaseProfile>> = {
  nfs: {
    name: 'nfs',
    directIo: true,
    summary: 'NFS shared directory (default): rides through 15 s storage stalls.',
    timings: { pollMs: s(2), renewMs: s(2), ioTimeoutMs: s(5), fenceStartMs: s(20), stopBudgetMs: s(10), jitterMs: s(2), leaseMs: s(40), rho: 0.1 },
  },
  local: {
    name: 'local',
    directIo: true,
    summary: 'Cluster file system or shared LUN with O_DIRECT: rides through 6 s storage stalls.',
    timings: { pollMs: s(1), renewMs: s(1), ioTimeoutMs: s(2), fenceStartMs: s(8), stopBudgetMs: s(6), jitterMs: s(1), leaseMs: s(20), rho: 0.1 },
  },
  // Why `fast` is safe (same rules, smaller numbers; measured lease I/O p99 here ≈ 13 ms):
  //   T1: R 200 ≤ (FS 1200 − T_io 400)/3 = 267 — three full-length renewal attempts fit.
  //   T2: the fence SIGKILLs at F = 1800 (measured 4–19 ms late, inside J); no watchdog in tests.
  //   T3: L 2400 ≥ F·1.1/0.9 + J = 2200 + 100 = 2300 — with ρ = 0.1, every kill lands before a claim.
  //   T4: P 200 ≤ L/10 = 240; T_io 400 ≥ 5 × 13 ms.
  // It only suits low-latency storage (local disk, tmpfs, a LAN cluster fs): a stall over 800 ms
  // fences the holder. Failover worst case 2P + L + T_io = 3.2 s plus service start.
  fast: {
    name: 'fast',
    directIo: false,
    summary: 'Low-latency storage and tests: rides through 0.8 s storage stalls.',
    timings: { pollMs: 200, renewMs: 200, ioTimeoutMs: 400, fenceStartMs: 1200, stopBudgetMs: 600, jitterMs: 100, leaseMs: 2400, rho: 0.1 },
  },
};

export function getProfile(name: string | undefined): LeaseProfile {
  const key = (name ?? 'nfs') as ProfileName;
  const p = PROFILES[key];
  if (!p) throw new Error(`unknown lease profile '${name}' (known: ${Object.keys(PROFILES).join(', ')})`);
  return p;
}

const fmt = (ms: number): string => (Number.isInteger(ms) ? String(ms) : ms.toFixed(1));

/**
 * Checks T1–T4 (and basic sanity). Returns one message per broken rule; empty = valid.
 * `ioP99Ms`, when measured, is checked against T_io (T4's second half).
 */
export function validateTimings(t: LeaseTimings, ioP99Ms?: number): string[] {
  const errors: string[] = [];
  for (const [k, v] of Object.entries(t)) {
    if (k === 'rho' || v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) errors.push(`${k} must be a positive number of milliseconds (got ${v})`);
  }
  if (!(t.rho >= 0.001 && t.rho < 0.5)) errors.push(`rho must be between 0.001 and 0.5 (got ${t.rho}); use 0.1 unless every node runs ntpd or chrony with maxslewrate ≤ 500`);
  if (errors.length) return errors;
  const dr = renewDeadlineMs(t);
  const f = fenceMs(t);
  if (t.renewMs > dr / 3) {
    errors.push(`T1 violated: renew interval R=${fmt(t.renewMs)} ms must be ≤ (FS − T_io)/3 = (${fmt(t.fenceStartMs)} − ${fmt(t.ioTimeoutMs)})/3 = ${fmt(dr / 3)} ms, so that three full-length renewal attempts fit before the fence starts`);
  }
  if (t.watchdogMs !== undefined && t.watchdogMs > t.stopBudgetMs) {
    errors.push(`T2 violated: hardware watchdog timeout W=${fmt(t.watchdogMs)} ms must be ≤ stop budget K=${fmt(t.stopBudgetMs)} ms, so the node resets before F = FS + K`);
  }
  const minL = (f * (1 + t.rho)) / (1 - t.rho) + t.jitterMs;
  if (t.leaseMs < minL) {
    errors.push(`T3 violated: takeover wait L=${fmt(t.leaseMs)} ms must be ≥ F·(1+ρ)/(1−ρ) + J = ${fmt(f)}·${fmt(1 + t.rho)}/${fmt(1 - t.rho)} + ${fmt(t.jitterMs)} = ${fmt(minL)} ms, so the old holder's services are killed before anyone can claim`);
  }
  if (t.pollMs > t.leaseMs / 10) {
    errors.push(`T4 violated: poll interval P=${fmt(t.pollMs)} ms must be ≤ L/10 = ${fmt(t.leaseMs / 10)} ms`);
  }
  if (ioP99Ms !== undefined && t.ioTimeoutMs < 5 * ioP99Ms) {
    errors.push(`T4 violated: I/O deadline T_io=${fmt(t.ioTimeoutMs)} ms must be ≥ 5 × the p99 lease I/O latency ${fmt(ioP99Ms)} ms = ${fmt(5 * ioP99Ms)} ms`);
  }
  return errors;
}

/** Watchdog drivers count their timeout in whole seconds; 1 s is the shortest. */
export const MIN_WATCHDOG_MS = 1000;

/**
 * W for a profile when the cluster file names a watchdog but no timeout: half the stop budget K,
 * in whole seconds. Half, because W is both how long a frozen node keeps running (it resets
 * within W of the freeze) and how long the fence may go unscheduled before a false reset; T2
 * caps it at K. Undefined when not even 1 s fits in K (T2 cannot hold: the fast profile).
 */
export function defaultWatchdogMs(t: LeaseTimings): number | undefined {
  const w = Math.max(MIN_WATCHDOG_MS, Math.floor(t.stopBudgetMs / 2 / 1000) * 1000);
  return w <= t.stopBudgetMs ? w : undefined;
}

/** Problems with watchdog timeout `ms` under these timings: whole seconds, ≥ 1 s, and T2 (W ≤ K). */
export function checkWatchdogMs(t: LeaseTimings, ms: number): string[] {
  const errors: string[] = [];
  if (!Number.isFinite(ms) || ms < MIN_WATCHDOG_MS || ms % 1000 !== 0) errors.push(`watchdog timeout W must be a whole number of seconds, at least 1 (got ${fmt(ms / 1000)} s)`);
  else errors.push(...validateTimings({ ...t, watchdogMs: ms }).filter((e) => e.startsWith('T2')));
  return errors;
}

/** Outage bounds derived from the timings (ms, excluding service start/stop). */
export interface FailoverBounds {
  /** Holder crash, worst case: 2P + L + T_io. */
  holderCrashMs: number;
  /** Holder loses only the storage: another node serves about L + P after the last renewal. */
  storageLossMs: number;
  /** Longest storage stall the holder rides through without fencing: D_r = FS − T_io. */
  ridesThroughMs: number;
  /** Planned handover: admin poll (≤ 5R) + one write + P + claim (excluding S_stop, S_start). */
  plannedMs: number;
}

export function failoverBounds(t: LeaseTimings): FailoverBounds {
  return {
    holderCrashMs: 2 * t.pollMs + t.leaseMs + t.ioTimeoutMs,
    storageLossMs: t.leaseMs + t.pollMs,
    ridesThroughMs: t.fenceStartMs - t.ioTimeoutMs,
    plannedMs: 5 * t.renewMs + 2 * t.ioTimeoutMs + t.pollMs,
  };
}

/** Digest of the timings that must agree between nodes (stored in cluster.json and every record). */
export function timingsDigest(t: LeaseTimings): number {
  const canon = [t.pollMs, t.renewMs, t.ioTimeoutMs, t.fenceStartMs, t.stopBudgetMs, t.jitterMs, t.leaseMs, t.rho, t.watchdogMs ?? 0].join(',');
  return crc32(Buffer.from(canon, 'utf8'));
}

export function timingsLine(t: LeaseTimings): string {
  const sec = (ms: number): string => `${+(ms / 1000).toFixed(3)}s`;
  return `P=${sec(t.pollMs)} R=${sec(t.renewMs)} T_io=${sec(t.ioTimeoutMs)} FS=${sec(t.fenceStartMs)} K=${sec(t.stopBudgetMs)} F=${sec(fenceMs(t))} J=${sec(t.jitterMs)} L=${sec(t.leaseMs)} rho=${t.rho}`;
}

/** Human description of a profile: numbers, the T1–T4 checks with their values, failover bounds. */
export function describeProfile(p: LeaseProfile): string {
  const t = p.timings;
  const f = fenceMs(t);
  const dr = renewDeadlineMs(t);
  const b = failoverBounds(t);
  const sec = (ms: number): string => `${+(ms / 1000).toFixed(2)} s`;
  const errors = validateTimings(t);
  return [
    `profile ${p.name}: ${p.summary}`,
    `  ${timingsLine(t)}${p.directIo ? ' (O_DIRECT)' : ''}`,
    `  T1 R ≤ (FS−T_io)/3: ${sec(t.renewMs)} ≤ ${sec(dr / 3)}`,
    `  T2 fence SIGKILL at F = FS+K = ${sec(f)} after the last renewal${t.watchdogMs ? `; watchdog W ${sec(t.watchdogMs)} ≤ K` : defaultWatchdogMs(t) ? `; with cluster.fence.watchdog: W ${sec(defaultWatchdogMs(t)!)} (≤ K), pets stop W before F` : '; no watchdog possible (K < 1 s)'}`,
    `  T3 L ≥ F(1+ρ)/(1−ρ)+J: ${sec(t.leaseMs)} ≥ ${sec((f * (1 + t.rho)) / (1 - t.rho) + t.jitterMs)}`,
    `  T4 P ≤ L/10: ${sec(t.pollMs)} ≤ ${sec(t.leaseMs / 10)}; T_io ${sec(t.ioTimeoutMs)} must be ≥ 5× the p99 lease I/O latency`,
    `  worst-case failover after a holder crash: 2P+L+T_io = ${sec(b.holderCrashMs)} + service start`,
    `  holder cut off from the storage: services stop between ${sec(t.fenceStartMs)} and ${sec(f)}, takeover ≈ ${sec(b.storageLossMs)} after its last renewal`,
    `  rides through storage stalls up to FS−T_io = ${sec(b.ridesThroughMs)}; planned switch ≤ ${sec(b.plannedMs)} + service stop/start`,
    errors.length ? `  INVALID: ${errors.join('; ')}` : '  T1–T4 hold.',
  ].join('\n');
}
