/**
 * `npm run bench -- thaw`: how long a paused holder's daemons live after the thaw (issue 8 item 7).
 * A real fence process (dist/plugin/fence/fence-main.js, started detached as the coordinator
 * starts it) is armed for a group and spawns its daemons (in the group's cgroup v2 when writable,
 * else as process groups): two busy loops (a daemon with work pending at the thaw) and two
 * sleepers. Then everything is SIGSTOPped — the fence first, so it cannot fire early — until the
 * kill deadline has passed, and SIGCONT is sent to the daemons first and the fence last, in one
 * loop. Measured from the first SIGCONT: until the fence has sent every SIGKILL (its log's
 * killedAt; both clocks are CLOCK_MONOTONIC) — after that no daemon runs user code again; the CPU
 * time the daemons got meanwhile (/proc/PID/schedstat, the most any one daemon got; includes
 * its exit); and until every daemon is dead (/proc/PID/stat gone or a zombie, polled in a tight
 * loop), the measure. Rows: the fence as configured by default (SCHED_FIFO when
 * permitted) and, for comparison, with real-time priority off (`--rt-priority 0`).
 * Needs root for SCHED_FIFO and cgroups. Numbers are noisy on a shared machine: the load average
 * at the start is recorded with them.
 * Env: BENCH_THAW_RUNS (20), BENCH_THAW_ONLY (rt|nort).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FenceClient, type FenceClientOptions } from '../plugin/fence/client';
import { logPath, type GroupStatus } from '../plugin/fence/protocol';
import { mdTable, summarize, writeResults } from './stats';

const RUNS = Number(process.env.BENCH_THAW_RUNS ?? 20);
const ARM_MS = 300;
const PAST_DEADLINE_MS = 150;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** ns on CPU so far (/proc/PID/schedstat), or undefined once the process is gone. */
function cpuNs(pid: number): number | undefined {
  try { return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]); } catch { return undefined; }
}

function dead(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const st = stat[stat.lastIndexOf(')') + 2];
    return st === 'Z' || st === 'X';
  } catch { return true; }
}

const pct = (values: number[], q: number): number => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
};

function members(cgroupDir: string): number[] {
  try { return fs.readFileSync(path.join(cgroupDir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number); } catch { return []; }
}

function children(pid: number): number[] {
  try { return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number); } catch { return []; }
}

/** The status of one group; a stopped fence cannot answer, so it is asked before the freeze. */
async function statusOf(fence: FenceClient, group: string): Promise<GroupStatus | undefined> {
  return (await fence.status()).groups.find((g) => g.group === group);
}

interface Variant { name: string; opts: Partial<FenceClientOptions> }

interface RowResult { variant: string; mode?: string; sched?: string; aliveMs: number[]; wakeMs: number[]; killSentMs: number[]; cpuMs: number[]; firedLateMs: number[]; failures: string[] }

async function runVariant(v: Variant): Promise<RowResult> {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mh-bench-thaw-'));
  const fence = new FenceClient({ runDir, node: `thaw${process.pid}`, ...v.opts });
  const res: RowResult = { variant: v.name, aliveMs: [], wakeMs: [], killSentMs: [], cpuMs: [], firedLateMs: [], failures: [] };
  const started = await fence.ensureRunning();
  if (!started.ok || !started.pid) { res.failures.push(`fence did not start: ${started.reason}`); return res; }
  const fpid = started.pid;
  const st = await fence.status();
  res.mode = st.mode;
  res.sched = st.sched ?? 'SCHED_OTHER nice -10 (fence before sched.ts)';
  const group = 'thaw';
  try {
    for (let i = 1; i <= RUNS; i++) {
      const arm = await fence.arm(group, i, `n${i}`, ARM_MS);
      const armedAt = now();
      if (!arm.ok) { res.failures.push(`run ${i}: arm: ${arm.reason}`); continue; }
      const spawned: number[] = [];
      // Two daemons with work pending at the thaw (their timer expires while frozen, then they
      // spin) and two sleepers.
      for (const argv of [['/bin/sh', '-c', 'sleep 0.2; while :; do :; done'], ['/bin/sh', '-c', 'sleep 0.2; while :; do :; done'], ['/bin/sleep', '1000'], ['/bin/sleep', '1000']]) {
        const sp = await fence.spawn(group, argv);
        if (sp.ok && sp.pid) spawned.push(sp.pid); else res.failures.push(`run ${i}: spawn: ${sp.reason}`);
      }
      await sleep(50);
      // The freeze, as SIGSTOP of every process: the fence first, so that it cannot fire while we
      // stop the daemons; then every member of the group (cgroup), else the spawned processes'
      // process groups.
      const cg = (await statusOf(fence, group))?.cgroup;
      process.kill(fpid, 'SIGSTOP');
      const pids = cg ? members(cg) : [...spawned, ...spawned.flatMap(children)];
      for (const p of pids) { try { process.kill(p, 'SIGSTOP'); } catch { /* gone */ } }
      if (now() > armedAt + ARM_MS) res.failures.push(`run ${i}: frozen only ${Math.round(now() - armedAt)} ms after arming (machine too loaded): not a thaw after the deadline`);
      await sleep(Math.max(0, armedAt + ARM_MS + PAST_DEADLINE_MS - now()));
      const cpu0 = new Map(pids.map((p) => [p, cpuNs(p)] as const));
      const cpu1 = new Map(cpu0);
      // The thaw: daemons first, the fence last, one quick loop.
      const t0 = now();
      for (const p of pids) { try { process.kill(p, 'SIGCONT'); } catch { /* gone */ } }
      process.kill(fpid, 'SIGCONT');
      let left = [...pids];
      let tDead = NaN;
      // Poll every 0.1 ms (Atomics.wait sleeps synchronously): a busy poller would itself be the
      // CPU hog that the killed daemons wait behind to finish their exit.
      const nap = new Int32Array(new SharedArrayBuffer(4));
      while (now() - t0 < 3000) {
        Atomics.wait(nap, 0, 0, 0.1);
        for (const p of left) { const c = cpuNs(p); if (c !== undefined) cpu1.set(p, c); }
        left = left.filter((p) => !dead(p));
        if (!left.length) { tDead = now() - t0; break; }
      }
      if (left.length) {
        res.failures.push(`run ${i}: ${left.length} daemon(s) alive 3 s after the thaw`);
        for (const p of left) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
      } else {
        res.aliveMs.push(tDead);
      }
      await sleep(100);
      const fired = fs.readFileSync(logPath(runDir), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((e) => e.event === 'fired' && e.epoch === i);
      if (typeof fired[0]?.lateMs === 'number') res.firedLateMs.push(fired[0].lateMs as number);
      if (typeof fired[0]?.firedAt === 'number') res.wakeMs.push((fired[0].firedAt as number) - t0);
      if (typeof fired[0]?.killedAt === 'number') res.killSentMs.push((fired[0].killedAt as number) - t0);
      res.cpuMs.push(Math.max(0, ...pids.map((p) => ((cpu1.get(p) ?? 0) - (cpu0.get(p) ?? 0)) / 1e6)));
      await sleep(100);
    }
  } finally {
    await fence.shutdown(true);
    await sleep(200);
    try { process.kill(fpid, 'SIGKILL'); } catch { /* exited */ }
    fs.rmSync(runDir, { recursive: true, force: true });
  }
  return res;
}

export async function run(): Promise<void> {
  const load = os.loadavg();
  const only = process.env.BENCH_THAW_ONLY;
  const variants: Variant[] = [
    { name: 'fence default (SCHED_FIFO 10 when permitted)', opts: {} },
    { name: 'fence without real-time priority', opts: { rtPriority: 0 } },
  ].filter((v) => !only || (only === 'rt' ? v.opts.rtPriority === undefined : v.opts.rtPriority === 0));
  const rows: RowResult[] = [];
  for (const v of variants) {
    const r = await runVariant(v);
    rows.push(r);
    const s = summarize(r.aliveMs);
    const k = summarize(r.killSentMs);
    const c = summarize(r.cpuMs);
    process.stdout.write(`${v.name} [${r.mode}, ${r.sched}]: dead after SIGCONT median ${s.median.toFixed(2)} ms, p90 ${s.p90.toFixed(2)}, p99 ${pct(r.aliveMs, 0.99).toFixed(2)} (n=${s.n}); `
      + `fence at work median ${summarize(r.wakeMs).median.toFixed(2)}; SIGKILLs sent median ${k.median.toFixed(2)}, p99 ${pct(r.killSentMs, 0.99).toFixed(2)}; daemon CPU median ${c.median.toFixed(2)}, p99 ${pct(r.cpuMs, 0.99).toFixed(2)}; failures ${r.failures.length}\n`);
  }
  const when = new Date().toISOString();
  const data = { when, runs: RUNS, loadavg: load, cpus: os.cpus().length, kernel: os.release(), rows: rows.map((r) => ({ ...r, summary: summarize(r.aliveMs), p99: pct(r.aliveMs, 0.99), killSent: summarize(r.killSentMs), cpu: summarize(r.cpuMs), firedLate: summarize(r.firedLateMs) })) };
  const md = [
    `# thaw: daemons alive after SIGCONT of a paused holder (${when})`,
    '',
    `${RUNS} pause runs per row; load average at start ${load.map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs (shared machine: noisy). Goal: p99 ≤ 10 ms.`,
    '',
    mdTable(['fence', 'scheduling', 'kill mode', 'dead: median / p90 / p99 ms', 'fence fires: median / p99 ms', 'SIGKILLs sent: median / p99 ms', 'daemon CPU after thaw: median / p99 ms', 'failures'],
      rows.map((r) => {
        const f = (v: number[]): string => `${summarize(v).median.toFixed(2)} / ${pct(v, 0.99).toFixed(2)}`;
        const s = summarize(r.aliveMs);
        return [r.variant, r.sched ?? '?', r.mode ?? '?', `${s.median.toFixed(2)} / ${s.p90.toFixed(2)} / ${pct(r.aliveMs, 0.99).toFixed(2)}`, r.wakeMs.length ? f(r.wakeMs) : 'n/a', r.killSentMs.length ? f(r.killSentMs) : 'n/a', f(r.cpuMs), r.failures.length];
      })),
    '',
    'dead: from the first SIGCONT until every daemon is gone or a zombie. fence fires: until the fence, woken, starts its kill. SIGKILLs sent: until it has signalled them all (no user code runs after that).',
    'daemon CPU: the most CPU time one daemon got between the first SIGCONT and its death (schedstat), exit path included.',
  ].join('\n');
  writeResults('thaw', data, md);
}
