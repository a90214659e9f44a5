/**
 * The chaos campaign's results: bench/results/chaos.json (everything: the schedule, every fault
 * with its outcome, the checker's findings, the mail counts) and chaos.md (per fault kind: how
 * many, client outage and recovery p50/p90/max, next to the single-fault figures the failover and
 * recovery benchmarks measured on this machine; then the violations, the mail, the seed).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mdTable, resultsDir, summarize, writeResults } from '../stats';
import type { CampaignResult } from './campaign';
import { FAULT_KINDS } from './schedule';

/** What the single-fault benchmarks measured for a kind (client outage, ms), when they did. */
function singleFault(): Partial<Record<string, string>> {
  const out: Record<string, string> = {};
  try {
    const fo = JSON.parse(fs.readFileSync(path.join(resultsDir(), 'failover.json'), 'utf8')) as { rows: Array<{ scenario: string; profile: string; summary?: { median: number; p90: number } }> };
    const row = (prefix: string): string | undefined => {
      const r = fo.rows.find((x) => x.scenario.startsWith(prefix) && x.profile === 'fast');
      return r?.summary ? `${r.summary.median} / ${r.summary.p90}` : undefined;
    };
    if (row('node kill')) out['node-kill'] = `${row('node kill')} (failover)`;
    if (row('planned switch')) out.switch = `${row('planned switch')} (failover)`;
    if (row('client link cut')) out['link-cut'] = `${row('client link cut')} (failover)`;
  } catch { /* not measured here */ }
  try {
    const rec = JSON.parse(fs.readFileSync(path.join(resultsDir(), 'recovery.json'), 'utf8')) as { crash?: { median: number; p90: number }; hang?: { median: number; p90: number } };
    if (rec.crash) out['daemon-kill'] = `${rec.crash.median} / ${rec.crash.p90} (recovery, imapd)`;
    if (rec.hang) out['daemon-stop'] = `${rec.hang.median} / ${rec.hang.p90} (recovery, imapd)`;
  } catch { /* not measured here */ }
  return out;
}

const fmt = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '–' : String(Math.round(v)));

export function markdown(r: CampaignResult): string {
  const single = singleFault();
  const rows = FAULT_KINDS.map((k) => {
    const fs_ = r.faults.filter((f) => f.kind === k);
    if (!fs_.length) return undefined;
    const out = summarize(fs_.map((f) => f.outageMs ?? 0));
    const rec = fs_.filter((f) => f.recoveredMs !== undefined).map((f) => f.recoveredMs!);
    const recS = rec.length ? summarize(rec) : undefined;
    const notRecovered = fs_.filter((f) => f.recoveredMs === undefined && !f.overlapped && !(f.note ?? '').startsWith('not waited')).length;
    return [k, fs_.length, `${fmt(out.median)} / ${fmt(out.p90)} / ${fmt(out.max)}`, recS ? `${fmt(recS.median)} / ${fmt(recS.p90)} / ${fmt(recS.max)}` : '–', notRecovered, single[k] ?? ''];
  }).filter((x): x is Array<string | number> => !!x);
  const mail = r.mail;
  return [
    '# Chaos campaign (npm run chaos)',
    '',
    `Seed ${r.seed}, profile ${r.profile}, ${r.faults.length} faults in ${r.minutes} min on three namespace nodes (one 2-core machine),`,
    'groups dir and mail (mail depends on dir), SMTP at 5 messages/s and an IMAP LOGIN every 100 ms through the VIP',
    `(${r.imapAttempts} IMAP attempts). Times in ms; outage = the longest IMAP outage through the mail VIP that began in the`,
    'fault\'s window; recovery = from the heal until both groups are ONLINE on exactly one node.',
    '',
    mdTable(['fault', 'count', 'client outage p50 / p90 / max', 'recovery p50 / p90 / max', 'not recovered', 'single fault p50 / p90 (benchmark)'], rows),
    '',
    `**Violations** (two nodes holding a VIP, a mount or daemons at one instant, no node paused; or a node writing to a disk another node had mounted): ${r.violations.length}`,
    ...r.violations.slice(0, 20).map((v) => `- at ${v.at} ms: ${v.kind} of ${v.group} on ${v.nodes.join(' and ')}${v.detail ? ` (${v.detail.slice(0, 160)})` : ''}`),
    '',
    `**While a node was paused** (docs/lease.md, "After a thaw"): ${r.pausedOverlaps.length}`,
    ...r.pausedOverlaps.slice(0, 20).map((v) => `- at ${v.at} ms: ${v.kind} of ${v.group} on ${v.nodes.join(' and ')}, ${v.durationMs} ms`),
    '',
    `**Storage fence**: ${r.storageFence.claims} claims, one before every mount, each cutting every other node's device off the disk. A write by a node after another node mounted the disk (each node's own device counts its writes) is a violation above, paused or not.`,
    '',
    mail.unchecked ? `**Mail**: ${mail.acked} acknowledged with 250, NOT CHECKED: ${mail.unchecked}`
      : `**Mail**: ${mail.acked} acknowledged with 250; in the store (its mail files): ${mail.lost.length} lost, ${mail.duplicated.length} duplicated; ${mail.refused} refused or cut off (not acknowledged, never retried), ${mail.skipped} not sent (30 attempts already in flight).`,
    ...(mail.lost.length ? [`Lost: ${mail.lost.slice(0, 20).join(', ')}`] : []),
    ...(mail.imapWrong?.length ? [`Stored once but listed by IMAP other than once (Dovecot's index after a failover): ${mail.imapWrong.length} — ${mail.imapWrong.slice(0, 20).join(', ')}`] : []),
    ...(mail.duplicated.length ? [`Duplicated: ${mail.duplicated.slice(0, 20).join(', ')}`] : []),
    '',
    ...(r.logDirs.length ? ['**Logs kept**:', ...r.logDirs.map((d) => `- ${d}`), ''] : []),
    '**Faults**:',
    ...r.faults.map((f) => `${f.n}. ${(f.at / 1000).toFixed(1)} s ${f.kind} — ${f.what}${f.recoveredMs !== undefined ? `; recovered ${f.recoveredMs} ms after the heal` : ''}${f.outageMs ? `; IMAP outage ${f.outageMs} ms` : ''}${f.note ? `; ${f.note}` : ''}`),
  ].join('\n');
}

export function writeChaosResults(r: CampaignResult): void {
  writeResults('chaos', { when: new Date().toISOString(), ...r }, markdown(r));
}
