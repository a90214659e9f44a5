/**
 * TCP connect and TLS handshake for probes, each as one phase of a ProbeContext.
 *
 * Guarantees: every socket made here is registered with `ctx.defer`, so it is destroyed when
 * the probe ends, however it ends; a connect or handshake that outlives the deadline is torn
 * down by the probe frame. Certificates are not verified unless asked: a liveness probe must
 * not fail on a self-signed certificate (the tls probe judges certificates, with its policy).
 */
import * as dns from 'node:dns';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ProbeContext } from './run-probe';
import { ProbeFailure, describeError } from './run-probe';

export type TlsMode = 'implicit' | 'starttls' | 'none';

export interface TlsOptions {
  /** Name for SNI and for verification; defaults to the host when it is not an IP address. */
  servername?: string;
  /** Verify the certificate chain and name (default false). */
  verifyCertificate?: boolean;
  /** Extra trusted CA certificates (PEM), e.g. a self-signed server certificate. */
  ca?: string | string[];
}

export interface Endpoint { host: string; port: number }

/** The address every name under `.localhost` stands for (RFC 6761 §6.3). */
export const LOOPBACK = '127.0.0.1';

/**
 * True for `localhost` and every name under `.localhost`. RFC 6761 §6.3 says they are loopback
 * whatever the resolver says; glibc without nss-myhostname does not resolve `x.localhost`, so a
 * virtual host like `mail.example.localhost` (tests, demos) would otherwise never be probed.
 */
export function isLocalhostName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

/**
 * True for `invalid` and every name under `.invalid`: RFC 6761 §6.4 says they never resolve, so
 * we answer at once instead of asking (and waiting for) a resolver.
 */
export function isInvalidName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'invalid' || h.endsWith('.invalid');
}

function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
}

/**
 * A `lookup` for net/tls connect: `.localhost` names → 127.0.0.1, `.invalid` names → not found
 * at once, anything else → dns.lookup.
 */
export const probeLookup: net.LookupFunction = (hostname, options, callback) => {
  if (isInvalidName(hostname)) { process.nextTick(() => callback(notFound(hostname), '', 4)); return; }
  if (!isLocalhostName(hostname)) { dns.lookup(hostname, options, callback); return; }
  if (options.all) callback(null, [{ address: LOOPBACK, family: 4 }]);
  else callback(null, LOOPBACK, 4);
};

export type Resolved = { address: string } | { error: string; timeout: boolean };

/**
 * Resolves a host name to one address for libraries that take a host string (imapflow,
 * nodemailer, ldapts): an IP is returned as is, `.localhost` names give 127.0.0.1, others go
 * through the system resolver. Bounded: a resolver that hangs (dns.lookup cannot be cancelled)
 * is abandoned after `timeoutMs` or when `signal` fires.
 */
export function resolveHost(host: string, timeoutMs: number, signal?: AbortSignal): Promise<Resolved> {
  if (net.isIP(host)) return Promise.resolve({ address: host });
  if (isLocalhostName(host)) return Promise.resolve({ address: LOOPBACK });
  if (isInvalidName(host)) return Promise.resolve({ error: 'ENOTFOUND', timeout: false });
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: Resolved): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onAbort = (): void => finish({ error: 'cancelled by the caller', timeout: true });
    const timer = setTimeout(() => finish({ error: `no answer from the resolver within ${timeoutMs} ms`, timeout: true }), Math.max(1, timeoutMs));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    dns.lookup(host, (err, address) => {
      if (err) finish({ error: err.code ?? err.message, timeout: false });
      else finish({ address });
    });
  });
}

/** Opens a TCP connection (phase `connect`). */
export function openTcp(ctx: ProbeContext, target: Endpoint): Promise<net.Socket> {
  ctx.enter('connect');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true, lookup: probeLookup });
    ctx.defer(() => socket.destroy());
    const onError = (err: Error): void => { socket.destroy(); reject(new ProbeFailure(`cannot connect to ${target.host}:${target.port}: ${describeError(err)}`)); };
    socket.once('error', onError);
    socket.once('connect', () => { socket.removeListener('error', onError); resolve(socket); });
  });
}

/** Runs a TLS handshake over an open socket (phase `tls`), and notes the certificate's expiry. */
export function startTls(ctx: ProbeContext, socket: net.Socket, target: Endpoint, options: TlsOptions = {}): Promise<tls.TLSSocket> {
  ctx.enter('tls');
  const servername = options.servername ?? (net.isIP(target.host) ? undefined : target.host);
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      socket,
      ...(servername ? { servername } : {}),
      rejectUnauthorized: options.verifyCertificate ?? false,
      ...(options.ca ? { ca: options.ca } : {}),
    });
    ctx.defer(() => secure.destroy());
    const onError = (err: Error): void => { secure.destroy(); reject(new ProbeFailure(`TLS handshake failed: ${describeError(err)}`)); };
    const onClose = (): void => reject(new ProbeFailure('the server closed the connection during the TLS handshake'));
    secure.once('error', onError);
    secure.once('close', onClose);
    secure.once('secureConnect', () => {
      secure.removeListener('error', onError);
      secure.removeListener('close', onClose);
      noteCertificate(ctx, secure);
      resolve(secure);
    });
  });
}

/** Records protocol and seconds until the peer certificate expires (cheap: already parsed). */
export function noteCertificate(ctx: ProbeContext, secure: tls.TLSSocket): void {
  const protocol = secure.getProtocol();
  if (protocol) ctx.details.tlsProtocol = protocol;
  const cert = secure.getPeerCertificate();
  if (cert && cert.valid_to) {
    const expires = Date.parse(cert.valid_to);
    if (Number.isFinite(expires)) ctx.details.certExpiresInSec = Math.round((expires - Date.now()) / 1000);
  }
}

/** Connects and, for implicit TLS, runs the handshake: the socket to speak the protocol on. */
export async function openStream(ctx: ProbeContext, target: Endpoint, mode: TlsMode, options: TlsOptions = {}): Promise<net.Socket> {
  const socket = await openTcp(ctx, target);
  return mode === 'implicit' ? startTls(ctx, socket, target, options) : socket;
}
