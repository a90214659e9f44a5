/**
 * msgha-fence: the per-node fence process (docs/lease.md: layer 2 of the fencing).
 * Usage: node fence-main.js --dir RUNDIR --id NODE [--watchdog /dev/watchdog [--watchdog-timeout-ms W]]
 *        [--rt-priority N] [--uptime-file F]
 *
 * Started detached (setsid -f, so it is outside PM2's process tree and survives the death of
 * PM2, the coordinator and the agents). Per group it holds the kill deadline (CLOCK_MONOTONIC)
 * and the processes to kill (a cgroup v2 directory when writable, else process groups and pids).
 *
 * Guarantees: when a deadline passes without renewal it SIGKILLs the group's processes
 * (measured: within tens of ms after the deadline); the kill path does no shared-directory I/O
 * (only signals, /sys/fs/cgroup and /proc); on every wake-up the deadlines are checked before
 * anything else, and the kill signals the known processes before taking the cgroup lock
 * (cgroup.kill); it runs SCHED_FIFO (--rt-priority, default 10, when permitted; else nice −10),
 * with reset-on-fork so its children never inherit that; it refuses to arm a group for an epoch
 * ≤ one it already fired for; a suspend (boottime ahead of monotonic) fires every armed group at
 * once; with --watchdog it pets the device only while every kill deadline is at least W away,
 * stops for good once a group fired at its deadline, and stops while a fired group still has
 * live processes (the node resets: watchdog.ts); it refuses to arm while a configured watchdog
 * is not open. Not guaranteed: killing a process stuck in D state, or running while the whole
 * node is frozen (then it fires late, at thaw — docs/lease.md), locked memory (sched.ts).
 * No npm dependencies: node: modules and its sibling files only.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { Cgroups } from './cgroup';
import { CLOCK_AGREEMENT_MS, MAX_LINE_BYTES, logPath, pidPath, socketPath, type FenceReply, type FenceRequest, type GroupStatus } from './protocol';
import { describeSched, raisePriority } from './sched';
import { SuspendDetector } from './suspend';
import { Watchdog } from './watchdog';

const TICK_MS = 10;

interface GroupState {
  armed: boolean;
  epoch: number;
  nonce: string;
  deadline: number;
  firedEpoch: number;
  pgids: Set<number>;
  pids: Set<number>;
  /** The group's shared-disk mount points: detached (lazy umount) once its processes are killed. */
  mounts: string[];
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const runDir = arg('--dir');
const nodeId = arg('--id') ?? os.hostname();
if (!runDir) { process.stderr.write('usage: fence-main --dir RUNDIR --id NODE [--watchdog DEV [--watchdog-timeout-ms W]] [--rt-priority N]\n'); process.exit(2); }
const watchdogDev = arg('--watchdog');
const watchdogTimeoutMs = arg('--watchdog-timeout-ms') === undefined ? undefined : Number(arg('--watchdog-timeout-ms'));
const rtPriority = Number(arg('--rt-priority') ?? 10);
const suspend = new SuspendDetector(arg('--uptime-file') ?? '/proc/uptime');
const cg = Cgroups.detect(nodeId);
const groups = new Map<string, GroupState>();
const mono = (): number => Number(process.hrtime.bigint()) / 1e6;
let watchdog: Watchdog | undefined;

function log(event: Record<string, unknown>): void {
  // Local file on the node's runtime dir only, written after the kill, never the shared directory.
  try { fs.appendFileSync(logPath(runDir!), JSON.stringify({ t: mono(), ...event }) + '\n'); } catch { /* best effort */ }
}

function state(group: string): GroupState {
  let g = groups.get(group);
  if (!g) {
    g = { armed: false, epoch: 0, nonce: '', deadline: 0, firedEpoch: 0, pgids: new Set(), pids: new Set(), mounts: [] };
    groups.set(group, g);
  }
  return g;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/**
 * The kill path: signals and cgroup files only. Known processes first, one kill(2) each: no
 * lock; then cgroup.kill, which takes the kernel's cgroup mutex (another cgroup operation on the
 * node may hold it for a while) and catches what forked meanwhile.
 */
function fire(group: string, g: GroupState, reason: string): void {
  const start = mono();
  const late = start - g.deadline;
  const members = cg ? cg.members(group) : [];
  for (const pid of members) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  for (const pgid of g.pgids) { try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ } }
  for (const pid of g.pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  if (cg) cg.kill(group);
  const killedAt = mono();
  const killMs = killedAt - start;
  const killed = members.length + g.pgids.size + g.pids.size;
  g.firedEpoch = Math.max(g.firedEpoch, g.epoch);
  g.armed = false;
  // The group may not have stopped its I/O (it did not disarm in time): the node must reset.
  if (reason === 'deadline' || reason.startsWith('suspend')) watchdog?.stopForGood(`${group} epoch ${g.epoch} fired (${reason.split(' ')[0]})`);
  // A killed holder must not keep the shared disk mounted: the next holder mounts it, and two
  // mounts of a non-cluster file system corrupt it. Lazy, so a stuck device never blocks us.
  for (const mp of g.mounts) {
    try { spawn('umount', ['-l', mp], { stdio: 'ignore', detached: true }).on('error', () => undefined).unref(); } catch { /* logged below */ }
  }
  log({ event: 'fired', group, epoch: g.epoch, reason, lateMs: reason === 'deadline' ? late : undefined, firedAt: start, killedAt, killMs, killed, unmounted: g.mounts });
}

function survivors(group: string, g: GroupState): number {
  let n = cg ? cg.members(group).length : 0;
  for (const p of g.pids) if (alive(p)) n++;
  return n;
}

function tick(): void {
  // After a thaw the group's daemons run again as of now: the deadline check comes first.
  const now = mono();
  for (const [name, g] of groups) if (g.armed && now >= g.deadline) fire(name, g, 'deadline');
  const jump = suspend.check();
  if (jump > 0) {
    for (const [name, g] of groups) if (g.armed) fire(name, g, `suspend (boottime ran ${Math.round(jump)} ms ahead of monotonic)`);
  }
  if (watchdog) {
    // Only the watchdog needs this (it stops petting while a fired group has survivors).
    const survivorsLeft = [...groups].some(([name, g]) => !g.armed && g.firedEpoch === g.epoch && g.epoch > 0 && survivors(name, g) > 0);
    let nearest = Infinity;
    for (const g of groups.values()) if (g.armed) nearest = Math.min(nearest, g.deadline);
    watchdog.tick(mono(), nearest, survivorsLeft);
  }
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(d));
      children.set(ppid, list);
    } catch { /* exited */ }
  }
  const out: number[] = [];
  const walk = (p: number): void => { for (const c of children.get(p) ?? []) { out.push(c); walk(c); } };
  walk(root);
  return out;
}

function pgidOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

function adopt(group: string, pid: number): FenceReply {
  if (!alive(pid)) return { ok: false, reason: `pid ${pid} is not running` };
  const g = state(group);
  const all = [pid, ...descendants(pid)];
  if (cg) {
    for (const p of all) { try { cg.add(group, p); } catch { /* exited meanwhile */ } }
  } else {
    for (const p of all) {
      g.pids.add(p);
      const pg = pgidOf(p);
      // Never record our own or init's process group.
      if (pg && pg > 1 && pg !== process.pid && pg === p) g.pgids.add(pg);
    }
  }
  return { ok: true, pid };
}

function doSpawn(group: string, argv: string[], env: Record<string, string> | undefined, cwd: string | undefined, logFile: string | undefined): FenceReply {
  if (!argv.length) return { ok: false, reason: 'spawn: empty argv' };
  const g = state(group);
  const out = logFile ? fs.openSync(logFile, 'a') : 'ignore';
  // The child inherits our cgroup at fork: enter the group's cgroup for the instant of the
  // spawn, so not even the child's first fork can escape.
  if (cg) cg.add(group, process.pid);
  try {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', out, out], env: env ?? process.env, cwd: cwd ?? '/' });
    child.unref();
    child.on('error', () => { /* reported by the pid check below */ });
    if (!child.pid) return { ok: false, reason: `spawn of ${argv[0]} failed` };
    g.pids.add(child.pid);
    g.pgids.add(child.pid); // detached: it leads its own process group
    return { ok: true, pid: child.pid };
  } finally {
    if (cg) cg.addToOrigin(process.pid);
    if (typeof out === 'number') fs.closeSync(out);
  }
}

function checkClock(sentMono: number): string | undefined {
  const d = Math.abs(mono() - sentMono);
  return d > CLOCK_AGREEMENT_MS ? `client monotonic clock differs from the fence's by ${Math.round(d)} ms (another time namespace?): refusing` : undefined;
}

function statusOf(name: string, g: GroupState): GroupStatus {
  return {
    group: name, armed: g.armed, epoch: g.epoch, nonce: g.nonce, firedEpoch: g.firedEpoch,
    remainingMs: g.armed ? g.deadline - mono() : undefined,
    cgroup: cg?.dir(name), pgids: [...g.pgids], pids: [...g.pids].filter(alive),
  };
}

function handle(req: FenceRequest): FenceReply {
  switch (req.op) {
    case 'arm': {
      const bad = checkClock(req.sentMono);
      if (bad) return { ok: false, reason: bad };
      const g = state(req.group);
      if (req.epoch <= g.firedEpoch) return { ok: false, reason: `already fired for epoch ${g.firedEpoch} of ${req.group}: refusing to arm epoch ${req.epoch}` };
      if (g.armed && req.epoch < g.epoch) return { ok: false, reason: `armed for newer epoch ${g.epoch}` };
      if (req.deadlineMono <= mono()) return { ok: false, reason: 'deadline already passed' };
      if (watchdog && !watchdog.open) return { ok: false, reason: `watchdog ${watchdog.device} is configured but not open (${watchdog.status().error}): refusing to arm` };
      // Processes of an epoch that fired are dead (or survivors in D state): forget the dead
      // ones, so that a later fire never signals a reused pid.
      for (const p of g.pids) if (!alive(p)) g.pids.delete(p);
      for (const pg of g.pgids) if (!alive(-pg)) g.pgids.delete(pg);
      Object.assign(g, { armed: true, epoch: req.epoch, nonce: req.nonce, deadline: req.deadlineMono, mounts: req.mounts ?? [] });
      if (cg) cg.ensure(req.group);
      log({ event: 'armed', group: req.group, epoch: req.epoch });
      return { ok: true };
    }
    case 'renew': {
      const bad = checkClock(req.sentMono);
      if (bad) return { ok: false, reason: bad };
      const g = groups.get(req.group);
      if (!g || !g.armed || g.epoch !== req.epoch) return { ok: false, reason: `not armed for epoch ${req.epoch} of ${req.group}${g && g.firedEpoch >= req.epoch ? ' (fired)' : ''}` };
      if (mono() >= g.deadline) { fire(req.group, g, 'deadline'); return { ok: false, reason: 'deadline had passed: fired' }; }
      g.deadline = req.deadlineMono;
      return { ok: true };
    }
    case 'disarm': {
      const g = groups.get(req.group);
      if (!g || g.epoch !== req.epoch) return { ok: false, reason: `not armed for epoch ${req.epoch} of ${req.group}` };
      g.armed = false;
      g.pgids.clear();
      g.pids.clear();
      log({ event: 'disarmed', group: req.group, epoch: req.epoch });
      return { ok: true };
    }
    case 'adopt': return adopt(req.group, req.pid);
    case 'spawn': return doSpawn(req.group, req.argv, req.env, req.cwd, req.logFile);
    case 'fire': {
      const g = state(req.group);
      fire(req.group, g, req.reason || 'requested');
      return { ok: true };
    }
    case 'status':
      return { ok: true, fencePid: process.pid, mode: cg ? 'cgroup' : 'pgid', sched: describeSched(), watchdog: watchdog?.status(), groups: [...groups].map(([n, g]) => statusOf(n, g)) };
    case 'watchdog': {
      if (watchdog?.open) return watchdog.device === req.device ? { ok: true, watchdog: watchdog.status() } : { ok: false, reason: `already petting ${watchdog.device}`, watchdog: watchdog.status() };
      watchdog = new Watchdog(req.device, req.timeoutMs, log);
      return watchdog.open ? { ok: true, watchdog: watchdog.status() } : { ok: false, reason: watchdog.status().error, watchdog: watchdog.status() };
    }
    case 'shutdown': {
      const armed = [...groups.values()].filter((g) => g.armed).length;
      if (armed && !req.force) return { ok: false, reason: `${armed} group(s) armed: refusing to exit` };
      setImmediate(shutdown);
      return { ok: true };
    }
    default: return { ok: false, reason: 'unknown op' };
  }
}

function shutdown(): void {
  watchdog?.close();
  try { fs.unlinkSync(socketPath(runDir!)); } catch { /* gone */ }
  try { fs.unlinkSync(pidPath(runDir!)); } catch { /* gone */ }
  if (cg) { for (const name of groups.keys()) cg.remove(name); cg.removeBase(); }
  log({ event: 'exit' });
  process.exit(0);
}

function main(): void {
  fs.mkdirSync(runDir!, { recursive: true, mode: 0o700 });
  // Why a high priority: the kill must not wait behind the services it kills (sbd runs SCHED_RR).
  const sched = raisePriority(rtPriority);
  const sock = socketPath(runDir!);
  try { fs.unlinkSync(sock); } catch { /* none */ }
  const server = net.createServer((c) => {
    // Any number of requests per connection, answered in order: the coordinator keeps one
    // connection open (client.ts), so a renewal never needs a new descriptor on its side.
    let buf = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let reply: FenceReply;
        try { reply = handle(JSON.parse(line) as FenceRequest); } catch (e) { reply = { ok: false, reason: `bad request: ${(e as Error).message}` }; }
        c.write(JSON.stringify({ ...reply, keep: true }) + '\n');
      }
      if (buf.length > MAX_LINE_BYTES) c.destroy();
    });
    c.on('error', () => { /* client went away */ });
  });
  server.listen(sock, () => {
    fs.chmodSync(sock, 0o600);
    fs.writeFileSync(pidPath(runDir!), String(process.pid));
    log({ event: 'started', pid: process.pid, mode: cg ? 'cgroup' : 'pgid', cgroup: cg?.base, suspendDetection: suspend.enabled(), sched });
  });
  // Opened before the socket answers, so that no arm is accepted before the first pet.
  if (watchdogDev) watchdog = new Watchdog(watchdogDev, watchdogTimeoutMs, log);
  setInterval(tick, TICK_MS);
  process.on('SIGTERM', () => { if (![...groups.values()].some((g) => g.armed)) shutdown(); });
  process.on('SIGINT', () => { /* ignore: only shutdown or SIGKILL end the fence */ });
  process.on('SIGHUP', () => { /* detached: ignore */ });
}

main();
