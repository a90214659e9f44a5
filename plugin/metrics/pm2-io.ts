/**
 * Small adapters that show an agent's and the coordinator's state as @pm2/io metrics, so
 * `pm2 show <app>` and `pm2 monit` display them. The app passes its own `require('@pm2/io')`
 * (apps run with `pmx:false`: PM2 must not inject its own copy), so this module never loads @pm2/io itself.
 *
 * Guarantees: values are read from the given in-memory view each time @pm2/io polls (about once
 * a second); a view that throws shows nothing rather than stopping @pm2/io's timer; a value
 * that is unknown (no probe yet) is left undefined, which @pm2/io hides. An agent's reason is
 * the sentence its own log already carries (cut to REASON_MAX characters); never a secret.
 */
import type { Phases } from '../core/results';
import type { GroupSnapshot, NodeSnapshot } from './snapshot';
import { PROBE_PHASES } from './snapshot';

/** The part of @pm2/io used here (`io.metric({ name, unit, value })`); the real module fits it. */
export interface Pm2IoLike {
  metric(opts: { name?: string; unit?: string; value?: () => number }): unknown;
}

type Shown = number | string | undefined;

/** Registers one metric. */
function show(io: Pm2IoLike, name: string, value: () => Shown, unit?: string): void {
  // @pm2/io's type says `() => number`, but its poller sends strings too and hides undefined
  // (build/main/services/metrics.js filters on typeof), which is what we want to show.
  io.metric({ name, ...(unit ? { unit } : {}), value: value as () => number });
}

export interface AgentMetricsView {
  /** The agent's state (ONLINE, OFFLINE, FAULTED, UNKNOWN, STOPPING, …). */
  state: string;
  /** Why it is in that state (the last monitor's or function's sentence). */
  reason?: string;
  /** Restarts in place of the resource seen by this agent. */
  restarts: number;
  lastProbe?: { service: string; outcome: 'ok' | 'fail' | 'timeout'; phases: Phases };
  /** The component's processes (what the last first-level check found). */
  pids?: readonly number[];
  /** The component's processes together: CPU in % of one core since the last reading, PSS in MB. */
  usage?: { cpuPercent: number; memoryMb: number };
}

/** Longest reason shown by `pm2 show` (PM2 prints each metric on one table row). */
export const REASON_MAX = 160;

/**
 * Registers `state`, `reason`, `restarts in place`, `daemons` (pids), `daemons cpu`,
 * `daemons memory`, `last probe` and one `probe <phase>` metric (ms) per phase.
 */
export function publishAgentMetrics(io: Pm2IoLike, view: () => AgentMetricsView): void {
  // One view per round of readings, not one per metric (the view reads /proc for the usage).
  const read = oncePerRound(safe(view));
  show(io, 'state', () => read()?.state);
  show(io, 'reason', () => {
    const r = read()?.reason;
    return r === undefined ? undefined : r.length > REASON_MAX ? `${r.slice(0, REASON_MAX - 1)}…` : r;
  });
  show(io, 'restarts in place', () => read()?.restarts);
  show(io, 'daemons', () => {
    const p = read()?.pids;
    return p && p.length > 0 ? p.join(' ') : undefined;
  });
  show(io, 'daemons cpu', () => read()?.usage?.cpuPercent, '%');
  show(io, 'daemons memory', () => read()?.usage?.memoryMb, 'MB');
  show(io, 'last probe', () => {
    const p = read()?.lastProbe;
    return p ? `${p.service} ${p.outcome}` : undefined;
  });
  for (const phase of PROBE_PHASES) {
    show(io, `probe ${phase}`, () => {
      const s = read()?.lastProbe?.phases[phase];
      return typeof s === 'number' ? Math.round(s * 10_000) / 10 : undefined;
    }, 'ms');
  }
}

/**
 * Registers `<group> state` (e.g. "ONLINE" or "PARTIAL, frozen"), `<group> lease`
 * (e.g. "held, epoch 7, 23 s left" / "mx2, epoch 7" / "none") and `<group> reachable` (the
 * remote probes through the VIP per probing node, e.g. "mx2 yes, mx3 no", "—" when none yet) for
 * each group, plus `groups online` and `links` (this node's link resources, e.g. "eth0 up",
 * "eth0 DOWN"). `groups` are the group names known when the coordinator starts. `reachable` and
 * `links` are hidden outside multi-node mode (the snapshot carries no such field).
 */
export function publishCoordinatorMetrics(io: Pm2IoLike, snapshot: () => NodeSnapshot, groups: readonly string[]): void {
  const read = safe(snapshot);
  const group = (name: string) => read()?.groups.find((g) => g.group === name);
  show(io, 'groups online', () => read()?.groups.filter((g) => g.state === 'ONLINE').length);
  show(io, 'links', () => linksText(read()?.groups ?? []));
  for (const name of groups) {
    show(io, `${name} state`, () => {
      const g = group(name);
      return g ? `${g.state}${g.frozen ? ', frozen' : ''}` : undefined;
    });
    show(io, `${name} lease`, () => {
      const l = group(name)?.lease;
      if (!l) return undefined;
      if (l.holderIsMe) return `held, epoch ${l.epoch}, ${Math.floor(l.remainingServeSeconds)} s left`;
      return l.holder ? `${l.holder}, epoch ${l.epoch}` : `none, epoch ${l.epoch}`;
    });
    show(io, `${name} reachable`, () => {
      const g = group(name);
      return g ? reachableText(g) : undefined;
    });
  }
}

/** "mx2 yes, mx3 no" per probing node (yes: every service answered, no: none, partly: some). */
function reachableText(g: GroupSnapshot): string | undefined {
  if (!g.remoteProbes) return undefined;
  const byNode = new Map<string, { ok: number; failed: number }>();
  for (const r of g.remoteProbes) {
    const c = byNode.get(r.from) ?? { ok: 0, failed: 0 };
    if (r.ok) c.ok += 1; else c.failed += 1;
    byNode.set(r.from, c);
  }
  const parts = [...byNode].sort(([a], [b]) => a.localeCompare(b))
    .map(([from, c]) => `${from} ${c.failed === 0 ? 'yes' : c.ok === 0 ? 'no' : 'partly'}`);
  const text = parts.length ? parts.join(', ') : '\u2014';
  return g.unreachableFromNetwork ? `${text}; UNREACHABLE from the network` : text;
}

/** One entry per device: DOWN when any group's link resource on it is down, ? before the first check. */
function linksText(groups: readonly GroupSnapshot[]): string | undefined {
  const devices = new Map<string, boolean | undefined>();
  let any = false;
  for (const g of groups) {
    for (const l of g.links ?? []) {
      any = true;
      const before = devices.has(l.device) ? devices.get(l.device) : true;
      // false (down) wins over undefined (not checked), which wins over true.
      devices.set(l.device, before === false || l.up === false ? false : before === undefined || l.up === undefined ? undefined : true);
    }
  }
  if (!any) return undefined;
  return [...devices].sort(([a], [b]) => a.localeCompare(b))
    .map(([device, up]) => `${device} ${up === undefined ? '?' : up ? 'up' : 'DOWN'}`).join(', ');
}

/** The value of `fn`, computed at most once per turn of the event loop (one round of metric reads). */
function oncePerRound<T>(fn: () => T): () => T {
  let cached: { value: T } | undefined;
  return () => {
    if (!cached) {
      cached = { value: fn() };
      queueMicrotask(() => { cached = undefined; });
    }
    return cached.value;
  };
}

function safe<T>(fn: () => T): () => T | undefined {
  return () => {
    try {
      return fn();
    } catch {
      return undefined;
    }
  };
}
