/**
 * Administration server probe (SPEC §2.2): with AdminUser, an authenticated GET of
 * `/admin-serv/tasks/configuration/getPort` (HTTPS when the target says TLS) whose answer must
 * read back `configuration.nsserverport = <port>`; without a user, a TCP connection to AdminPort
 * (plus a full TLS handshake when it speaks HTTPS).
 *
 * Guarantees: those of httpProbe (one deadline, bounded body, sockets released); a 401/403 is a
 * configuration error (wrong AdminUser/AdminPasswd); a different port in the answer is a failure.
 */
import { httpProbe } from './http';
import type { ProtocolOptions, ProtocolProbe, ProtocolTarget } from './transport/options';
import { runProbe } from './transport/run-probe';
import { openStream } from './transport/socket';
import type { ProbeResult } from './types';

export const ADMIN_PORT_PATH = '/admin-serv/tasks/configuration/getPort';

export const probeAdmin: ProtocolProbe = (target: ProtocolTarget, options: ProtocolOptions, signal?: AbortSignal): Promise<ProbeResult> => {
  const tls = (target.tls ?? 'none') === 'implicit';
  const servername = target.servername ?? options.servername;
  if (options.user === undefined) {
    return runProbe(options.timeoutMs, signal, async (ctx) => {
      const socket = await openStream(ctx, target, tls ? 'implicit' : 'none', { ...options, servername });
      socket.end();
      return tls ? 'TLS handshake with the administration server succeeded' : 'the administration port accepts connections';
    });
  }
  const expected = options.expectPort ?? target.port;
  return httpProbe(target, {
    timeoutMs: options.timeoutMs,
    tls,
    path: options.path ?? ADMIN_PORT_PATH,
    auth: { user: options.user, password: options.password ?? '' },
    ...(servername ? { servername } : {}),
    ...(options.verifyCertificate !== undefined ? { verifyCertificate: options.verifyCertificate } : {}),
    ...(options.ca ? { ca: options.ca } : {}),
    checkBody: (body) => {
      const m = /configuration\.nsserverport\s*[:=]\s*(\d+)/i.exec(body);
      if (!m) return 'the answer has no configuration.nsserverport';
      return Number(m[1]) === expected ? undefined : `the server says its port is ${m[1]}, not ${expected}`;
    },
  }, signal);
};
