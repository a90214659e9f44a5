/**
 * Deadline helpers shared by probes and agent functions. A deadline is an absolute time on the
 * monotonic clock; every wait derived from it ends by then, and every wait also ends when the
 * caller's AbortSignal fires. Nothing here throws on timeout: callers get a value.
 */

/** Milliseconds on a monotonic clock (never goes back with the wall clock). */
export function nowMs(): number {
  return performance.now();
}

export interface Deadline {
  /** Absolute monotonic time (ms) at which the work must be over. */
  at: number;
  /** Milliseconds left, never negative. */
  remaining(): number;
  expired(): boolean;
}

export function deadlineIn(ms: number): Deadline {
  const at = nowMs() + Math.max(0, ms);
  return {
    at,
    remaining: () => Math.max(0, at - nowMs()),
    expired: () => nowMs() >= at,
  };
}

/**
 * A signal that fires at `ms` from now or when any of `parents` fires, whichever comes first.
 * Our own timer, not AbortSignal.any([AbortSignal.timeout(ms), …]): inside any(), the timeout
 * signal is held weakly and can be garbage-collected before it fires — the combined signal then
 * never aborts (nodejs/node#57736; seen here as a monitor hanging past MonitorTimeout). The
 * timer's closure holds the controller until it fires; like AbortSignal.timeout, it does not
 * keep the process alive.
 */
export function timeoutSignal(ms: number, ...parents: (AbortSignal | undefined)[]): AbortSignal {
  const ctl = new AbortController();
  const sources = parents.filter((s): s is AbortSignal => !!s);
  const early = sources.find((s) => s.aborted);
  if (early) { ctl.abort(early.reason); return ctl.signal; }
  const onParent = (e: Event): void => ctl.abort((e.target as AbortSignal).reason);
  const timer = setTimeout(() => ctl.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), Math.max(1, Math.ceil(ms)));
  timer.unref();
  for (const s of sources) s.addEventListener('abort', onParent, { once: true });
  ctl.signal.addEventListener('abort', () => {
    clearTimeout(timer);
    for (const s of sources) s.removeEventListener('abort', onParent);
  }, { once: true });
  return ctl.signal;
}

/** Sleeps `ms`, or less when the signal fires; resolves false when it was cut short. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => { clearTimeout(timer); resolve(false); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(true); }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Polls `check` every `intervalMs` until it returns a non-undefined value, the deadline passes
 * or the signal fires. Returns the value, or undefined when time ran out.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  deadline: Deadline,
  intervalMs: number,
  signal?: AbortSignal,
): Promise<T | undefined> {
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (deadline.expired() || signal?.aborted) return undefined;
    await sleep(Math.min(intervalMs, deadline.remaining()), signal);
    if (signal?.aborted) return undefined;
  }
}

/** Seconds, rounded to the millisecond, for phase reports. */
export function secondsSince(startMs: number): number {
  return Math.round(nowMs() - startMs) / 1000;
}
