/** Resource detail: state, probe phases and outcomes per service, agent function durations, restarts. */
import { dashboard, type Dashboard } from './builder';
import { GROUP_VAR, NODE_VAR, RESOURCE_STATE_MAPPINGS, RESOURCE_VAR, sel } from './common';

const R = 'resource=~"$resource"';

export function resourceDetail(): Dashboard {
  return dashboard({
    uid: 'msgha-resource-detail',
    title: 'msgha / Resource detail',
    description: 'One resource at a time: state, protocol probe phases and outcomes by service, agent function durations, restarts and faults.',
    variables: [NODE_VAR, GROUP_VAR, RESOURCE_VAR],
    panels: [
      { kind: 'state-timeline', title: 'Resource state', width: 24, height: 7, mappings: RESOURCE_STATE_MAPPINGS,
        description: 'OFFLINE, STARTING, ONLINE, STOPPING, FAULTED, UNKNOWN per node.',
        queries: [{ expr: `max by (group, resource, node) (msgha_resource_state_code${sel(R)})`, legend: '{{group}}.{{resource}} @ {{node}}' }] },
      { kind: 'timeseries', title: 'Probe phases (last probe)', unit: 's', stacked: true,
        description: 'connect, tls, greeting, login, command, logout of the last synthetic transaction of each service.',
        queries: [{ expr: `max by (resource, service, phase) (msgha_probe_phase_seconds${sel(R, 'phase!="total"')})`, legend: '{{resource}} {{service}} {{phase}}' }] },
      { kind: 'timeseries', title: 'Probe duration p90', unit: 's',
        description: '90th percentile of the whole synthetic transaction by service.',
        queries: [{ expr: `histogram_quantile(0.9, sum by (le, resource, service) (rate(msgha_probe_duration_seconds_bucket${sel(R)}[$__rate_interval])))`, legend: '{{resource}} {{service}}' }] },
      { kind: 'timeseries', title: 'Probe success', unit: 'none',
        description: '1 when the last probe of the service succeeded.',
        queries: [{ expr: `max by (resource, service, node) (msgha_probe_success${sel(R)})`, legend: '{{resource}} {{service}} @ {{node}}' }] },
      { kind: 'timeseries', title: 'Probe outcomes', stacked: true,
        description: 'Probes per interval by outcome: ok, fail, timeout.',
        queries: [{ expr: `sum by (resource, service, outcome) (increase(msgha_probes_total${sel(R)}[$__rate_interval]))`, legend: '{{resource}} {{service}} {{outcome}}' }] },
      { kind: 'timeseries', title: 'Agent function duration (last call)', unit: 's',
        description: 'How long the last online, offline, monitor and clean of the resource took.',
        queries: [{ expr: `max by (resource, function) (msgha_agent_function_last_duration_seconds${sel(R)})`, legend: '{{resource}} {{function}}' }] },
      { kind: 'timeseries', title: 'Agent function duration p90 by type', unit: 's',
        description: '90th percentile of each agent function, over the resources of the same type in the group.',
        queries: [{ expr: `histogram_quantile(0.9, sum by (le, group, type, function) (rate(msgha_agent_function_duration_seconds_bucket${sel()}[$__rate_interval])))`, legend: '{{group}} {{type}} {{function}}' }] },
      { kind: 'timeseries', title: 'Agent function calls by type', unit: 'ops',
        description: 'Calls per second of each agent function, by resource type.',
        queries: [{ expr: `sum by (group, type, function) (rate(msgha_agent_function_duration_seconds_count${sel()}[$__rate_interval]))`, legend: '{{group}} {{type}} {{function}}' }] },
      { kind: 'timeseries', title: 'Restarts and faults', stacked: true,
        description: 'Restarts in place and faults by reason.',
        queries: [
          { expr: `sum by (resource) (increase(msgha_resource_restarts_total${sel(R)}[$__rate_interval]))`, legend: '{{resource}} restarts' },
          { expr: `sum by (resource, reason) (increase(msgha_resource_faults_total${sel(R)}[$__rate_interval]))`, legend: '{{resource}} fault {{reason}}' },
        ] },
      { kind: 'timeseries', title: 'TLS certificate expiry', unit: 'd',
        description: 'Days until the certificate of each TLS service expires (alert below 14).',
        queries: [{ expr: `min by (resource, service) (msgha_tls_cert_expiry_timestamp_seconds${sel(R)} - time()) / 86400`, legend: '{{resource}} {{service}}' }] },
    ],
  });
}
