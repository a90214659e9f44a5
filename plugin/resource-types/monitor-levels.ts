/**
 * The monitor flow every resource type shares: first level (processes) → second
 * level (protocol checks) when the caller says this cycle is deep → the user's MonitorProgram
 * when everything before said ONLINE.
 *
 * Guarantees: the whole flow ends before MonitorTimeout (each level gets what is left of one
 * budget); a flow cut short by the deadline or the caller's signal reports UNKNOWN, never a
 * guess; the level that decided is named in the result.
 */
import { actsOn, type ProbePolicy } from '../../probes/registry';
import type { ProbeResult } from '../../probes/types';
import { deadlineIn, timeoutSignal } from '../core/deadline';
import { runMonitorProgram } from '../../probes/monitor-program';
import { execBase, genericAttr } from './attr-access';
import type { CheckReport, MonitorResult, RecoveryClass, ResourceState } from '../core/results';
import type { AgentContext, MonitorOptions } from './contract';

/**
 * True when cycle number `cycle` (counted from 1 by the caller) is a deep one for
 * SecondLevelMonitor = `n`: 0 never, 1 every cycle, N the N-th, 2N-th, … cycles.
 */
export function isDeepCycle(cycle: number, n: number): boolean {
  if (!Number.isInteger(n) || n <= 0) return false;
  return cycle % n === 0;
}

export interface LevelResult {
  state: ResourceState;
  reason: string;
  recovery?: RecoveryClass;
  pids?: number[];
  checks?: CheckReport[];
}

export interface MonitorSpec {
  /** Process check; must be cheap (one shared /proc scan). */
  first(): Promise<LevelResult>;
  /** Deep check, given the time it may take and a signal that fires when that time is up. */
  second?(budgetMs: number, signal: AbortSignal): Promise<LevelResult>;
}

/** Time kept back from MonitorTimeout so that we answer before the caller gives up. */
const MARGIN_MS = 250;

/** The resource's MonitorProgram, or undefined when none is set (absent, null or ''). */
export function monitorProgramOf(attrs: Readonly<Record<string, unknown>>): unknown {
  const program = attrs.MonitorProgram;
  return program === undefined || program === null || program === '' ? undefined : program;
}

export async function runMonitor(ctx: AgentContext, options: MonitorOptions, spec: MonitorSpec): Promise<MonitorResult> {
  const log = ctx.log.child('monitor');
  const budget = Math.max(500, genericAttr.ms(ctx, 'MonitorTimeout') - MARGIN_MS);
  const deadline = deadlineIn(budget);
  const signal = timeoutSignal(budget, ctx.signal);
  const cutShort = (level: MonitorResult['level'], pids?: number[], checks?: CheckReport[]): MonitorResult => ({
    state: 'UNKNOWN', level, pids, checks, recovery: 'restartable',
    reason: `monitor did not finish within MonitorTimeout (${(budget / 1000).toFixed(1)} s) at the ${level} level`,
  });

  const first = await spec.first();
  if (signal.aborted) return cutShort('first', first.pids);
  if (first.state !== 'ONLINE') {
    log.trace(`first level: ${first.state}: ${first.reason}`);
    return { ...first, level: 'first' };
  }
  const checks: CheckReport[] = [...(first.checks ?? [])];
  let reason = first.reason;
  let level: MonitorResult['level'] = 'first';

  if (options.deep && spec.second) {
    const second = await spec.second(deadline.remaining(), signal);
    checks.push(...(second.checks ?? []));
    if (ctx.signal.aborted) return cutShort('second', first.pids, checks);
    level = 'second';
    if (second.state !== 'ONLINE') {
      log.trace(`second level: ${second.state}: ${second.reason}`);
      return { state: second.state, reason: second.reason, recovery: second.recovery, level, pids: first.pids, checks };
    }
    reason = `${reason}; ${second.reason}`;
  }

  const program = monitorProgramOf(ctx.attrs);
  if (program !== undefined) {
    if (deadline.expired()) return cutShort('program', first.pids, checks);
    const r = await runMonitorProgram(program, { ...execBase(ctx, log), timeoutMs: deadline.remaining(), signal });
    checks.push(r.check);
    if (r.state !== 'ONLINE') {
      log.trace(r.reason);
      const recovery = r.configuration ? 'configuration' : r.state === 'OFFLINE' ? 'restartable' : undefined;
      return { state: r.state, reason: r.reason, recovery, level: 'program', pids: first.pids, checks };
    }
    reason = `${reason}; ${r.reason}`;
    level = 'program';
  }
  return { state: 'ONLINE', reason, level, pids: first.pids, checks };
}

export interface NamedProbe {
  check: string;
  result: ProbeResult;
}

export function toCheckReport(p: NamedProbe): CheckReport {
  const report: CheckReport = { check: p.check, outcome: p.result.outcome, phases: p.result.phases, reason: withCertificate(p.result) };
  const details = checkDetails(p.result);
  if (details) report.details = details;
  return report;
}

/**
 * The probe's details, with the certificate's remaining lifetime always under one name,
 * `certExpirySeconds` (the tls probe and the protocol probes' TLS step name it differently).
 */
function checkDetails(result: ProbeResult): Record<string, string | number> | undefined {
  const d = result.details;
  if (!d || Object.keys(d).length === 0) return undefined;
  const out: Record<string, string | number> = { ...d };
  const left = Number(d.certExpirySeconds ?? d.certExpiresInSec);
  if (Number.isFinite(left)) out.certExpirySeconds = left;
  delete out.certExpiresInSec;
  return out;
}

/** The probe's reason plus, after a TLS handshake, the days the server's certificate has left. */
function withCertificate(result: ProbeResult): string | undefined {
  const d = result.details ?? {};
  const left = Number(d.certExpiresInSec ?? d.certExpirySeconds);
  if (!Number.isFinite(left)) return result.reason;
  const cert = left < 0 ? `certificate EXPIRED ${Math.ceil(-left / 86400)} d ago` : `certificate expires in ${Math.floor(left / 86400)} d`;
  return result.reason ? `${result.reason}; ${cert}` : cert;
}

/**
 * Folds several probe results into one level result, acting on a result only when
 * `actsOn(result, policy)` says so: 'any' acts on every failure, 'timeout-only' (the Netscape
 * seed's policy) only on timeouts; the others are named in the reason but keep ONLINE.
 *
 * A failure the probe blames on the configuration (the test user's credentials refused, a
 * search not allowed) gives OFFLINE with recovery 'configuration'. Why OFFLINE and not UNKNOWN:
 * the deep check could not show that the service works, and UNKNOWN would invite a retry that
 * can never succeed; why 'configuration' and not 'restartable': restarting or moving the server
 * does not make wrong credentials right — the coordinator waits for the operator. Under
 * 'timeout-only' such a failure is not a timeout, so it is reported and not acted on, as the
 * seed never failed over for anything but a timeout.
 */
export function foldProbes(probes: NamedProbe[], policy: ProbePolicy = 'any'): LevelResult {
  const checks = probes.map(toCheckReport);
  const acted = probes.filter((p) => actsOn(p.result, policy));
  const config = acted.filter((p) => p.result.outcome === 'fail' && p.result.configurationError);
  if (config.length > 0) {
    return { state: 'OFFLINE', recovery: 'configuration', checks,
      reason: `deep check refused by configuration (test credentials refused or not allowed; restarting will not help): ${config.map((p) => `${p.check}: ${p.result.reason ?? 'refused'}`).join('; ')}` };
  }
  if (acted.length > 0) {
    return { state: 'OFFLINE', recovery: 'restartable', checks,
      reason: `deep check failed: ${acted.map((p) => `${p.check} ${p.result.outcome === 'timeout' ? 'timed out' : 'failed'} (${p.result.reason ?? 'no cause'})`).join('; ')}` };
  }
  const ignored = probes.filter((p) => p.result.outcome !== 'ok');
  const okList = probes.filter((p) => p.result.outcome === 'ok').map((p) => `${p.check} ${((p.result.phases.total ?? 0) * 1000).toFixed(0)} ms`);
  const note = ignored.length > 0 ? `; ignored by ProbeFailurePolicy ${policy}: ${ignored.map((p) => `${p.check} (${p.result.reason ?? 'failed'})`).join('; ')}` : '';
  return { state: 'ONLINE', checks, reason: `deep check ok: ${okList.join(', ') || 'nothing to probe'}${note}` };
}
