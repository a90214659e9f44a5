/**
 * TLS probe: connect, full handshake (certificate not verified — a self-signed or expired
 * certificate is reported, not failed), optionally a greeting over TLS. Reports the
 * certificate's subject and the seconds until it expires (negative = expired).
 *
 * Guarantees: one deadline for all phases; the socket is always destroyed; never throws.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Phases } from '../plugin/core/results';
import { nowMs, secondsSince } from '../plugin/core/deadline';
import { readGreeting, withTimeout } from './tcp';
import type { ProtocolOptions, ProtocolProbe, ProtocolTarget } from './transport/options';
import type { ProbeResult } from './types';

/**
 * The SNI name is target.servername, else options.servername, else the host when it is a name
 * (never sent for an IP address). verifyCertificate and ca are not read: certificates are reported.
 */
export const probeTls: ProtocolProbe = (target: ProtocolTarget, opts: ProtocolOptions, signal?: AbortSignal): Promise<ProbeResult> => {
  const t0 = nowMs();
  const phases: Phases = {};
  let phase: keyof Phases = 'connect';
  const raw = new net.Socket();
  let secure: tls.TLSSocket | undefined;
  const where = `${target.host}:${target.port}`;
  const work = (async (): Promise<ProbeResult> => {
    const connectErr = await new Promise<Error | undefined>((resolve) => {
      raw.once('connect', () => resolve(undefined));
      raw.once('error', (e) => resolve(e));
      raw.connect({ host: target.host, port: target.port });
    });
    if (connectErr) {
      return { outcome: 'fail', phases: { total: secondsSince(t0) }, failedPhase: 'connect',
        reason: `connect to ${where} failed: ${(connectErr as NodeJS.ErrnoException).code ?? connectErr.message}` };
    }
    phases.connect = secondsSince(t0);
    phase = 'tls';
    const t1 = nowMs();
    const servername = (target.servername ?? opts.servername) || (net.isIP(target.host) ? undefined : target.host);
    const hs = await new Promise<Error | undefined>((resolve) => {
      secure = tls.connect({ socket: raw, rejectUnauthorized: false, servername });
      secure.once('secureConnect', () => resolve(undefined));
      secure.once('error', (e) => resolve(e));
      secure.once('close', () => resolve(new Error('connection closed during the handshake')));
    });
    if (hs || !secure) {
      return { outcome: 'fail', phases: { ...phases, total: secondsSince(t0) }, failedPhase: 'tls',
        reason: `TLS handshake with ${where} failed: ${hs?.message ?? 'no socket'}` };
    }
    phases.tls = secondsSince(t1);
    const details: Record<string, string | number> = {};
    const cert = secure.getPeerCertificate();
    if (cert && cert.valid_to) {
      details.certExpirySeconds = Math.round((Date.parse(cert.valid_to) - Date.now()) / 1000);
      const cn = cert.subject?.CN;
      details.certSubject = Array.isArray(cn) ? cn.join(',') : (cn ?? '');
    }
    details.protocol = secure.getProtocol() ?? '';
    if (opts.greeting !== undefined) {
      phase = 'greeting';
      const t2 = nowMs();
      const g = await readGreeting(secure as unknown as net.Socket, opts.greeting);
      if (!g.ok) return { outcome: 'fail', phases: { ...phases, total: secondsSince(t0) }, failedPhase: 'greeting', reason: `${where} (TLS): ${g.reason}`, details };
      phases.greeting = secondsSince(t2);
      if (opts.bye) secure.write(opts.bye);
    }
    return { outcome: 'ok', phases: { ...phases, total: secondsSince(t0) }, details };
  })();
  return withTimeout(work, opts.timeoutMs, signal, (): ProbeResult => ({
    outcome: 'timeout', phases: { ...phases, total: secondsSince(t0) }, failedPhase: phase,
    reason: `${where}: ${phase === 'connect' ? 'no connection' : phase === 'tls' ? 'TLS handshake not finished' : 'no greeting'} within ${(opts.timeoutMs / 1000).toFixed(1)} s`,
  })).finally(() => { secure?.destroy(); raw.destroy(); });
};
