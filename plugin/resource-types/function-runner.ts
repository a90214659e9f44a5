/**
 * Runs one agent function of one resource under its timeout, with a fresh AbortSignal and a
 * logger named after the resource and the function. The same code serves the agent app and
 * `msgha run`, so a function run by hand behaves exactly as under cluster control.
 *
 * Guarantees: never throws (a thrown error or a timeout becomes a failed result); returns no
 * later than the function's timeout plus SETTLE_GRACE_MS, and after a timeout it waits (up to
 * that grace) for the aborted function to settle so that two functions do not overlap.
 */
import { nodeName } from '../core/node-name';
import type { ResolvedResource } from '../model/cluster-types';
import type { Cancellation, CheckReport, RecoveryClass, ResourceState } from '../core/results';
import { TIMEOUT_ATTR, SETTLE_GRACE_MS, timeoutSeconds, type AgentContext, type AgentFunction, type ResourceType } from './contract';
import { createLogger, type Logger, type LogLevel, type LogSink } from '../core/log';
import type { SecretResolver } from '../secrets';


export interface FunctionOutcome {
  fn: AgentFunction;
  /** online/offline/clean: success; monitor: state === 'ONLINE'. */
  ok: boolean;
  /** Only for monitor. */
  state?: ResourceState;
  reason: string;
  recovery?: RecoveryClass;
  durationMs: number;
  checks?: CheckReport[];
  pids?: number[];
  level?: 'first' | 'second' | 'program';
  timedOut?: boolean;
  /** Cut short by its caller, so no verdict on the resource (never set from the reason's words). */
  cancelled?: Cancellation;
}

export interface RunnerDeps {
  resource: ResolvedResource;
  type: ResourceType;
  /** Decrypts an attribute value (enc:v2:… in its place, or enc:v1:…); from createSecretResolver. */
  resolveSecret: SecretResolver;
  /** The node's name (default: MSGHA_NODE, as PM2 gives it to the agent). */
  node?: string;
  level?: LogLevel;
  sink?: LogSink;
}

export function logLevelOf(resource: ResolvedResource): LogLevel {
  const v = resource.attrs.ResLogLevel;
  return v === 'ERROR' || v === 'WARN' || v === 'TRACE' ? v : 'INFO';
}

export function loggerFor(deps: Pick<RunnerDeps, 'resource' | 'level' | 'sink'>, fn: string): Logger {
  return createLogger(deps.resource.id, fn, deps.level ?? logLevelOf(deps.resource), deps.sink);
}

/**
 * Run `fn` now. `outer` lets the caller cancel it early (a monitor pre-empted by an online, the
 * agent told to stop); a failed result then says so in its reason and in `cancelled: 'aborted'`.
 */
export async function runFunction(
  deps: RunnerDeps, fn: AgentFunction, options: { deep?: boolean; outer?: AbortSignal } = {},
): Promise<FunctionOutcome> {
  const started = performance.now();
  const limitS = timeoutSeconds(deps.resource, fn);
  const log = loggerFor(deps, fn);
  const controller = new AbortController();
  let timedOut = false;
  const onOuterAbort = (): void => controller.abort(new Error(`${fn} cancelled`));
  if (options.outer?.aborted) onOuterAbort();
  else options.outer?.addEventListener('abort', onOuterAbort, { once: true });

  const ctx: AgentContext = {
    resource: deps.resource,
    attrs: deps.resource.attrs,
    log,
    signal: controller.signal,
    // The place the value must have been encrypted for (enc:v2): this group, resource, attribute.
    secret: (attribute: string) => deps.resolveSecret(deps.resource.attrs[attribute], { group: deps.resource.group, resource: deps.resource.name, attribute }),
    node: deps.node ?? nodeName(),
  };

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => { timedOut = true; controller.abort(new Error(`${fn} timed out`)); resolve('timeout'); }, limitS * 1000);
  });
  const work = invoke(deps.type, fn, ctx, options.deep === true);
  try {
    log.trace(`start${fn === 'monitor' ? (options.deep ? ' (deep)' : ' (first level)') : ''}, timeout ${limitS}s`);
    const first = await Promise.race([work, deadline]);
    if (first === 'timeout') {
      // Give the aborted function a moment to settle so the next one does not overlap it.
      const settled = await Promise.race([work.then(() => true), sleep(SETTLE_GRACE_MS).then(() => false)]);
      if (!settled) log.warn(`did not stop within ${SETTLE_GRACE_MS} ms of its timeout`);
      const durationMs = Math.round(performance.now() - started);
      const reason = `${fn} did not finish within ${TIMEOUT_ATTR[fn]} ${limitS}s`;
      log.warn(reason);
      return fn === 'monitor'
        ? { fn, ok: false, state: 'UNKNOWN', reason, recovery: 'restartable', durationMs, timedOut: true }
        : { fn, ok: false, reason, recovery: 'restartable', durationMs, timedOut: true };
    }
    const outcome: FunctionOutcome = { ...first, durationMs: Math.round(performance.now() - started) };
    if (controller.signal.aborted && !timedOut && !outcome.ok) {
      outcome.reason = `${fn} cancelled: ${outcome.reason}`;
      outcome.cancelled = 'aborted';
    }
    const tail = `${outcome.durationMs} ms: ${outcome.reason}`;
    if (outcome.ok) log.trace(`${fn === 'monitor' ? outcome.state : 'ok'} in ${tail}`);
    else if (fn === 'monitor') log.trace(`${outcome.state} in ${tail}`);
    else log.warn(`failed in ${tail}`);
    return outcome;
  } finally {
    clearTimeout(timer);
    options.outer?.removeEventListener('abort', onOuterAbort);
  }
}

async function invoke(type: ResourceType, fn: AgentFunction, ctx: AgentContext, deep: boolean): Promise<Omit<FunctionOutcome, 'durationMs'>> {
  try {
    if (fn === 'monitor') {
      const r = await type.monitor(ctx, { deep });
      return { fn, ok: r.state === 'ONLINE', state: r.state, reason: r.reason, recovery: r.recovery, checks: r.checks, pids: r.pids, level: r.level };
    }
    const r = await type[fn](ctx);
    return { fn, ok: r.ok, reason: r.reason, recovery: r.recovery };
  } catch (err) {
    // A type must return values; an exception is a bug in it, reported as a failure, not a crash.
    const reason = `${fn} threw: ${err instanceof Error ? err.message : String(err)}`;
    return fn === 'monitor'
      ? { fn, ok: false, state: 'UNKNOWN', reason, recovery: 'restartable' }
      : { fn, ok: false, reason, recovery: 'restartable' };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
