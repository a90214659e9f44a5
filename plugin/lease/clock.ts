/**
 * The clock the elector reads and sleeps on. Production uses CLOCK_MONOTONIC (process.hrtime),
 * which is the same clock in every process of one machine (and one time namespace), so values
 * can be handed to the fence process. Never wall time: no lease decision may move when the
 * wall clock jumps. Tests inject FakeClock (fake-clock.ts) and never sleep.
 */

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Resolves after `ms` (or at once when `signal` aborts); never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** CLOCK_MONOTONIC in milliseconds, comparable across the processes of this machine. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => { clearTimeout(timer); resolve(); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const monotonicClock: Clock = { now: monotonicMs, sleep: realSleep };
