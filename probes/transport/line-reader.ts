/**
 * A bounded line reader for text protocols (POP3 here; usable by any CRLF protocol).
 *
 * Guarantees: never buffers more than `maxLineBytes` of an unterminated line nor reads more than
 * `maxTotalBytes` or `maxLines` in all (lines count too: each queued line is a string, and 256 KiB
 * of 8-byte lines cost 5 MB); a line too long, too many bytes or lines, an end or error of the
 * connection and an abort each reject the pending read with a ProbeFailure (never hang, never
 * throw outside the promise). Bytes are decoded as latin1 so that garbage never throws.
 */
import type { Socket } from 'node:net';
import { ProbeFailure, clean, describeError } from './run-probe';

export interface LineLimits {
  /** Longest line accepted, CRLF included (default 8 KiB; RFC 1939/5321 lines are ≤ 512). */
  maxLineBytes?: number;
  /** Most bytes read over the connection (default 256 KiB). */
  maxTotalBytes?: number;
  /** Most lines read over the connection (default 1000; a probe's exchange is a dozen). */
  maxLines?: number;
}

export const LINE_DEFAULTS: Required<LineLimits> = { maxLineBytes: 8 * 1024, maxTotalBytes: 256 * 1024, maxLines: 1000 };

export class LineReader {
  private buffer = '';
  private total = 0;
  private lineCount = 0;
  private lines: string[] = [];
  private failure: ProbeFailure | undefined;
  private waiter: { resolve(line: string): void; reject(err: Error): void } | undefined;
  private socket: Socket | undefined;
  private readonly limits: Required<LineLimits>;

  private readonly onData = (chunk: Buffer): void => this.push(chunk);
  private readonly onEnd = (): void => this.fail(new ProbeFailure('the server closed the connection'));
  private readonly onError = (err: Error): void => this.fail(new ProbeFailure(`connection error: ${describeError(err)}`));

  constructor(socket: Socket, limits: LineLimits = {}, signal?: AbortSignal) {
    // Field by field: a caller's options object may carry a limit as undefined.
    this.limits = {
      maxLineBytes: limits.maxLineBytes ?? LINE_DEFAULTS.maxLineBytes,
      maxTotalBytes: limits.maxTotalBytes ?? LINE_DEFAULTS.maxTotalBytes,
      maxLines: limits.maxLines ?? LINE_DEFAULTS.maxLines,
    };
    this.attach(socket);
    signal?.addEventListener('abort', () => this.fail(new ProbeFailure('aborted', { timeout: true })), { once: true });
  }

  /** Moves to another socket (after STARTTLS), dropping whatever came before the upgrade. */
  attach(socket: Socket): void {
    this.detach();
    this.buffer = '';
    this.lines = [];
    this.socket = socket;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  /** Stops reading from the current socket (before handing it to TLS). */
  detach(): void {
    const s = this.socket;
    if (!s) return;
    s.removeListener('data', this.onData);
    s.removeListener('end', this.onEnd);
    s.removeListener('close', this.onEnd);
    s.removeListener('error', this.onError);
    // An error emitted after we stop listening must not crash the process.
    s.on('error', () => undefined);
    this.socket = undefined;
  }

  /** The next line without its CRLF. */
  readLine(): Promise<string> {
    const ready = this.lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error('LineReader: one read at a time'));
    return new Promise((resolve, reject) => { this.waiter = { resolve, reject }; });
  }

  private push(chunk: Buffer): void {
    if (this.failure) return;
    this.total += chunk.length;
    if (this.total > this.limits.maxTotalBytes) {
      this.fail(new ProbeFailure(`the server sent more than ${this.limits.maxTotalBytes} bytes`));
      return;
    }
    this.buffer += chunk.toString('latin1');
    let at: number;
    while ((at = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, at).replace(/\r$/, '');
      this.buffer = this.buffer.slice(at + 1);
      if (line.length + 2 > this.limits.maxLineBytes) { this.tooLong(); return; }
      if (++this.lineCount > this.limits.maxLines) {
        this.fail(new ProbeFailure(`the server sent more than ${this.limits.maxLines} lines`));
        return;
      }
      this.lines.push(line);
    }
    if (this.buffer.length > this.limits.maxLineBytes) { this.tooLong(); return; }
    this.deliver();
  }

  private tooLong(): void {
    this.fail(new ProbeFailure(`the server sent a line longer than ${this.limits.maxLineBytes} bytes`));
  }

  private deliver(): void {
    if (!this.waiter) return;
    const line = this.lines.shift();
    if (line === undefined) return;
    const w = this.waiter;
    this.waiter = undefined;
    w.resolve(line);
  }

  private fail(err: ProbeFailure): void {
    if (this.failure) return;
    this.failure = err;
    this.buffer = '';
    this.socket?.destroy();
    // Lines already complete are still served; a waiter only gets the failure when none is left.
    if (this.waiter && this.lines.length > 0) {
      this.deliver();
    } else if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(err);
    }
  }
}

/** A short, printable excerpt of a server line for reasons. */
export function excerpt(line: string): string {
  return `'${clean(line, 80)}'`;
}
