/**
 * Administration server probe: with AdminUser, an authenticated GET of
 * `/admin-serv/tasks/configuration/getPort` (HTTPS when the target says TLS) whose answer must
 * read back `configuration.nsserverport = <port>`; without a user, a TCP connection to AdminPort
 * (plus a full TLS handshake when it speaks HTTPS).
 *
 * Guarantees: one deadline, a bounded body, sockets released; any status but 200 is a failure,
 * and a 401/403 a configuration error (wrong AdminUser/AdminPasswd); a different port in the
 * answer is a failure. Over HTTPS the authenticated GET verifies the certificate and host name
 * (trust.ts); the connection check without a user does not, unless asked.
 */
import { HttpSession, basicAuth } from './transport/http-request';
import type { ProtocolOptions, ProtocolProbe, ProtocolTarget } from './transport/options';
import { ProbeFailure, runProbe } from './transport/run-probe';
import { openStream, trustFor } from './transport/socket';
import type { ProbeResult } from './types';

export const ADMIN_PORT_PATH = '/admin-serv/tasks/configuration/getPort';

/** Why the answer does not read back `expected`, or undefined when it does. */
function portProblem(body: string, expected: number): string | undefined {
  const m = /configuration\.nsserverport\s*[:=]\s*(\d+)/i.exec(body);
  if (!m) return 'the answer has no configuration.nsserverport';
  return Number(m[1]) === expected ? undefined : `the server says its port is ${m[1]}, not ${expected}`;
}

/** The authenticated GET of the read-back path (phase login), then the check of its body. */
function readBackPort(target: ProtocolTarget, options: ProtocolOptions, user: string, tls: boolean, signal?: AbortSignal): Promise<ProbeResult> {
  return runProbe(options.timeoutMs, signal, async (ctx) => {
    const mode = tls ? 'implicit' : 'none';
    const trust = trustFor(target, options, true);
    const socket = await openStream(ctx, target, mode, trust);
    const session = new HttpSession(ctx, target, socket, mode, trust, options.maxBodyBytes);
    const path = options.path ?? ADMIN_PORT_PATH;
    ctx.enter('login');
    const answer = await session.request({ method: 'GET', path, headers: { Authorization: basicAuth(user, options.password ?? '') } });
    ctx.details.status = answer.status;
    if (answer.status !== 200) {
      const refused = answer.status === 401 || answer.status === 403;
      throw new ProbeFailure(`GET ${path} answered ${answer.status}, expected 200`, { configurationError: refused });
    }
    const bad = portProblem(answer.body, options.expectPort ?? target.port);
    if (bad) throw new ProbeFailure(`GET ${path}: ${bad}`, { phase: 'command' });
    return `GET ${path} answered ${answer.status}`;
  });
}

export const probeAdmin: ProtocolProbe = (target: ProtocolTarget, options: ProtocolOptions, signal?: AbortSignal): Promise<ProbeResult> => {
  const tls = (target.tls ?? 'none') === 'implicit';
  if (options.user === undefined) {
    return runProbe(options.timeoutMs, signal, async (ctx) => {
      const socket = await openStream(ctx, target, tls ? 'implicit' : 'none', trustFor(target, options, false));
      socket.end();
      return tls ? 'TLS handshake with the administration server succeeded' : 'the administration port accepts connections';
    });
  }
  return readBackPort(target, options, options.user, tls, signal);
};
