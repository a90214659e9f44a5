/** Lease health: renew duration and failures, remaining serve time, epochs, holders per group. */
import { dashboard, type Dashboard } from './builder';
import { GROUP_VAR, NODE_VAR, sel } from './common';

const q = (p: number): string =>
  `histogram_quantile(${p}, sum by (le, group, node) (rate(msgha_lease_renew_duration_seconds_bucket${sel()}[$__rate_interval])))`;

export function leaseHealth(): Dashboard {
  return dashboard({
    uid: 'msgha-lease-health',
    title: 'msgha / Lease health',
    description: 'The shared-file lease of each group: how long renewals take, whether they fail, and how much serve time the holder has left.',
    variables: [NODE_VAR, GROUP_VAR],
    panels: [
      { kind: 'timeseries', title: 'Renew duration', unit: 's',
        description: 'p50 and p90 of lease renewals (one record rewrite in the shared directory). Slow renewals eat into the serve time.',
        queries: [{ expr: q(0.5), legend: 'p50 {{group}} @ {{node}}' }, { expr: q(0.9), legend: 'p90 {{group}} @ {{node}}' }] },
      { kind: 'timeseries', title: 'Renew failures', stacked: true,
        description: 'Renewals that failed or timed out; a holder that cannot renew goes offline at the serve deadline.',
        queries: [{ expr: `sum by (group, node) (increase(msgha_lease_renew_failures_total${sel()}[$__rate_interval]))`, legend: '{{group}} @ {{node}}' }] },
      { kind: 'timeseries', title: 'Remaining serve time', unit: 's',
        description: 'Seconds the holder may still serve without another renewal (0 on standby nodes).',
        queries: [{ expr: `max by (group, node) (msgha_lease_remaining_serve_seconds${sel()})`, legend: '{{group}} @ {{node}}' }] },
      { kind: 'timeseries', title: 'Renewals per second', unit: 'ops',
        description: 'Lease renewals attempted per second.',
        queries: [{ expr: `sum by (group, node) (rate(msgha_lease_renew_duration_seconds_count${sel()}[$__rate_interval]))`, legend: '{{group}} @ {{node}}' }] },
      { kind: 'timeseries', title: 'Lease epoch as seen by each node', unit: 'none',
        description: 'All nodes should agree within a renew period.',
        queries: [{ expr: `max by (group, node) (msgha_lease_epoch${sel()})`, legend: '{{group}} @ {{node}}' }] },
      { kind: 'timeseries', title: 'Holders per group', unit: 'none',
        description: 'Nodes holding the lease, and nodes the published views show serving; both must stay at most 1.',
        queries: [
          { expr: 'sum by (group) (msgha_lease_held{group=~"$group"})', legend: '{{group}} holders' },
          { expr: 'max by (group) (msgha_lease_holders_seen{group=~"$group"})', legend: '{{group}} seen serving' },
        ] },
    ],
  });
}
