/**
 * Cluster overview: group × node state, lease holder and epoch, failovers, faults, restarts; then
 * the network panels: links per node, remote probes through the VIP per standby, their phases,
 * and the holder's "unreachable from the network" verdict.
 */
import { dashboard, failoverAnnotation, type Dashboard } from './builder';
import { GROUP_STATE_MAPPINGS, GROUP_VAR, HOLDER_MAPPINGS, NODE_VAR, REACHED_MAPPINGS, UNREACHABLE_MAPPINGS, UP_MAPPINGS, sel } from './common';

export function clusterOverview(): Dashboard {
  return dashboard({
    uid: 'msgha-cluster-overview',
    title: 'msgha / Cluster overview',
    description: 'Every service group on every node: state, lease holder and epoch, failovers (annotated), faults and restarts; links and reachability through the VIPs.',
    variables: [NODE_VAR, GROUP_VAR],
    annotations: [failoverAnnotation('sum by (group, reason, node) (increase(msgha_group_failovers_total{group=~"$group"}[1m])) > 0')],
    panels: [
      { kind: 'stat', title: 'Groups online', width: 6, height: 4, description: 'Groups that are ONLINE on some node.',
        queries: [{ expr: `sum(max by (group) (msgha_group_state${sel('state="ONLINE"')}))`, legend: 'online' }] },
      { kind: 'stat', title: 'Resources faulted', width: 6, height: 4, description: 'Resources FAULTED on some node; clear them with `msgha clear <group>.<resource>` once fixed.',
        queries: [{ expr: `sum(msgha_resource_state${sel('state="FAULTED"')})`, legend: 'faulted' }] },
      { kind: 'stat', title: 'Lease holders per group (max)', width: 6, height: 4, description: 'Must never exceed 1.',
        queries: [{ expr: 'max(sum by (group) (msgha_lease_held{group=~"$group"}))', legend: 'holders' }] },
      { kind: 'stat', title: 'Failovers (range)', width: 6, height: 4, description: 'Failovers in the selected time range.',
        queries: [{ expr: `sum(increase(msgha_group_failovers_total${sel()}[$__range]))`, legend: 'failovers' }] },
      { kind: 'state-timeline', title: 'Group state by node', width: 24, height: 9, mappings: GROUP_STATE_MAPPINGS,
        description: 'One row per group and node: OFFLINE, STARTING, ONLINE, PARTIAL, STOPPING, FAULTED.',
        queries: [{ expr: `max by (group, node) (msgha_group_state_code${sel()})`, legend: '{{group}} @ {{node}}' }] },
      { kind: 'state-timeline', title: 'Lease holder', width: 12, mappings: HOLDER_MAPPINGS,
        description: 'Which node holds the lease of each group.',
        queries: [{ expr: `max by (group, node) (msgha_lease_held${sel()})`, legend: '{{group}} @ {{node}}' }] },
      { kind: 'timeseries', title: 'Lease epoch', width: 12, unit: 'none',
        description: 'Fencing epoch of each group lease; it rises by one at every change of holder.',
        queries: [{ expr: `max by (group) (msgha_lease_epoch${sel()})`, legend: '{{group}}' }] },
      { kind: 'timeseries', title: 'Failovers by reason', width: 8, stacked: true,
        description: 'resource-fault, lease-lost, lease-expired, switch, drill, dependency, network (unreachable from the network).',
        queries: [{ expr: `sum by (group, reason) (increase(msgha_group_failovers_total${sel()}[$__rate_interval]))`, legend: '{{group}} {{reason}}' }] },
      { kind: 'timeseries', title: 'Faults by reason', width: 8, stacked: true,
        description: 'Resource faults: process-exit, monitor-offline, probe-failed, probe-timeout, online-failed.',
        queries: [{ expr: `sum by (group, reason) (increase(msgha_resource_faults_total${sel()}[$__rate_interval]))`, legend: '{{group}} {{reason}}' }] },
      { kind: 'timeseries', title: 'Restarts in place', width: 8, stacked: true,
        description: 'Restarts of resources in place (before RestartLimit moves the group).',
        queries: [{ expr: `sum by (group, resource) (increase(msgha_resource_restarts_total${sel()}[$__rate_interval]))`, legend: '{{group}}.{{resource}}' }] },
      { kind: 'timeseries', title: 'Concurrency violations', width: 24, height: 6,
        description: 'A resource found running on a node that does not hold its group (started behind the cluster\'s back).',
        queries: [{ expr: `sum by (group, resource, node) (increase(msgha_concurrency_violations_total${sel()}[$__rate_interval]))`, legend: '{{group}}.{{resource}} @ {{node}}' }] },
      // Network: the same results are published by the standby that probed and by the holder
      // (from its standbys' views), hence min/max by `from` rather than by the reporting node.
      { kind: 'state-timeline', title: 'Network: links', width: 12, mappings: UP_MAPPINGS,
        description: 'Link resources (NIC) per node and device: up (carrier, and a ping host answers when known) or DOWN. A holder whose link is down fails the group over; a standby whose link is down is no target.',
        queries: [{ expr: `min by (node, device) (msgha_link_up${sel()})`, legend: '{{device}} @ {{node}}' }] },
      { kind: 'state-timeline', title: 'Network: unreachable from the network', width: 12, mappings: UNREACHABLE_MAPPINGS,
        description: 'The holder\'s verdict: its local checks pass but no live standby reaches the group through its VIP. The holder then gives the group to a standby that can.',
        queries: [{ expr: `max by (group, node) (msgha_group_unreachable_from_network${sel()})`, legend: '{{group}} @ {{node}}' }] },
      { kind: 'state-timeline', title: 'Network: reachable through the VIP', width: 12, mappings: REACHED_MAPPINGS,
        description: 'Remote probes: each standby (from) probes the group\'s client services through its VIP, as a client would.',
        queries: [{ expr: `min by (group, service, from) (msgha_remote_probe_success${sel()})`, legend: '{{group}} {{service}} from {{from}}' }] },
      { kind: 'timeseries', title: 'Network: remote probe phases', width: 12, unit: 's',
        description: 'Phases (connect, tls, greeting, login, command, logout) of the last remote probe of each service from each standby.',
        queries: [{ expr: `max by (group, service, from, phase) (msgha_remote_probe_phase_seconds${sel('phase!="total"')})`, legend: '{{group}} {{service}} from {{from}} {{phase}}' }] },
    ],
  });
}
