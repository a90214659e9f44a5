/**
 * `npm run bench -- lease`: 32 simulated nodes contend for 64 groups on one shared directory.
 * Each node is one real I/O helper process (HelperStore) serving 64 in-process electors; all
 * electors of all nodes share this process's event loop (2 cores: one process per node would
 * measure the scheduler, not the lease). A node "dies" when its store stops answering (every
 * call hangs), so its renewals stop exactly as on a crashed node.
 * Reports: takeover time after a holder dies (kill → acquire by another node), lease I/O
 * operations per second per node, renewal failures and unexpected takeovers (must be 0).
 * Env: BENCH_LEASE_NODES (32), BENCH_LEASE_GROUPS (64), BENCH_LEASE_KILLS (4), BENCH_LEASE_PROFILE (local).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Elector } from '../plugin/lease/elector';
import { HelperStore } from '../plugin/lease/helper-store';
import { monotonicClock, monotonicMs } from '../plugin/lease/clock';
import { failoverBounds, getProfile } from '../plugin/lease/profiles';
import type { IoResult, LeaseStore } from '../plugin/lease/store';
import { mdTable, summarize, writeResults } from './stats';

const NODES = Number(process.env.BENCH_LEASE_NODES ?? 32);
const GROUPS = Number(process.env.BENCH_LEASE_GROUPS ?? 64);
const KILLS = Number(process.env.BENCH_LEASE_KILLS ?? 4);
// Why 'local' by default: 2048 electors in one process at the fast profile's 5 reads/s each
// saturate 2 cores (measured: renewals overrun T_io and holders self-fence — safe, unavailable).
const profile = getProfile(process.env.BENCH_LEASE_PROFILE ?? 'local');
const T = profile.timings;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A store that can be made to stop answering, as a dead node's storage path does. */
function killable(inner: LeaseStore): { store: LeaseStore; kill(): void } {
  let dead = false;
  const never = new Promise<never>(() => { /* a dead node never completes I/O */ });
  const store = new Proxy(inner, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => (dead ? never : (v as (...a: unknown[]) => Promise<IoResult<unknown>>).apply(target, args));
    },
  });
  return { store, kill: () => { dead = true; } };
}

interface SimNode { name: string; helper: HelperStore; kill(): void; dead: boolean; electors: Elector[] }

export async function run(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mh-bench-lease-'));
  const holders = new Map<string, string>(); // group → node
  const acquires: Array<{ group: string; node: string; t: number }> = [];
  const killedAt = new Map<string, number>(); // group → kill time
  const takeovers: number[] = [];
  let unexpected = 0;
  const nodes: SimNode[] = [];
  for (let i = 0; i < NODES; i++) {
    const name = `n${i + 1}`;
    const helper = new HelperStore({ root, node: name, ioTimeoutMs: T.ioTimeoutMs, wedgeKillMs: T.leaseMs, directIo: false });
    const k = killable(helper);
    const node: SimNode = { name, helper, kill: k.kill, dead: false, electors: [] };
    for (let g = 0; g < GROUPS; g++) {
      const group = `g${g + 1}`;
      node.electors.push(new Elector({
        group, node: name, store: k.store, clock: monotonicClock, profile,
        onAcquired: () => {
          if (node.dead) return;
          const t = monotonicMs();
          const prev = holders.get(group);
          holders.set(group, name);
          acquires.push({ group, node: name, t });
          const k0 = killedAt.get(group);
          if (k0 !== undefined) { takeovers.push(t - k0); killedAt.delete(group); } else if (prev !== undefined) unexpected++;
        },
      }));
    }
    nodes.push(node);
  }
  await Promise.all(nodes.map((n) => n.helper.start()));
  const t0 = monotonicMs();
  for (const n of nodes) for (const e of n.electors) e.start();
  while (holders.size < GROUPS && monotonicMs() - t0 < 60_000) await sleep(100);
  const startupMs = monotonicMs() - t0;
  process.stdout.write(`lease: ${NODES} nodes × ${GROUPS} groups, profile ${profile.name}: all groups held after ${Math.round(startupMs)} ms\n`);

  await sleep(3000);
  const calls0 = nodes.map((n) => n.helper.stats.calls);
  const w0 = monotonicMs();
  await sleep(10_000);
  const windowS = (monotonicMs() - w0) / 1000;
  const opsPerNode = nodes.map((n, i) => (n.helper.stats.calls - calls0[i]!) / windowS);

  for (let k = 0; k < KILLS; k++) {
    const victim = nodes.find((n) => !n.dead && [...holders.values()].includes(n.name));
    if (!victim) break;
    const t = monotonicMs();
    for (const [g, h] of holders) if (h === victim.name) killedAt.set(g, t);
    victim.dead = true;
    victim.kill();
    const deadline = t + 3 * failoverBounds(T).holderCrashMs;
    while (killedAt.size && monotonicMs() < deadline) await sleep(50);
    process.stdout.write(`lease: kill ${k + 1}: ${victim.name} → ${takeovers.length} takeovers so far\n`);
  }
  const lost = killedAt.size;
  const renewFailures = nodes.filter((n) => !n.dead).flatMap((n) => n.electors.map((e) => e.status().renewFailures)).reduce((a, b) => a + b, 0);
  const perEpoch = new Map<string, number>();
  for (const a of acquires) perEpoch.set(`${a.group}`, (perEpoch.get(a.group) ?? 0) + 1);

  await Promise.all(nodes.filter((n) => !n.dead).flatMap((n) => n.electors.map((e) => e.stop())));
  for (const n of nodes) n.helper.close();
  fs.rmSync(root, { recursive: true, force: true });

  const tk = summarize(takeovers);
  const ops = summarize(opsPerNode);
  const bound = failoverBounds(T).holderCrashMs;
  const data = {
    nodes: NODES, groups: GROUPS, profile: profile.name, timings: T, startupMs,
    takeoverMs: tk, takeoverBoundMs: bound, takeoversMissing: lost, unexpectedTakeovers: unexpected,
    leaseIoOpsPerSecondPerNode: ops, renewFailuresOfLiveNodes: renewFailures, cpus: os.cpus().length,
  };
  const md = [
    `# Lease scale: ${NODES} nodes × ${GROUPS} groups on one shared directory (profile ${profile.name})`, '',
    `Each node = one I/O helper process + ${GROUPS} electors; a killed node's storage stops answering. Machine: ${os.cpus().length} cores, local ext4.`, '',
    mdTable(['metric', 'n', 'median', 'p90', 'min', 'max'], [
      ['takeover after holder death (ms)', tk.n, tk.median.toFixed(0), tk.p90.toFixed(0), tk.min.toFixed(0), tk.max.toFixed(0)],
      ['lease I/O ops/s per node', ops.n, ops.median.toFixed(1), ops.p90.toFixed(1), ops.min.toFixed(1), ops.max.toFixed(1)],
    ]), '',
    `Worst-case bound 2P+L+T_io = ${bound} ms. Groups never taken over: ${lost}. Unexpected takeovers (a live holder lost its group): ${unexpected}. Renewal failures on live nodes: ${renewFailures}. All groups held ${Math.round(startupMs)} ms after start.`,
  ].join('\n');
  writeResults('lease', data, md);
  process.stdout.write(md + '\n');
}
