/**
 * The text of `msgha explain lease`: the algorithm in a few lines, every profile with its
 * numbers, its T1–T4 checks and its worst-case failover times. Pure; the CLI prints it.
 */
import { describeProfile, PROFILES } from './profiles';

export function explainLease(): string {
  return [
    'Lease (cluster.lease.profile; every node must run the same profile — checked against cluster.json):',
    '  Each group has epoch files groups/<g>/epoch.<N> in the shared directory, created with link()',
    '  (one winner per epoch; N is the fencing epoch). The holder rewrites its 512-byte record (CRC-32)',
    '  every R; followers claim N+1 only after seeing the same bytes for L on their own monotonic clock,',
    '  or at once after RELEASED. The holder stops serving FS after its last good renewal; the fence',
    '  process kills the group\'s processes at F = FS + K; the virtual IP carries a kernel lifetime.',
    '  Symbols: P poll, R renew, T_io I/O deadline, FS fence start, K stop budget, F kill deadline,',
    '  J jitter, L takeover wait, rho clock rate error.',
    '',
    ...Object.values(PROFILES).map((p) => describeProfile(p) + '\n'),
    'Watchdog (cluster.fence.watchdog: \'/dev/watchdog\'; cluster.fence.watchdogTimeout W in whole seconds,',
    '  default K/2, must be ≤ K): the fence pets it only while every kill deadline is at least W away, so a',
    '  node whose fence froze, or whose group outlived its kill deadline, is reset by the hardware.',
    '',
    'Not guaranteed: a process tree frozen and thawed may run its services a few milliseconds after the',
    'thaw before its fence kills them (the watchdog closes that); a whole-VM pause also freezes the',
    'watchdog: it needs the hypervisor\'s watchdog or fencing at the storage. A shared LUN with a',
    'non-cluster file system (ext4, xfs) needs a watchdog (msgha validate warns). See docs/lease.md.',
  ].join('\n');
}
