/**
 * Adds or refreshes a lease-bound VIP only while the serve deadline holds — enforced by the
 * kernel, not by our own check.
 *
 * Why: the kernel has no "change an existing address only" operation — `ip addr change` (and
 * `replace`) send RTM_NEWADDR, and IPv4 and IPv6 both ADD the address when it is missing (the
 * kernel ignores a missing NLM_F_CREATE for compatibility). A coordinator frozen between its
 * check and its `ip addr change` would, once thawed, re-create an address whose lifetime had run
 * out while another node took it over: a duplicate VIP. Any check in user space can be
 * separated from the netlink call by a freeze.
 *
 * How: the check and the call run in one short-lived guard process (perl, Time::HiRes) that
 * reads CLOCK_MONOTONIC, takes the whole seconds left to the serve deadline as the lifetime,
 * then arms a real-time interval timer (`ualarm`) for what remains of the last second (at most
 * SLACK_MS) and only then checks and execs `ip`. The timer survives exec and its SIGALRM keeps
 * the default action, so once it fires the kernel ends the process the next time it would
 * return to user space — also when it was stopped and continued in between. So the netlink call
 * happens early enough that the lifetime it sets ends by the serve deadline, or never.
 * Not guaranteed: the kernel expires addresses on a whole-second timer, so an address may
 * outlive its lifetime by up to about a second (the agents and the fence remove it at the
 * deadline); a whole-VM pause stops the guest's clocks too (see docs/lease.md).
 */

/** Longest time from the guard's clock reading to the netlink call. */
export const SLACK_MS = 150;
/** Less than this left over a whole second: one second less (no time to make the call). */
export const MIN_SPARE_MS = 20;

/** Exit codes of the guard (besides ip's own and death by SIGALRM). */
export const GUARD_TOO_LATE = 75;
export const GUARD_ABSENT = 76;

// Arguments: serveUntil (CLOCK_MONOTONIC ms), slack ms, min spare ms, add|change, ADDR/PREFIX, device.
const SCRIPT = `
use strict; use warnings;
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC ualarm);
my ($until, $slack, $minspare, $op, $cidr, $dev) = @ARGV;
my $left = $until - clock_gettime(CLOCK_MONOTONIC) * 1000;
my $lft = int($left / 1000);
my $spare = $left - $lft * 1000;
if ($spare < $minspare) { $lft -= 1; $spare += 1000; }
if ($lft < 1) { print STDERR "less than a second of serve time left at the guard: not touching $cidr\\n"; exit ${GUARD_TOO_LATE}; }
ualarm(int(($spare < $slack ? $spare : $slack) * 1000));
if ($op eq 'change') {
  open(my $fh, '-|', 'ip', '-o', '-4', 'addr', 'show', 'dev', $dev) or exit 71;
  my $out = do { local $/; <$fh> };
  close($fh);
  exit ${GUARD_ABSENT} unless $out =~ m{\\binet \\Q$cidr\\E\\s};
}
exec { 'ip' } 'ip', 'addr', $op, $cidr, 'dev', $dev, 'valid_lft', $lft, 'preferred_lft', $lft;
exit 72;
`;

/** The whole seconds of lifetime the guard would set at `now`. */
export function guardSeconds(serveUntilMono: number, now: number): number {
  return Math.max(0, Math.floor((serveUntilMono - now - MIN_SPARE_MS) / 1000));
}

/**
 * argv of the guard: `ip addr add|change CIDR dev DEVICE` with a lifetime that ends by
 * `serveUntilMono` (CLOCK_MONOTONIC ms, as in the guard file), run only within SLACK_MS of the
 * guard's clock reading. `change` first checks the address is there (a refresh never adds).
 */
export function guardedIpArgv(op: 'add' | 'change', cidr: string, device: string, serveUntilMono: number): string[] {
  return ['perl', '-e', SCRIPT, String(Math.floor(serveUntilMono)), String(SLACK_MS), String(MIN_SPARE_MS), op, cidr, device];
}
