/**
 * How a verb reports: results on stdout (JSON with --json), errors on stderr — or, with --json,
 * as one JSON object on stdout: {"ok": false, "error": "…", "exit": N}. One line, never a stack.
 */
import { EXIT, type ExitCode } from './exit-codes';

export class Output {
  constructor(readonly verb: string, readonly json: boolean) {}

  /** Text to stdout (ignored with --json: the caller prints JSON there instead). */
  say(line: string): void {
    if (!this.json) process.stdout.write(line.endsWith('\n') ? line : line + '\n');
  }

  /** A JSON result on stdout. */
  result(value: unknown): void {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  /** Reports an error and returns its exit code. */
  fail(code: ExitCode, message: string, extra: Record<string, unknown> = {}): ExitCode {
    writeError(this.verb, code, message, this.json, extra);
    return code;
  }
}

export function writeError(verb: string | undefined, code: ExitCode, message: string, json: boolean, extra: Record<string, unknown> = {}): void {
  const text = message.trim();
  if (json) process.stdout.write(JSON.stringify({ ok: false, ...(verb ? { command: verb } : {}), error: text, exit: code, ...extra }, null, 2) + '\n');
  else process.stderr.write(`msgha${verb ? ` ${verb}` : ''}: ${text}\n`);
}

/** Thrown by argument checks inside a verb: becomes exit 2 with the message. */
export class UsageError extends Error {
  readonly code = EXIT.USAGE;
}
