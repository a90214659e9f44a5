/**
 * TCP connect and TLS handshake for probes, each as one phase of a ProbeContext.
 *
 * Guarantees: every socket made here is registered with `ctx.defer`, so it is destroyed when
 * the probe ends, however it ends; a connect or handshake that outlives the deadline is torn
 * down by the probe frame. Certificates are not verified unless asked: a liveness probe must
 * not fail on a self-signed certificate (the tls probe judges certificates, with its policy).
 */
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

/** Opens a TCP connection (phase `connect`). */
export function openTcp(ctx: ProbeContext, target: Endpoint): Promise<net.Socket> {
  ctx.enter('connect');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true });
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
