/** Lease I/O latency summary: nearest-rank percentiles of write times (ms). */

export interface Latency { samples: number; p50Ms: number; p99Ms: number; maxMs: number }

export function latencyOf(samplesMs: readonly number[]): Latency | undefined {
  if (!samplesMs.length) return undefined;
  const s = Float64Array.from(samplesMs).sort();
  const rank = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { samples: s.length, p50Ms: rank(0.5), p99Ms: rank(0.99), maxMs: s[s.length - 1]! };
}
