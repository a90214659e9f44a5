/**
 * Why a resource faulted, as the closed vocabulary of the metrics (FaultReason), decided from the
 * agent's report alone — its monitor level, its checks and whether it timed out — never from
 * the reason sentence. For the metrics only: what is done about a fault is decided by
 * plugin/recovery/policy.ts.
 */
import type { FaultReason } from '../metrics/snapshot';
import type { AgentReport } from '../pm2/protocol';

export function faultReasonOf(report: Pick<AgentReport, 'level' | 'checks' | 'timedOut'>): FaultReason {
  if (report.timedOut) return 'probe-timeout';
  switch (report.level) {
    case 'first': return 'process-exit';
    case 'second': return report.checks?.some((c) => c.outcome === 'timeout') ? 'probe-timeout' : 'probe-failed';
    case 'program': return 'monitor-offline';
    default: return 'monitor-offline';
  }
}
