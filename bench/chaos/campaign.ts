/**
 * One chaos campaign (`npm run chaos`, docs/chaos.md): the three-node namespace cluster with the
 * directory and mail groups (mail depends on dir), steady load through the VIPs from the client
 * namespace (SMTP ≥ 5 messages/s, an IMAP LOGIN every 100 ms), and the seeded schedule of faults
 * (schedule.ts) injected one after another — sometimes the next before the last settled.
 *
 * Checked, on the machine's one CLOCK_MONOTONIC (test/fixtures/cluster/invariant.ts): the VIP, the
 * shared disk's mount and the group's daemons never on two nodes at one instant — overlaps while a
 * node was paused are reported apart, with their duration, as docs/lease.md ("After a thaw")
 * describes them; after each fault both groups ONLINE on exactly one node within the profile's
 * crash bound plus service start (or a stated reason); at the end every message acknowledged with
 * 250 is in the mailbox exactly once. For every failure the nodes' logs are kept.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MsgCluster } from '../../test/fixtures/cluster/cluster';
import { mono, type HoldKind, type Violation } from '../../test/fixtures/cluster/invariant';
import { dirPlan, mailPlan } from '../../test/fixtures/cluster/plans';
import { portBlock } from '../../test/helpers/ports';
import { failoverBounds, getProfile } from '../../plugin/lease/profiles';
import { FaultInjector } from './faults';
import { makeSchedule, type FaultKind, type PlannedFault } from './schedule';

export interface CampaignOptions {
  faults: number;
  seed: number;
  profile: 'fast' | 'local';
  /** Stop injecting after this many minutes (the run still checks and reports). */
  minutes?: number;
  /** Only these kinds of fault (default: the whole catalogue). */
  kinds?: readonly FaultKind[];
  /** Where the logs of failures go (one directory per failure). */
  logDir: string;
  say(line: string): void;
  /** Namespace tag and subnet (the test's short run uses its own). */
  tag?: string;
  net?: number;
}

export interface FaultRecord {
  n: number;
  kind: FaultKind;
  group: string;
  role: string;
  nodes: string[];
  what: string;
  /** Mono ms since the campaign's start. */
  at: number;
  healedAt: number;
  /** Both groups ONLINE on exactly one node again (ms after the heal), or undefined. */
  recoveredMs?: number;
  /** Why not recovered within the bound (or what housekeeping an operator had to do). */
  note?: string;
  /** Longest IMAP outage through the mail VIP that began during this fault's window (ms). */
  outageMs?: number;
  overlapped: boolean;
}

export interface CampaignResult {
  seed: number;
  profile: string;
  planned: PlannedFault[];
  faults: FaultRecord[];
  violations: Array<Violation & { at: number }>;
  pausedOverlaps: Array<{ kind: string; group: string; nodes: string[]; at: number; durationMs: number }>;
  /** The storage fence's claims: one before every mount, each cutting every other node's device off the disk. */
  storageFence: { claims: number };
  /**
   * Lost and duplicated are counted in the store itself (the mail files on the disk); `imapWrong`:
   * acknowledged messages the IMAP listing at the end showed other than once although the store
   * has them once (Dovecot's index after a failover, not the mail); `unchecked`: why the store
   * could not be read at the end (then nothing is counted as lost).
   */
  mail: { acked: number; unchecked?: string; lost: string[]; duplicated: string[]; imapWrong: string[]; refused: number; skipped: number };
  imapAttempts: number;
  minutes: number;
  logDirs: string[];
}

const NODES = ['mx1', 'mx2', 'mx3'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Service start after a claim on this 2-core machine, plus scheduling slack (as the cluster suite). */
const START_SLACK_MS = 8000;

export async function runCampaign(o: CampaignOptions): Promise<CampaignResult> {
  const t = getProfile(o.profile).timings;
  const bound = failoverBounds(t).holderCrashMs + START_SLACK_MS;
  const c = new MsgCluster({
    tag: o.tag ?? 'chaos', net: o.net ?? 26, nodes: NODES, profile: o.profile, clusterName: 'chaos',
    groups: [dirPlan(['mx2', 'mx1', 'mx3'], portBlock('demo', 4)), mailPlan(['mx1', 'mx2', 'mx3'], portBlock('demo', 4) + 40, { dependsOnDir: true })],
  });
  const planned = makeSchedule(o.seed, o.faults, o.profile, o.kinds);
  const faults: FaultRecord[] = [];
  const logDirs: string[] = [];
  const paused: Array<{ node: string; from: number; to: number }> = [];
  let t0 = 0;
  let load: Awaited<ReturnType<MsgCluster['loadStop']>> | undefined;
  // Subject → how many times: in the store's mail files, and in the IMAP listing (deliveredSubjects).
  let stored = new Map<string, number>();
  let shown = new Map<string, number>();
  let mailUnchecked: string | undefined;
  let storageFence: CampaignResult['storageFence'] = { claims: 0 };
  const keepLogs = (name: string): void => {
    const dir = path.join(o.logDir, name);
    for (const n of NODES) {
      for (const [from, to] of [[path.join(c.pm2Home(n), 'logs'), path.join(dir, n, 'pm2-logs')], [c.runDir(n), path.join(dir, n, 'run')]] as const) {
        try { fs.cpSync(from, to, { recursive: true, filter: (p) => !p.endsWith('.sock') }); } catch { /* not there */ }
      }
    }
    fs.writeFileSync(path.join(dir, 'views.json'), JSON.stringify(c.views(), null, 2));
    logDirs.push(dir);
  };
  const settled = (): boolean => c.settledAt('mail') && c.settledAt('dir');
  /**
   * Recovered after a heal: both groups settled (their holder's own view says ONLINE, and the
   * checker sees that node alone holding the VIP), by views written after the heal — a dead
   * coordinator's last view would say ONLINE too — and an IMAP LOGIN through the VIP works.
   */
  const recovered = async (marks: Record<string, string>, maxMs: number): Promise<boolean> => {
    // A restarted coordinator counts from 0 again: any other (incarnation, counter) is a new view.
    const fresh = (g: string): boolean => { const h = c.onlineAt(g); return !!h && mark(c.views()[h]) !== marks[h]; };
    const end = mono() + maxMs;
    if (!(await c.waitFor(() => settled() && fresh('mail') && fresh('dir'), maxMs, 100))) return false;
    return (await c.waitImap('mail', Math.max(1000, end - mono()), 100)).ok === true;
  };
  const mark = (v: { incarnation?: number; counter: number } | undefined): string => `${v?.incarnation ?? 0}/${v?.counter ?? 0}`;
  const marks = (): Record<string, string> => Object.fromEntries(Object.entries(c.views()).map(([n, v]) => [n, mark(v)]));
  try {
    await c.setup();
    await c.startAll();
    if (!(await c.waitFor(settled, 180_000, 200))) throw new Error('the cluster did not come up');
    if (!(await c.waitImap('mail', 30_000)).ok) throw new Error('IMAP does not answer on the mail VIP');
    t0 = mono();
    const started = await c.loadStart('mail', `chaos${o.seed}`, 5, 100);
    if (!started.ok) throw new Error(`load did not start: ${started.error}`);
    const inject = new FaultInjector(c);
    const deadline = o.minutes ? t0 + o.minutes * 60_000 : Infinity;
    let overlapping = false;
    for (const f of planned) {
      if (mono() > deadline) { o.say(`time is up after ${faults.length} faults`); break; }
      const at = mono();
      const done = await inject.inject(f);
      if (done.paused) for (const n of done.paused) paused.push({ node: n, from: at, to: Infinity });
      if (f.holdMs) await sleep(f.holdMs);
      await done.heal();
      const healedAt = mono();
      const atHeal = marks();
      for (const p of paused) if (p.to === Infinity) p.to = healedAt;
      const rec: FaultRecord = { n: f.n, kind: f.kind, group: f.group, role: f.role, nodes: done.nodes, what: done.what, at: at - t0, healedAt: healedAt - t0, overlapped: overlapping };
      faults.push(rec);
      o.say(`#${f.n} ${f.kind} (${f.role} of ${f.group}${overlapping ? ', during the last one' : ''}): ${done.what}`);
      if (f.overlapMs !== undefined) {
        // The next fault lands before this one settled; its recovery is judged with the next.
        await sleep(f.overlapMs);
        overlapping = true;
        rec.note = `not waited for: the next fault came after ${f.overlapMs} ms`;
        continue;
      }
      overlapping = false;
      const ok = await recovered(atHeal, bound + f.holdMs);
      if (ok) rec.recoveredMs = Math.round(mono() - healedAt);
      else {
        rec.note = `not ONLINE on exactly one node ${bound} ms after the heal: ${JSON.stringify(c.summary())}`;
        keepLogs(`fault-${f.n}-${f.kind}`);
      }
      // What an administrator does after an incident: restart what is down, unfreeze, clear.
      const chores = await c.chores();
      if (chores.length) rec.note = `${rec.note ? `${rec.note}; ` : ''}operator: ${chores.join(', ')}`;
      if (chores.length || !ok) {
        if (!(await c.waitFor(settled, 60_000, 200))) {
          rec.note += '; still not settled after the operator\'s chores: campaign stopped';
          keepLogs(`fault-${f.n}-${f.kind}-stuck`);
          break;
        }
      }
      await sleep(500 + Math.round(f.pick * 1500));
    }
  } finally {
    try {
      load = await c.loadStop();
      // The mailbox is read through the mail group: bring it back first, as an operator would
      // (chores, then a reboot of every node), so a stuck cluster is reported as stuck, not as lost mail.
      let back = await c.waitFor(settled, 30_000, 200);
      if (!back) { await c.chores(); back = await c.waitFor(settled, 90_000, 200); }
      if (!back) {
        for (const n of NODES) { await c.killNode(n); await c.startNode(n); }
        await c.chores();
        back = await c.waitFor(settled, 180_000, 200);
      }
      if (back) {
        const d = await deliveredSubjects(c, load.acked ?? []);
        stored = tally(d.stored);
        shown = tally(d.imap);
      }
      else mailUnchecked = `the mail group did not come back at the end: ${JSON.stringify(c.summary())}`;
    } catch (err) { mailUnchecked = `end of run: ${err instanceof Error ? err.message : String(err)}`; }
    if (mailUnchecked) o.say(mailUnchecked);
    if (c.monitor?.violations.length) keepLogs('violations');
    if ((load?.acked ?? []).some((s) => stored.get(s) !== 1 || shown.get(s) !== 1)) keepDisks(c, path.join(o.logDir, 'mail'), logDirs);
    storageFence = { claims: countLines(c.storageLog) };
    await c.teardown();
  }
  const acked = load?.acked ?? [];
  const outage = outages(load?.imap ?? [], faults, t0);
  faults.forEach((f, i) => { f.outageMs = outage[i]; });
  const all = (c.monitor?.violations ?? []).map((v) => ({ ...v, at: Math.round(v.t - t0) }));
  const whilePaused = (v: Violation): boolean => paused.some((p) => v.nodes.includes(p.node) && v.t >= p.from && v.t <= p.to + 3000);
  return {
    seed: o.seed, profile: o.profile, planned, faults,
    // A write to the disk while another node held it is never excused, not even by a pause.
    violations: all.filter((v) => v.kind === 'write' || !whilePaused(v)),
    pausedOverlaps: all.filter((v) => v.kind !== 'write' && whilePaused(v)).map((v) => ({ kind: v.kind, group: v.group, nodes: v.nodes, at: v.at, durationMs: overlapMs(c, v.kind as HoldKind, v) })),
    storageFence,
    mail: {
      acked: acked.length,
      ...(mailUnchecked ? { unchecked: mailUnchecked } : {}),
      lost: mailUnchecked ? [] : acked.filter((s) => !stored.has(s)),
      duplicated: acked.filter((s) => (stored.get(s) ?? 0) > 1),
      imapWrong: mailUnchecked ? [] : acked.filter((s) => stored.get(s) === 1 && shown.get(s) !== 1),
      refused: load?.failed ?? 0,
      skipped: load?.skipped ?? 0,
    },
    imapAttempts: load?.imap?.length ?? 0,
    minutes: t0 ? Math.round((mono() - t0) / 600) / 100 : 0,
    logDirs,
  };
}

function tally(subjects: string[]): Map<string, number> {
  const count = new Map<string, number>();
  for (const s of subjects) count.set(s, (count.get(s) ?? 0) + 1);
  return count;
}

/**
 * The subject of every mail file in the test user's Maildir on the holder's disk, once the
 * acknowledged mail is in (queued mail is retried every few seconds) — the store itself, not what
 * Dovecot's index says of it — and then the IMAP listing through the VIP, as a client sees it.
 */
async function deliveredSubjects(c: MsgCluster, acked: string[]): Promise<{ stored: string[]; imap: string[] }> {
  const g = c.groups.get('mail')!;
  const maildir = path.join(g.sandbox.msgRoot, 'store', g.sandbox.testUser.name, 'Maildir');
  let stored: string[] = [];
  await c.waitFor(async () => {
    const holder = c.onlineAt('mail');
    if (!holder) return false;
    // -m1: the first Subject line of each file (the header's); -r over cur/ and new/, no shell.
    const r = await c.node(holder).exec(['grep', '-r', '-h', '-m1', '^Subject: ', path.join(maildir, 'cur'), path.join(maildir, 'new')], { timeoutMs: 60_000 });
    if (r.code !== 0 && r.code !== 1) return false;
    stored = r.stdout.split('\n').filter((l) => l.startsWith('Subject: ')).map((l) => l.slice('Subject: '.length).trim());
    const have = new Set(stored);
    return acked.every((s) => have.has(s));
  }, 120_000, 3000);
  const r = await c.imapLogin('mail', { subjects: true, timeoutMs: 60_000 });
  return { stored, imap: r.ok ? r.subjects ?? [] : [] };
}

/**
 * Copies of the disk images (sparse), kept when an acknowledged message is not stored or not
 * listed exactly once: what happened to it is in the mail daemons' own logs and queues there,
 * not in the nodes' PM2 logs.
 */
function keepDisks(c: MsgCluster, dir: string, logDirs: string[]): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const g of c.groups.values()) {
    try { execFileSync('cp', ['--sparse=always', g.disk.image, path.join(dir, path.basename(g.disk.image))]); } catch { /* gone */ }
  }
  logDirs.push(dir);
}

function countLines(file: string): number {
  try { return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length; } catch { return 0; }
}

/** How long two nodes held the same thing, from the checker's intervals. */
function overlapMs(c: MsgCluster, kind: HoldKind, v: Violation): number {
  const hist = c.monitor?.history(kind, v.group) ?? [];
  const mine = hist.filter((i) => v.nodes.includes(i.node) && i.start <= v.t && (i.end ?? Infinity) >= v.t);
  if (mine.length < 2) return 0;
  const end = Math.min(...mine.map((i) => i.end ?? mono()));
  return Math.round(end - v.t);
}

/**
 * Per fault, the longest IMAP outage that began in its window (from its injection to the next
 * fault's): from the last successful LOGIN before the first failure to the first success after it.
 */
export function outages(imap: Array<[number, number]>, faults: FaultRecord[], t0: number): number[] {
  return faults.map((f, i) => {
    const from = t0 + f.at;
    const to = i + 1 < faults.length ? t0 + faults[i + 1]!.at : Infinity;
    let worst = 0;
    let lastOk = -Infinity;
    let downSince: number | undefined;
    for (const [at, ok] of imap) {
      if (ok) {
        if (downSince !== undefined) { worst = Math.max(worst, at - Math.max(lastOk, from)); downSince = undefined; }
        lastOk = at;
        if (at > to) break;
      } else if (downSince === undefined && at >= from && at < to) downSince = at;
    }
    if (downSince !== undefined) worst = Math.max(worst, (imap.at(-1)?.[0] ?? downSince) - Math.max(lastOk, from));
    return Math.round(worst);
  });
}
