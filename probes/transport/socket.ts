/**
 * TCP connect and TLS handshake for probes, each as one phase of a ProbeContext.
 *
 * Guarantees: every socket made here is registered with `ctx.defer`, so it is destroyed when
 * the probe ends, however it ends; a connect or handshake that outlives the deadline is torn
 * down by the probe frame. Every handshake follows the probe's Trust (trust.ts): verified when
 * the probe sends credentials, not for a banner-only check unless asked.
 */
import * as dns from 'node:dns';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ProbeContext } from './run-probe';
import { ProbeFailure, certificateFailure, describeError } from './run-probe';
import { connectOptions, decideTrust, type TlsOptions, type Trust } from './trust';

export type { TlsOptions, Trust } from './trust';

export type TlsMode = 'implicit' | 'starttls' | 'none';

/**
 * The Trust of a probe to `target` that does (`sendsCredentials`) or does not send a login or
 * password over its connection; the target's servername wins over the options'. A CA file that
 * cannot be used is a configuration error naming it; it is not read when the target speaks no
 * TLS (a ProbeCAFile set for a resource's TLS services must not fail its plain ones).
 */
export function trustFor(target: { tls?: TlsMode; servername?: string }, options: TlsOptions, sendsCredentials: boolean): Trust {
  const servername = target.servername ?? options.servername;
  if ((target.tls ?? 'none') === 'none') return { verify: false, ...(servername ? { servername } : {}) };
  const trust = decideTrust({ ...options, ...(servername ? { servername } : {}) }, sendsCredentials);
  if ('problem' in trust) throw new ProbeFailure(trust.problem, { configurationError: true, phase: 'tls' });
  return trust;
}

/**
 * Ends the probe at once when `secure` refuses the server's certificate, whatever library drives
 * the socket (they wrap or rename the error; the refusal must stay a configuration error).
 */
export function watchCertificate(ctx: ProbeContext, secure: tls.TLSSocket): void {
  secure.once('error', (err) => {
    const refused = certificateFailure(err);
    if (refused) ctx.refuse(refused);
  });
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
export function startTls(ctx: ProbeContext, socket: net.Socket, target: Endpoint, trust: Trust): Promise<tls.TLSSocket> {
  ctx.enter('tls');
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ socket, ...connectOptions(trust, target.host) });
    ctx.defer(() => secure.destroy());
    const onError = (err: Error): void => {
      secure.destroy();
      reject(certificateFailure(err) ?? new ProbeFailure(`TLS handshake failed: ${describeError(err)}`));
    };
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
export async function openStream(ctx: ProbeContext, target: Endpoint, mode: TlsMode, trust: Trust): Promise<net.Socket> {
  const socket = await openTcp(ctx, target);
  return mode === 'implicit' ? startTls(ctx, socket, target, trust) : socket;
}
