/**
 * HTTP(S) probe, the webmail synthetic transaction: GET of the login page, then an authenticated
 * login of the test user (GET with Basic authentication, or POST of a form), which makes the
 * webmail daemon log in to the store — so a hung webmail or a webmail that can no longer reach
 * IMAP is noticed. Without a user, only the GET of the page.
 *
 * Guarantees: one deadline; bodies bounded (1 MiB by default: a longer one fails, unread);
 * sockets always released; over HTTPS the certificate and host name are verified when the test
 * user logs in (trust.ts), not for a page fetch alone unless asked; 401/403 to the test user is
 * a configuration error.
 */
import type { ProtocolOptions, ProtocolProbe, ProtocolTarget } from './transport/options';
import { HttpSession, basicAuth } from './transport/http-request';
import { ProbeFailure, runProbe } from './transport/run-probe';
import { openStream, trustFor } from './transport/socket';
import type { ProbeResult } from './types';

export const probeHttp: ProtocolProbe = (target: ProtocolTarget, options: ProtocolOptions, signal?: AbortSignal): Promise<ProbeResult> =>
  runProbe(options.timeoutMs, signal, async (ctx) => {
    const mode = target.tls ?? 'none';
    // The login rides on the same connection as the first GET: trusted from the first byte.
    const trust = trustFor(target, options, options.user !== undefined);
    const socket = await openStream(ctx, target, mode, trust);
    const session = new HttpSession(ctx, target, socket, mode, trust, options.maxBodyBytes);
    const page = options.path ?? '/';

    ctx.enter('greeting');
    const first = await session.request({ method: 'GET', path: page });
    ctx.details.status = first.status;
    if (first.status < 200 || first.status >= 400) throw new ProbeFailure(`GET ${page} answered ${first.status}`);
    if (options.user === undefined) return `GET ${page} answered ${first.status}`;

    ctx.enter('login');
    const loginPath = options.loginPath ?? '/login';
    const method = options.loginMethod ?? 'GET';
    const answer = method === 'GET'
      ? await session.request({ method, path: loginPath, headers: { Authorization: basicAuth(options.user, options.password ?? '') } })
      : await session.request({ method, path: loginPath, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ user: options.user, password: options.password ?? '' }).toString() });
    ctx.details.loginStatus = answer.status;
    if (answer.status === 401 || answer.status === 403) {
      throw new ProbeFailure(`${method} ${loginPath} refused the test user (${answer.status})`, { configurationError: true });
    }
    if (answer.status < 200 || answer.status >= 400) throw new ProbeFailure(`${method} ${loginPath} answered ${answer.status}`);
    return `GET ${page} and the login of the test user succeeded`;
  });
