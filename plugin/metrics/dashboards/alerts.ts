/**
 * The Prometheus alert rules (dashboards/alerts.yml), as data. Every rule's summary tells the
 * operator what to do; thresholds are "why" commented. The YAML writer quotes every string as a
 * JSON string, which YAML reads as a double-quoted scalar — no YAML library needed.
 */

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  severity: 'critical' | 'warning';
  summary: string;
  description: string;
}

const L = (name: string): string => `{{ $labels.${name} }}`;

export const ALERT_RULES: AlertRule[] = [
  {
    alert: 'MsghaGroupOfflineEverywhere',
    // Not frozen: a frozen group left offline is the operator's decision.
    expr: 'max by (group) (msgha_group_state{state=~"STARTING|ONLINE|PARTIAL|STOPPING"}) == 0\nunless on (group) max by (group) (msgha_group_frozen) == 1',
    for: '2m', severity: 'critical',
    summary: `Group ${L('group')} is online on no node: run \`msgha status\`, fix the faulted resource, then \`msgha clear ${L('group')}\` and \`msgha switch ${L('group')}\`.`,
    description: `No node reports group ${L('group')} as STARTING, ONLINE, PARTIAL or STOPPING for 2 minutes; its clients have no service.`,
  },
  {
    alert: 'MsghaGroupFaulted',
    expr: 'msgha_group_state{state="FAULTED"} == 1',
    severity: 'critical',
    summary: `Group ${L('group')} is FAULTED on ${L('node')}: read \`pm2 logs msgha\` there, fix the cause, then \`msgha clear ${L('group')}\` so the node may run it again.`,
    description: `A critical resource of ${L('group')} faulted beyond RestartLimit on ${L('node')}; the node will not take the group back until cleared.`,
  },
  {
    alert: 'MsghaFailover',
    expr: 'sum by (group, reason, node) (increase(msgha_group_failovers_total[15m])) > 0',
    severity: 'warning',
    summary: `Group ${L('group')} failed over (${L('reason')}, started by ${L('node')}): find why with \`msgha status\` and \`pm2 logs msgha\` on ${L('node')}, then switch it back with \`msgha switch ${L('group')}:NODE\` once fixed.`,
    description: `Group ${L('group')} moved in the last 15 minutes; reason ${L('reason')}.`,
  },
  {
    alert: 'MsghaResourceFaulted',
    expr: 'msgha_resource_state{state="FAULTED"} == 1',
    severity: 'warning',
    summary: `Resource ${L('group')}.${L('resource')} is FAULTED on ${L('node')}: read \`pm2 logs ${L('group')}.${L('resource')}\`, check it with \`msgha run ${L('group')}.${L('resource')} monitor\`, fix it, then \`msgha clear ${L('group')}.${L('resource')}\`.`,
    description: `The ${L('type')} resource ${L('resource')} of group ${L('group')} faulted on ${L('node')} and was not restarted there.`,
  },
  {
    alert: 'MsghaLeaseRenewSlow',
    // A renewal is one 512-byte rewrite; 2 s at p90 means the shared directory is struggling and
    // the holder's serve time (tens of seconds) is being eaten.
    expr: 'histogram_quantile(0.9, sum by (group, node, le) (rate(msgha_lease_renew_duration_seconds_bucket[5m]))) > 2',
    for: '5m', severity: 'warning',
    summary: `Lease renewals of ${L('group')} on ${L('node')} take over 2 s (p90): check the shared directory's server and network (NFS latency, \`nfsstat\`) before the lease expires.`,
    description: `p90 of lease renewals is {{ $value | humanizeDuration }} over 5 minutes.`,
  },
  {
    alert: 'MsghaLeaseRenewFailing',
    expr: 'increase(msgha_lease_renew_failures_total[5m]) > 0',
    severity: 'warning',
    summary: `Lease renewals of ${L('group')} fail on ${L('node')}: check that the shared directory is mounted and writable there; if it stays down the group goes offline on that node at its serve deadline.`,
    description: `{{ $value }} failed renewals in 5 minutes.`,
  },
  {
    alert: 'MsghaSharedDirRejected',
    // Nothing the product writes fails to verify: a rejected file is damage, an older release
    // during an upgrade, or someone without the cluster key writing there.
    expr: 'increase(msgha_shared_dir_rejected_total[10m]) > 0',
    severity: 'critical',
    summary: `${L('node')} ignored files of the shared directory that do not verify (kind ${L('kind')}): see which with \`msgha status --cluster FILE\` and the coordinator log (\`pm2 logs msgha\`); check who can write the shared directory (docs/lease.md, "Who may write the shared directory").`,
    description: `{{ $value }} rejected ${L('kind')} files in 10 minutes.`,
  },
  {
    alert: 'MsghaLeaseServeTimeLow',
    // Renewals normally keep tens of seconds of serve time; under 10 s means several renewals in
    // a row were missed and self-fencing is close.
    expr: 'msgha_lease_remaining_serve_seconds < 10 and on (group, node) msgha_lease_held == 1',
    severity: 'critical',
    summary: `${L('node')} may serve ${L('group')} for less than 10 s more: the shared directory is not answering; expect the group to stop there and move — check the shared directory now.`,
    description: `Remaining serve time {{ $value }} s.`,
  },
  {
    alert: 'MsghaTwoHolders',
    expr: 'sum by (group) (msgha_lease_held) > 1\nor max by (group) (msgha_lease_holders_seen) > 1',
    severity: 'critical',
    summary: `Two nodes report serving ${L('group')}: stop the group on every node but one now (\`msgha offline\` / \`pm2 stop\`), check the shared directory and clocks, and report a bug.`,
    description: `Split brain: the lease must never allow two holders of ${L('group')}.`,
  },
  {
    alert: 'MsghaConcurrencyViolation',
    expr: 'increase(msgha_concurrency_violations_total[15m]) > 0',
    severity: 'critical',
    summary: `${L('group')}.${L('resource')} was found running on ${L('node')}, which does not hold ${L('group')}: find who started it outside the cluster; only start and stop it with \`msgha\` or \`pm2\`.`,
    description: `The standby's offline monitor found the resource running and cleaned it.`,
  },
  {
    alert: 'MsghaProbeFailing',
    // More than one probe in five failing over 10 minutes: flapping that restarts in place hide.
    expr: 'sum by (group, resource, service, node) (increase(msgha_probes_total{outcome!="ok"}[10m]))\n/ sum by (group, resource, service, node) (increase(msgha_probes_total[10m])) > 0.2',
    for: '2m', severity: 'warning',
    summary: `The ${L('service')} probe of ${L('group')}.${L('resource')} fails on ${L('node')}: try \`msgha probe\` against it by hand and read \`pm2 logs ${L('group')}.${L('resource')}\`; check the test user's account if logins fail.`,
    description: `{{ $value | humanizePercentage }} of probes failed or timed out in 10 minutes.`,
  },
  {
    alert: 'MsghaProbeSlow',
    // A healthy synthetic login takes tens of milliseconds; 5 s at p90 means users wait too.
    expr: 'histogram_quantile(0.9, sum by (group, resource, service, node, le) (rate(msgha_probe_duration_seconds_bucket[10m]))) > 5',
    for: '10m', severity: 'warning',
    summary: `The ${L('service')} probe of ${L('group')}.${L('resource')} takes over 5 s (p90) on ${L('node')}: check the server's load, its directory (LDAP) and session limits.`,
    description: `p90 of the synthetic transaction is {{ $value | humanizeDuration }}.`,
  },
  {
    alert: 'MsghaCertificateExpiring',
    expr: 'msgha_tls_cert_expiry_timestamp_seconds - time() < 14 * 86400',
    severity: 'warning',
    summary: `The TLS certificate of ${L('service')} on ${L('group')}.${L('resource')} expires within 14 days: renew it and reload the service.`,
    description: `Expires in {{ $value | humanizeDuration }}.`,
  },
];

export function alertsYaml(rules: AlertRule[] = ALERT_RULES): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    '# Prometheus alert rules for pm2-messaging-ha. Generated by plugin/metrics/dashboards/generate.ts:',
    '# edit the generator, not this file. Load with `rule_files: [alerts.yml]`; check with `promtool check rules`.',
    'groups:',
    '  - name: msgha',
    '    rules:',
  ];
  for (const r of rules) {
    lines.push(`      - alert: ${r.alert}`, `        expr: ${q(r.expr)}`);
    if (r.for) lines.push(`        for: ${r.for}`);
    lines.push(
      '        labels:', `          severity: ${r.severity}`,
      '        annotations:', `          summary: ${q(r.summary)}`, `          description: ${q(r.description)}`,
    );
  }
  return lines.join('\n') + '\n';
}
