/**
 * The frame every protocol probe runs in: one deadline for the whole transaction, sequential
 * phases timed on the monotonic clock, and cleanups that always run.
 *
 * Guarantees: `runProbe` never throws and never outlives its deadline by more than one event
 * loop turn; every resource registered with `defer` (sockets, clients) is released before it
 * returns, whatever happened; a failure or timeout names the phase that was running; a watcher
 * outside the body's flow (a byte cap, a certificate check) ends the probe at once with `refuse`;
 * a server certificate refused by the TLS check is a configuration error in phase tls, whichever
 * library met it. Not guaranteed: that a library call running at the deadline stops its work (it
 * is abandoned and its socket destroyed, so it fails on its own shortly after, and that failure
 * is swallowed).
 */
import type { ProbeResult } from '../types';
import { nowMs } from '../../plugin/core/deadline';
import type { Phases } from '../../plugin/core/results';
import { CERT_WAY_OUT, certificateProblem } from './trust';

export type PhaseName = keyof Phases;

/** A failure the probe classifies itself: the reason is shown as is. */
export class ProbeFailure extends Error {
  readonly configurationError: boolean;
  readonly timeout: boolean;
  /** The phase to blame when it is not the one running (e.g. a bad greeting noticed later). */
  readonly phase: PhaseName | undefined;
  constructor(reason: string, options: { configurationError?: boolean; timeout?: boolean; phase?: PhaseName } = {}) {
    super(reason);
    this.name = 'ProbeFailure';
    this.configurationError = options.configurationError ?? false;
    this.timeout = options.timeout ?? false;
    this.phase = options.phase;
  }
}

export interface ProbeContext {
  /** Fires at the deadline or when the caller's signal fires. */
  readonly signal: AbortSignal;
  /** Milliseconds left before the deadline (never negative). */
  remaining(): number;
  /** Ends the running phase (adding its time to that phase) and starts `phase`. */
  enter(phase: Exclude<PhaseName, 'total'>): void;
  /** The phase running now. */
  current(): PhaseName | undefined;
  /** Registers a release step (destroy a socket, close a client); run in reverse order. */
  defer(release: () => void): void;
  /** Extra facts for the result (server version, certificate expiry). */
  readonly details: Record<string, string | number>;
  /**
   * Ends the probe now with `failure`, whatever the body is waiting for (the first refusal
   * wins): for watchers outside the body's flow, such as a byte cap on a library's socket.
   */
  refuse(failure: ProbeFailure): void;
}

type Body = (ctx: ProbeContext) => Promise<string | void>;

/** Error codes of sockets and libraries that mean "ran out of time". */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'SOCKET_TIMEOUT', 'ETIMEOUT', 'UPGRADE_TIMEOUT']);

/** One human sentence from anything thrown, bounded, without control characters. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const text = err.message || String(code ?? err.name);
    const withCode = typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text;
    return clean(withCode);
  }
  return clean(String(err));
}

/** Keeps printable text only and at most 200 characters: server replies are untrusted input. */
export function clean(text: string, max = 200): string {
  const flat = text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/**
 * The failure for a server certificate the TLS check refused, or undefined for any other error:
 * a configuration error (the probe cannot trust this server; restarting it will not help), in
 * phase tls, with the way out.
 */
export function certificateFailure(err: unknown): ProbeFailure | undefined {
  if (err instanceof ProbeFailure) return undefined;
  const problem = certificateProblem(err);
  return problem ? new ProbeFailure(`server certificate refused: ${problem}; ${CERT_WAY_OUT}`, { configurationError: true, phase: 'tls' }) : undefined;
}

function isTimeoutError(err: unknown): boolean {
  if (err instanceof ProbeFailure) return err.timeout;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TIMEOUT_CODES.has(code);
}

/**
 * Runs `body` under a deadline of `timeoutMs`. The body returns an optional short note for an
 * ok result, or throws (ProbeFailure for classified failures, anything else for the rest).
 */
export async function runProbe(timeoutMs: number, callerSignal: AbortSignal | undefined, body: Body): Promise<ProbeResult> {
  const start = nowMs();
  const phases: Phases = {};
  const details: Record<string, string | number> = {};
  const releases: Array<() => void> = [];
  let phase: PhaseName | undefined;
  let phaseStart = start;
  const controller = new AbortController();
  let refuse: (failure: ProbeFailure) => void = () => undefined;
  const refused = new Promise<ProbeFailure>((resolve) => { refuse = resolve; });

  const closePhase = (): void => {
    if (phase && phase !== 'total') {
      phases[phase] = Math.round(((phases[phase] ?? 0) * 1000 + (nowMs() - phaseStart))) / 1000;
    }
  };
  const ctx: ProbeContext = {
    signal: controller.signal,
    remaining: () => Math.max(0, start + timeoutMs - nowMs()),
    enter: (next) => { closePhase(); phase = next; phaseStart = nowMs(); },
    current: () => phase,
    defer: (release) => { releases.push(release); },
    details,
    refuse: (failure) => refuse(failure),
  };

  let timer: NodeJS.Timeout | undefined;
  let onCallerAbort: (() => void) | undefined;
  const expired = new Promise<'deadline' | 'cancelled'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), Math.max(1, timeoutMs));
    if (callerSignal) {
      onCallerAbort = () => resolve('cancelled');
      if (callerSignal.aborted) onCallerAbort();
      else callerSignal.addEventListener('abort', onCallerAbort, { once: true });
    }
  });

  const work = (async () => body(ctx))();
  // The body may settle after we gave up on it; its late failure must not become unhandled.
  work.catch(() => undefined);

  let result: ProbeResult;
  try {
    const winner = await Promise.race([
      work.then((note) => ({ kind: 'done' as const, note }), (err: unknown) => ({ kind: 'error' as const, err: certificateFailure(err) ?? err })),
      expired.then((why) => ({ kind: why })),
      refused.then((err) => ({ kind: 'error' as const, err })),
    ]);
    if (winner.kind === 'done') {
      closePhase();
      result = { outcome: 'ok', phases, ...(winner.note ? { reason: winner.note } : {}) };
    } else if (winner.kind === 'error') {
      closePhase();
      const timedOut = isTimeoutError(winner.err);
      const configurationError = winner.err instanceof ProbeFailure && winner.err.configurationError;
      const blamed = (winner.err instanceof ProbeFailure && winner.err.phase) || phase;
      result = {
        outcome: timedOut ? 'timeout' : 'fail',
        phases,
        reason: describeError(winner.err),
        ...(blamed && blamed !== 'total' ? { failedPhase: blamed } : {}),
        ...(configurationError ? { configurationError: true } : {}),
      };
    } else {
      closePhase();
      const where = phase && phase !== 'total' ? ` in phase ${phase}` : '';
      result = {
        outcome: 'timeout',
        phases,
        reason: winner.kind === 'deadline'
          ? `no answer within ${timeoutMs} ms${where}`
          : `cancelled by the caller${where}`,
        ...(phase && phase !== 'total' ? { failedPhase: phase } : {}),
      };
    }
  } finally {
    clearTimeout(timer);
    if (callerSignal && onCallerAbort) callerSignal.removeEventListener('abort', onCallerAbort);
    controller.abort();
    for (const release of releases.reverse()) {
      try { release(); } catch { /* releasing must never fail the probe */ }
    }
  }
  phases.total = Math.round(nowMs() - start) / 1000;
  if (Object.keys(details).length) result.details = details;
  return result;
}
