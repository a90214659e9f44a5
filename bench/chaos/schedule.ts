/**
 * The chaos campaign's fault schedule: drawn from the catalogue with a seeded generator, so the
 * same seed and count always give the same schedule (which node a fault lands on is resolved at
 * run time from its role — holder, standby, all — and a drawn number, so it follows the run).
 */
import { failoverBounds, getProfile } from '../../plugin/lease/profiles';

/** Every fault the campaign can inject (faults.ts implements each). */
export const FAULT_KINDS = [
  'node-kill', 'node-pause', 'coord-kill', 'coord-stop', 'pm2-kill', 'fence-kill', 'agent-kill',
  'daemon-kill', 'daemon-stop', 'storage-hang', 'storage-ro', 'record-corrupt', 'link-cut', 'link-detach',
  'switch', 'evacuate', 'freeze', 'clear',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export type Role = 'holder' | 'standby' | 'all';

export interface PlannedFault {
  /** 1-based position in the schedule. */
  n: number;
  kind: FaultKind;
  group: 'mail' | 'dir';
  role: Role;
  /** In [0, 1): picks the node among the candidates of its role, and the daemon for daemon faults. */
  pick: number;
  /** How long the fault lasts before it is healed (0: an instant fault). */
  holdMs: number;
  /** The next fault starts this long after this one is healed, without waiting for recovery. */
  overlapMs?: number;
}

/** How often each kind is drawn (relative). */
const WEIGHTS: Readonly<Record<FaultKind, number>> = {
  'node-kill': 8, 'node-pause': 4, 'coord-kill': 6, 'coord-stop': 4, 'pm2-kill': 3, 'fence-kill': 2, 'agent-kill': 6,
  'daemon-kill': 10, 'daemon-stop': 4, 'storage-hang': 4, 'storage-ro': 4, 'record-corrupt': 3, 'link-cut': 5, 'link-detach': 3,
  switch: 8, evacuate: 3, freeze: 3, clear: 2,
};

/** mulberry32: a small, well-mixed 32-bit generator; enough for a reproducible schedule. */
export function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `kinds`: draw only these (a campaign about one kind of fault); default: the whole catalogue. */
export function makeSchedule(seed: number, faults: number, profile: 'fast' | 'local', kinds: readonly FaultKind[] = FAULT_KINDS): PlannedFault[] {
  const rnd = generator(seed);
  const t = getProfile(profile).timings;
  const L = t.leaseMs;
  const between = (lo: number, hi: number): number => Math.round(lo + rnd() * (hi - lo));
  const total = kinds.reduce((s, k) => s + WEIGHTS[k], 0);
  const kindOf = (x: number): FaultKind => {
    let acc = 0;
    for (const k of kinds) { acc += WEIGHTS[k] / total; if (x < acc) return k; }
    return kinds[kinds.length - 1]!;
  };
  const hold: Partial<Record<FaultKind, () => number>> = {
    'node-kill': () => between(500, 4000),
    'node-pause': () => between(L + 500, 2 * L),
    'coord-stop': () => between(500, 2 * L),
    'daemon-stop': () => between(1000, 4000),
    'storage-hang': () => between(1000, 3 * L),
    'storage-ro': () => between(1000, 3 * L),
    'link-cut': () => between(2000, 8000),
    'link-detach': () => between(2000, 8000),
    freeze: () => between(2000, 6000),
  };
  const out: PlannedFault[] = [];
  for (let n = 1; n <= faults; n++) {
    const kind = kindOf(rnd());
    const group = rnd() < 0.7 ? 'mail' : 'dir';
    const r = rnd();
    const role: Role = (kind === 'storage-hang' || kind === 'storage-ro') && r < 0.2 ? 'all'
      : ['node-kill', 'node-pause', 'coord-kill', 'coord-stop', 'pm2-kill', 'fence-kill', 'agent-kill', 'storage-hang', 'storage-ro', 'link-cut', 'link-detach'].includes(kind) && r < 0.35 ? 'standby'
        : 'holder';
    const pick = rnd();
    const holdMs = hold[kind]?.() ?? 0;
    // Sometimes the next fault comes before this one settled: during a takeover, a restart, a start.
    const overlap = rnd() < 0.15 ? between(200, Math.max(400, failoverBounds(t).holderCrashMs)) : undefined;
    out.push({ n, kind, group, role, pick, holdMs, ...(overlap !== undefined && n < faults ? { overlapMs: overlap } : {}) });
  }
  return out;
}
