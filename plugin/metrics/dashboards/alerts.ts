/**
 * The Prometheus alert rules (dashboards/alerts.yml), as data. Every rule's summary holds commands
 * an operator can paste; every rule links its section of docs/alerts.md (the runbook); every rule
 * either waits (`for`) or says why it fires at once (`noFor`). The YAML writer quotes every string
 * as a JSON string, which YAML reads as a double-quoted scalar — no YAML library needed.
 *
 * Convention: Prometheus scrapes every coordinator under `job="msgha"` (JOB below;
 * dashboards/provisioning/prometheus.yml and docs/alerts.md show the scrape configuration).
 */

/** Either a hold time, or the reason the condition cannot flap (or must not wait). */
type Hold = { for: string; noFor?: never } | { for?: never; noFor: string };

export type AlertRule = {
  alert: string;
  expr: string;
  severity: 'critical' | 'warning';
  summary: string;
  description: string;
} & Hold;

/** The `job` label under which Prometheus scrapes the coordinators' exporters. */
export const JOB = 'msgha';
/** The runbook; each alert's section anchor is its name in lower case (GitHub's heading anchors). */
export const RUNBOOK = 'https://github.com/pm2-messaging-ha/pm2-messaging-ha/blob/main/docs/alerts.md';
/** The cluster file where the README installs it; the runbook says to substitute another path. */
export const CLUSTER_FILE = '/etc/msgha/mail.config.js';

export const runbookUrl = (alert: string): string => `${RUNBOOK}#${alert.toLowerCase()}`;

const L = (name: string): string => `{{ $labels.${name} }}`;
const GR = `${L('group')}.${L('resource')}`;

export const ALERT_RULES: AlertRule[] = [
  {
    alert: 'MsghaExporterDown',
    expr: `up{job="${JOB}"} == 0`,
    // One failed scrape (a restart of the coordinator, a slow answer) is normal.
    for: '2m', severity: 'warning',
    summary: `The msgha exporter ${L('instance')} does not answer: on that node run \`pm2 describe msgha\` and \`msgha status\`; if the coordinator runs, see who holds the port with \`ss -ltnp 'sport = :9464'\`; \`pm2 logs msgha --lines 100\` says why.`,
    description: `Prometheus could not scrape ${L('instance')} (job ${JOB}) for 2 minutes: that node's groups and leases are not watched by any other alert.`,
  },
  {
    alert: 'MsghaExportersAbsent',
    // No series at all (job missing, every target gone) or every target down: then no msgha_*
    // series exists and MsghaGroupOfflineEverywhere cannot fire.
    expr: `absent(up{job="${JOB}"} == 1)`,
    for: '2m', severity: 'critical',
    summary: `No msgha exporter answers: every coordinator may be down and no other msgha alert can fire — on each node run \`pm2 ls\` and \`msgha status\`; check the scrape job with \`promtool check config /etc/prometheus/prometheus.yml\`.`,
    description: `For 2 minutes no target of job ${JOB} was up (or the job has no target): the state of every group is unknown.`,
  },
  {
    alert: 'MsghaGroupOfflineEverywhere',
    // Not frozen: a frozen group left offline is the operator's decision.
    expr: 'max by (group) (msgha_group_state{state=~"STARTING|ONLINE|PARTIAL|STOPPING"}) == 0\nunless on (group) max by (group) (msgha_group_frozen) == 1',
    // A failover passes through OFFLINE everywhere for seconds.
    for: '2m', severity: 'critical',
    summary: `Group ${L('group')} is online on no node: run \`msgha status --cluster ${CLUSTER_FILE}\`, fix the faulted resource, run \`msgha clear ${L('group')}\` on each node where it is FAULTED, then \`msgha online ${L('group')}\`.`,
    description: `No node reports group ${L('group')} as STARTING, ONLINE, PARTIAL or STOPPING for 2 minutes; its clients have no service.`,
  },
  {
    alert: 'MsghaGroupFaulted',
    expr: 'msgha_group_state{state="FAULTED"} == 1',
    // FAULTED stays until cleared; a state the exporter does not know also reads FAULTED for a scrape.
    for: '1m', severity: 'critical',
    summary: `Group ${L('group')} is FAULTED on ${L('node')}: there, read \`pm2 logs msgha --lines 200\`, fix the cause, then run \`msgha clear ${L('group')}\` so the node may run it again.`,
    description: `A critical resource of ${L('group')} faulted beyond RestartLimit on ${L('node')}; the node will not take the group back until cleared.`,
  },
  {
    alert: 'MsghaFailover',
    expr: 'sum by (group, reason, node) (increase(msgha_group_failovers_total[15m])) > 0',
    noFor: 'one event, held 15 minutes by its window; waiting would only delay the news',
    severity: 'warning',
    summary: `Group ${L('group')} failed over (${L('reason')}, started by ${L('node')}): find why with \`msgha status\` and \`pm2 logs msgha --lines 200\` on ${L('node')}; once fixed, move it back with \`msgha switch ${L('group')}:${L('node')}\`.`,
    description: `Group ${L('group')} moved in the last 15 minutes; reason ${L('reason')}.`,
  },
  {
    alert: 'MsghaResourceFaulted',
    expr: 'msgha_resource_state{state="FAULTED"} == 1',
    // A restart in place shows FAULTED while the resource is cleaned and started again.
    for: '2m', severity: 'warning',
    summary: `Resource ${GR} is FAULTED on ${L('node')}: there, read \`pm2 logs ${GR} --lines 100\`, check it with \`msgha run ${CLUSTER_FILE} ${GR} monitor --deep\`, fix it, then run \`msgha clear ${GR}\`.`,
    description: `The ${L('type')} resource ${L('resource')} of group ${L('group')} faulted on ${L('node')} and was not restarted there.`,
  },
  {
    alert: 'MsghaLeaseRenewSlow',
    // A renewal is one 512-byte rewrite; 2 s at p90 means the shared directory is struggling and
    // the holder's serve time (FS, 8–20 s) is being eaten.
    expr: 'histogram_quantile(0.9, sum by (group, node, le) (rate(msgha_lease_renew_duration_seconds_bucket[5m]))) > 2',
    for: '5m', severity: 'warning',
    summary: `Lease renewals of ${L('group')} on ${L('node')} take over 2 s (p90): check the shared directory's server and network from ${L('node')} (\`nfsstat -c\`, \`findmnt -t nfs,nfs4\`) before the lease expires.`,
    description: `p90 of lease renewals is {{ $value | humanizeDuration }} over 5 minutes.`,
  },
  {
    alert: 'MsghaLeaseRenewFailing',
    expr: 'increase(msgha_lease_renew_failures_total[5m]) > 0',
    noFor: 'each failed renewal is an event held 5 minutes by the window; the serve deadline is seconds away, so waiting would be too late',
    severity: 'warning',
    summary: `Lease renewals of ${L('group')} fail on ${L('node')}: there, check that the shared directory is mounted and writable (\`findmnt -t nfs,nfs4\`, \`pm2 logs msgha --lines 100\`); if it stays down the group stops on that node at its serve deadline.`,
    description: `{{ $value }} failed renewals in 5 minutes.`,
  },
  {
    alert: 'MsghaSharedDirRejected',
    // Nothing the product writes fails to verify: a rejected file is damage, an older release
    // during an upgrade, or someone without the cluster key writing there.
    expr: 'increase(msgha_shared_dir_rejected_total[10m]) > 0',
    noFor: 'one rejected file is already an intrusion or damage; the 10-minute window holds it',
    severity: 'critical',
    summary: `${L('node')} ignored files of the shared directory that do not verify (kind ${L('kind')}): see which with \`msgha status --cluster ${CLUSTER_FILE}\` and \`pm2 logs msgha --lines 200\`; check who can write the shared directory (docs/security.md).`,
    description: `{{ $value }} rejected ${L('kind')} files in 10 minutes.`,
  },
  {
    alert: 'MsghaLeaseServeTimeLow',
    // Normally the holder has nearly its whole serve window FS left (nfs 20 s, local 8 s, fast
    // 1.2 s); under half of the most seen in the last hour means renewals in a row were missed.
    // Relative, so that every timing profile gets the same alert.
    expr: 'msgha_lease_remaining_serve_seconds < 0.5 * max_over_time(msgha_lease_remaining_serve_seconds[1h])\nand on (group, node) msgha_lease_held == 1',
    noFor: 'within seconds either a renewal restores the serve time or the node self-fences and the condition ends; a hold would never fire',
    severity: 'critical',
    summary: `${L('node')} may serve ${L('group')} for only {{ $value | humanizeDuration }} more: the shared directory is not answering — check it from ${L('node')} now (\`findmnt -t nfs,nfs4\`, \`pm2 logs msgha --lines 100\`); expect the group to stop there and move.`,
    description: `Remaining serve time {{ $value }} s, under half of the usual.`,
  },
  {
    alert: 'MsghaTwoHolders',
    expr: 'sum by (group) (msgha_lease_held) > 1\nor max by (group) (msgha_lease_holders_seen) > 1',
    // Nodes are scraped at different moments and node views lag: a quick handover can show the
    // old and the new holder together for a scrape or a view period.
    for: '1m', severity: 'critical',
    summary: `Two nodes report serving ${L('group')}: see which with \`msgha status --cluster ${CLUSTER_FILE}\`, run \`pm2 stop msgha\` on every one of them but one (its agents stop the services at the serve deadline, its fence kills what is left), check the shared directory and clocks, and report a bug.`,
    description: `Split brain: the lease must never allow two holders of ${L('group')}.`,
  },
  {
    alert: 'MsghaConcurrencyViolation',
    expr: 'increase(msgha_concurrency_violations_total[15m]) > 0',
    noFor: 'one event (the standby already cleaned it), held 15 minutes by the window',
    severity: 'critical',
    summary: `${GR} was found running on ${L('node')}, which does not hold ${L('group')}: there, read \`pm2 logs ${GR} --lines 100\` and \`systemctl is-enabled slapd dovecot postfix\` (the distribution's units must be disabled) to find who started it; start and stop it only with \`msgha\` or \`pm2\`.`,
    description: `The standby's offline monitor found the resource running and cleaned it.`,
  },
  {
    alert: 'MsghaProbeFailing',
    // More than one probe in five failing over 10 minutes: flapping that restarts in place hide.
    expr: 'sum by (group, resource, service, node) (increase(msgha_probes_total{outcome!="ok"}[10m]))\n/ sum by (group, resource, service, node) (increase(msgha_probes_total[10m])) > 0.2',
    for: '2m', severity: 'warning',
    summary: `The ${L('service')} probe of ${GR} fails on ${L('node')}: there, run it by hand with \`msgha run ${CLUSTER_FILE} ${GR} monitor --deep\` and read \`pm2 logs ${GR} --lines 100\`; check the test user's account if logins fail.`,
    description: `{{ $value | humanizePercentage }} of probes failed or timed out in 10 minutes.`,
  },
  {
    alert: 'MsghaProbeSlow',
    // A healthy synthetic login takes tens of milliseconds; 5 s at p90 means users wait too.
    expr: 'histogram_quantile(0.9, sum by (group, resource, service, node, le) (rate(msgha_probe_duration_seconds_bucket[10m]))) > 5',
    for: '10m', severity: 'warning',
    summary: `The ${L('service')} probe of ${GR} takes over 5 s (p90) on ${L('node')}: see which phase is slow with \`msgha run ${CLUSTER_FILE} ${GR} monitor --deep\` there; check the server's load, its directory (LDAP) and session limits.`,
    description: `p90 of the synthetic transaction is {{ $value | humanizeDuration }}.`,
  },
  {
    alert: 'MsghaUnreachableFromNetwork',
    expr: 'msgha_group_unreachable_from_network == 1',
    // The holder decides after N failed remote cycles of every live standby; 15 s more lets its
    // own failover to a witness (seconds) end the condition before anyone is paged for it.
    for: '15s', severity: 'critical',
    summary: `Group ${L('group')} on ${L('node')}: serving locally, unreachable from the network — ${L('node')} gives it to a standby that reaches the clients when one can. Check where it runs with \`msgha status --cluster ${CLUSTER_FILE}\`; on ${L('node')} run \`ip -br link\` and \`ping -I\` the gateway that \`ip route show default\` names; if the group stayed, move it with \`msgha switch ${L('group')}\`.`,
    description: `${L('node')} holds ${L('group')} and its local checks pass, but no live standby reached it through the VIP: the clients' network cannot reach ${L('node')}. Firing for long means no standby could take it (none is a witness with a working link).`,
  },
  {
    alert: 'MsghaLinkDown',
    expr: 'msgha_link_up == 0',
    // The link watch already waits ToleranceLimit checks; 30 s more ignores a switch port that
    // renegotiates or a cable that is re-plugged.
    for: '30s', severity: 'warning',
    summary: `Link ${L('device')} (${GR}) is down on ${L('node')}: there, run \`ip -br link show ${L('device')}\` (NO-CARRIER: cable, switch port, NIC), then \`ping -I ${L('device')} -c 3\` the gateway that \`ip route show dev ${L('device')}\` names; a holder fails ${L('group')} over, a standby is no target until the link is back (\`msgha status --cluster ${CLUSTER_FILE}\`).`,
    description: `The link resource ${L('resource')} of ${L('group')} on ${L('node')} sees no carrier on ${L('device')}, or none of its ping hosts answers.`,
  },
  {
    alert: 'MsghaRemoteProbeFailing',
    // The same result is published by the standby and by the holder: one alert per standby.
    expr: 'min by (group, service, from) (msgha_remote_probe_success) == 0\nand on (group) max by (group) (msgha_group_state{state="ONLINE"}) == 1',
    // A failover or a restart of the service fails a few remote probes; 2 minutes is not that.
    for: '2m', severity: 'warning',
    summary: `${L('from')} cannot reach the ${L('service')} service of ${L('group')} through its VIP although the holder reports it ONLINE: on ${L('from')} check its own network first (\`ip -br link\`, \`ip route show default\`), then the path to the holder; \`msgha status --cluster ${CLUSTER_FILE}\` shows which nodes reach it.`,
    description: `For 2 minutes the remote probe of ${L('service')} from ${L('from')} failed while ${L('group')} is ONLINE. Only one standby: probably its own network. Every standby: see MsghaUnreachableFromNetwork.`,
  },
  {
    alert: 'MsghaCertificateExpiring',
    expr: 'msgha_tls_cert_expiry_timestamp_seconds - time() < 14 * 86400',
    // Fourteen days leave room: one probe that met an old certificate (before a reload) must not page.
    for: '1h', severity: 'warning',
    summary: `The TLS certificate of ${L('service')} on ${GR} expires within 14 days: renew it, reload the service, then check with \`msgha run ${CLUSTER_FILE} ${GR} monitor --deep\`.`,
    description: `Expires in {{ $value | humanizeDuration }}.`,
  },
];

export function alertsYaml(rules: AlertRule[] = ALERT_RULES): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    '# Prometheus alert rules for pm2-messaging-ha. Generated by plugin/metrics/dashboards/generate.ts:',
    '# edit the generator, not this file. Load with `rule_files: [alerts.yml]`; check with `promtool check rules`.',
    `# Scrape every coordinator under job "${JOB}" (dashboards/provisioning/prometheus.yml). Runbook: docs/alerts.md.`,
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
      `          runbook_url: ${q(runbookUrl(r.alert))}`,
    );
  }
  return lines.join('\n') + '\n';
}
