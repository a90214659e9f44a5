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
    'Not guaranteed: a node frozen as a whole (VM pause) may run its services briefly after thaw before',
    'its fence fires; a shared LUN with a non-cluster file system needs a hardware watchdog or softdog.',
  ].join('\n');
}
