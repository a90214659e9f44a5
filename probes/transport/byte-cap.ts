/**
 * A cap on what a probe reads over its connection, for protocols spoken by a library (imapflow,
 * nodemailer, ldapts): each buffers what the server sends as it sees fit, so the bytes (and, for
 * line protocols, the lines) are counted on the socket the library reads, and the probe ends
 * past the cap whatever the library would have kept. Lines count because a library keeps an
 * object per response: 1 MiB of 8-byte IMAP lines cost imapflow 50 MB. A probe's whole
 * transaction (greeting, capabilities, a login, a SELECT or a search of one entry, the goodbye)
 * is a few KiB and a few dozen lines; the defaults leave ample room above that.
 *
 * Guarantees: past a cap the socket is destroyed and the probe refused at once (ctx.refuse); at
 * most one chunk (64 KiB) beyond the cap reaches the library. One cap spans every socket given
 * to `watch` (the plain socket, then its TLS layer after STARTTLS).
 */
import type { Socket } from 'node:net';
import { ProbeFailure, type ProbeContext } from './run-probe';

export const MAX_CONNECTION_BYTES = 1024 * 1024;
export const MAX_CONNECTION_LINES = 1000;

export interface CapLimits {
  maxBytes?: number;
  /** Counted only when set (line protocols). */
  maxLines?: number;
}

export class ByteCap {
  private bytes = 0;
  private lines = 0;
  private readonly maxBytes: number;
  private readonly maxLines: number | undefined;

  constructor(private readonly ctx: ProbeContext, limits: CapLimits = {}) {
    this.maxBytes = limits.maxBytes ?? MAX_CONNECTION_BYTES;
    this.maxLines = limits.maxLines;
  }

  /**
   * Counts what `socket` delivers from now on. Attach it once the library reads the socket (a
   * 'data' listener starts the flow, and bytes flowing before the library listens are lost).
   */
  watch(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => { this.add(chunk, socket); });
  }

  /** Counts a chunk a reader intercepted itself; false (and the probe refused) once over a cap. */
  add(chunk: Buffer, socket?: Socket): boolean {
    this.bytes += chunk.length;
    if (this.maxLines !== undefined) {
      for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, at + 1)) this.lines += 1;
    }
    const over = this.bytes > this.maxBytes ? `more than ${this.maxBytes} bytes`
      : this.maxLines !== undefined && this.lines > this.maxLines ? `more than ${this.maxLines} lines` : undefined;
    if (over === undefined) return true;
    socket?.destroy();
    this.ctx.refuse(new ProbeFailure(`the server sent ${over}, the cap of one probe connection`));
    return false;
  }
}
