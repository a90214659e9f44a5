/**
 * The one table of `msgha` exit codes. Every verb returns one of these names (never a bare
 * number: test/unit/cli/exit-codes.test.ts checks that each code is used and each used code is
 * here); `msgha --help` prints the table.
 */
export const EXIT = {
  /** Done: the answer, the wanted state, a valid file. */
  OK: 0,
  /** Refused or failed: the coordinator said no, a check failed, the state was not reached. */
  FAILED: 1,
  /** Usage: unknown verb or option, missing or bad argument, a named file that cannot be used. */
  USAGE: 2,
  /** No PM2 daemon, or no coordinator in it, on this node (and no shared-directory fallback). */
  NO_COORDINATOR: 3,
  /** Timed out: a probe's deadline, or --wait without the wanted state within --timeout. */
  TIMEOUT: 4,
  /** Unknown: a monitor could not tell whether the resource is up. */
  UNKNOWN: 5,
} as const;

export type ExitName = keyof typeof EXIT;
export type ExitCode = (typeof EXIT)[ExitName];

const MEANING: Record<ExitName, string> = {
  OK: 'done (answered, state reached, file valid)',
  FAILED: 'refused or failed (the reason is printed)',
  USAGE: 'usage error (unknown verb or option, bad argument)',
  NO_COORDINATOR: 'no PM2 daemon or no coordinator on this node',
  TIMEOUT: 'timed out (probe deadline, --wait past --timeout)',
  UNKNOWN: 'state unknown (msgha run … monitor)',
};

/** The table as `msgha --help` and docs/cli.md show it. */
export function exitTable(): string {
  return (Object.keys(EXIT) as ExitName[]).map((n) => `  ${EXIT[n]}  ${MEANING[n]}`).join('\n');
}
