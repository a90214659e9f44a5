/**
 * HTTP/1.1 requests for probes over sockets the probe opened and timed. Requests share one
 * keep-alive connection when the server allows it; otherwise a new connection is opened
 * (untimed: it belongs to the phase that needed it).
 *
 * Guarantees: headers are bounded by Node's parser (16 KiB); a body (chunked or not) longer
 * than `maxBodyBytes` fails the request as soon as the cap is passed, the rest unread (the
 * response is destroyed), so a server streaming an endless body costs at most the cap; a
 * connection opened here takes the probe's Trust, like the first; every socket and the agent
 * are released when the probe ends; credentials travel only in the Authorization header, never
 * in a reason.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ProbeContext } from './run-probe';
import { ProbeFailure, certificateFailure, describeError } from './run-probe';
import { watchCertificate, type Endpoint, type TlsMode } from './socket';
import { connectOptions, type Trust } from './trust';

export interface HttpAnswer { status: number; body: string }

export interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** A login page or an admin answer is a few KiB; a webmail page with inline scripts a few hundred. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The Basic Authorization header value (credentials travel only in this header). */
export function basicAuth(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
}

/**
 * The Host header: the name the caller asked for (the servername, kept when the registry resolved
 * the name to an address), not the address we connected to — a virtual-hosted webmail answers
 * for its name only. An IPv6 address is bracketed (RFC 7230 §5.4).
 */
export function hostHeader(name: string, port: number): string {
  return `${net.isIPv6(name) ? `[${name}]` : name}:${port}`;
}

export class HttpSession {
  private readonly agent: http.Agent;
  private first: net.Socket | undefined;

  constructor(private readonly ctx: ProbeContext, private readonly target: Endpoint, socket: net.Socket,
    private readonly mode: TlsMode, private readonly trust: Trust, private readonly maxBodyBytes = MAX_BODY_BYTES) {
    this.first = socket;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    // The first request rides on the socket the probe already opened and timed.
    (this.agent as unknown as { createConnection: () => net.Socket }).createConnection = () => {
      const ready = this.first;
      if (ready && !ready.destroyed) { this.first = undefined; return ready; }
      let fresh: net.Socket;
      if (this.mode === 'implicit') {
        const secure = tls.connect({ ...connectOptions(trust, target.host), port: target.port });
        watchCertificate(ctx, secure);
        fresh = secure;
      } else {
        fresh = net.connect({ host: target.host, port: target.port });
      }
      ctx.defer(() => fresh.destroy());
      return fresh;
    };
    ctx.defer(() => this.agent.destroy());
  }

  request(req: HttpRequest): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'User-Agent': 'msgha-probe', Host: hostHeader(this.trust.servername ?? this.target.host, this.target.port), ...req.headers };
      if (req.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body));
      const r = http.request({ agent: this.agent, host: this.target.host, port: this.target.port, method: req.method, path: req.path,
        headers, maxHeaderSize: 16 * 1024 }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let tooLong = false;
        res.on('data', (chunk: Buffer) => {
          if (tooLong) return;
          size += chunk.length;
          if (size > this.maxBodyBytes) {
            // Endless (or merely huge) bodies end here: nothing more is read or kept.
            tooLong = true;
            chunks.length = 0;
            res.destroy();
            reject(new ProbeFailure(`the answer to ${req.method} ${req.path} is longer than ${this.maxBodyBytes} bytes, the probe's cap`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => { if (!tooLong) reject(new ProbeFailure(`reading the answer to ${req.method} ${req.path} failed: ${describeError(err)}`)); });
        res.on('aborted', () => { if (!tooLong) reject(new ProbeFailure(`the server closed the connection during the answer to ${req.method} ${req.path}`)); });
      });
      this.ctx.defer(() => r.destroy());
      r.on('error', (err) => reject(certificateFailure(err) ?? new ProbeFailure(`${req.method} ${req.path} failed: ${describeError(err)}`)));
      r.end(req.body);
    });
  }
}
