/**
 * What one preflight check found: PASS, WARN or FAIL, what was seen, and the exact fix. The one
 * result type of the preflight room (every family of checks returns these).
 */

export type CheckStatus = 'PASS' | 'WARN' | 'FAIL';

export interface CheckResult {
  /** Stable identifier, e.g. `shared-dir.nfs-options` (docs/preflight.md has a section per id). */
  id: string;
  status: CheckStatus;
  /** The file, resource or setting the check looked at. */
  subject: string;
  /** What was found, in one or two sentences. */
  detail: string;
  /** The exact commands or settings that fix it (WARN and FAIL only). */
  fix?: string;
}

export const pass = (id: string, subject: string, detail: string): CheckResult => ({ id, status: 'PASS', subject, detail });
export const warn = (id: string, subject: string, detail: string, fix: string): CheckResult => ({ id, status: 'WARN', subject, detail, fix });
export const fail = (id: string, subject: string, detail: string, fix: string): CheckResult => ({ id, status: 'FAIL', subject, detail, fix });

/** Exit code of `msgha preflight`: 1 when any check FAILed, else 0 (warnings allowed). */
export const exitCodeOf = (results: readonly CheckResult[]): number => (results.some((r) => r.status === 'FAIL') ? 1 : 0);
