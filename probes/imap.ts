/**
 * IMAP synthetic transaction with imapflow: connect, greeting, optional STARTTLS or implicit
 * TLS (imaps), LOGIN, EXAMINE (or SELECT) INBOX, LOGOUT. Without a user it is a banner-level
 * check done with the bounded line reader (greeting, LOGOUT) — imapflow always logs in.
 *
 * Guarantees: one deadline; imapflow's own timers are set past our deadline so ours decides; its
 * line, literal and response sizes are bounded, and so is everything it reads in all (a ByteCap
 * on its sockets, in bytes and in lines: a server streaming endless untagged responses is cut off
 * at the cap); with a user, TLS (imaps or STARTTLS) verifies the certificate and host name before
 * LOGIN (trust.ts); the sockets (ours and imapflow's) are destroyed when the probe ends; a login
 * refused with [AUTHENTICATIONFAILED] is a configuration error, one refused with [UNAVAILABLE]
 * (say, the directory is down) is the server's failure.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ImapFlow as ImapFlowClass } from 'imapflow';
import type { ImapTransport } from 'imapflow/dist/cjs/types';
import { ByteCap, MAX_CONNECTION_LINES } from './transport/byte-cap';
import { LineReader, excerpt } from './transport/line-reader';
import type { ProtocolOptions, ProtocolProbe, ProtocolTarget } from './transport/options';
import { ProbeFailure, certificateFailure, describeError, runProbe, type ProbeContext } from './transport/run-probe';
import { noteCertificate, openStream, openTcp, startTls, trustFor, watchCertificate } from './transport/socket';
import { connectOptions, type Trust } from './transport/trust';
import type { ProbeResult } from './types';

/** Bounds for imapflow's parser: a probe reads a greeting, a few short replies and a SELECT. */
const LIMITS = { maxLineLength: 64 * 1024, maxLiteralSize: 64 * 1024, maxResponseSize: 256 * 1024, maxResponseTokens: 10_000 };

async function bannerCheck(ctx: ProbeContext, target: ProtocolTarget, options: ProtocolOptions, trust: Trust): Promise<string> {
  const mode = target.tls ?? 'none';
  let socket = await openStream(ctx, target, mode, trust);
  const reader = new LineReader(socket, options, ctx.signal);
  ctx.enter('greeting');
  const greeting = await reader.readLine();
  if (!/^\* (OK|PREAUTH)\b/i.test(greeting)) throw new ProbeFailure(`not an IMAP greeting: ${excerpt(greeting)}`);
  const tagged = async (tag: string, command: string): Promise<string> => {
    socket.write(`${tag} ${command}\r\n`);
    for (;;) {
      const line = await reader.readLine();
      if (line.startsWith(`${tag} `)) return line;
    }
  };
  if (mode === 'starttls') {
    const answer = await tagged('s1', 'STARTTLS');
    if (!/^s1 OK/i.test(answer)) throw new ProbeFailure(`STARTTLS was refused: ${excerpt(answer)}`);
    reader.detach();
    socket = await startTls(ctx, socket, target, trust);
    reader.attach(socket);
  }
  ctx.enter('logout');
  const bye = await tagged('l1', 'LOGOUT');
  if (!/^l1 OK/i.test(bye)) throw new ProbeFailure(`LOGOUT was refused: ${excerpt(bye)}`);
  reader.detach();
  socket.end();
  return 'IMAP greeting received';
}

/**
 * Hands imapflow sockets we opened and timed, under the probe's Trust, and times its STARTTLS
 * upgrade as phase tls. Each socket is counted by `cap` once imapflow reads it (its pipe is set
 * up inside onConnect / onSecure).
 */
function timedTransport(ctx: ProbeContext, first: net.Socket, host: string, trust: Trust, implicit: boolean, cap: ByteCap): ImapTransport {
  const watchGreeting = (socket: net.Socket): void => {
    socket.once('data', () => { if (ctx.current() === 'greeting') ctx.enter('login'); });
  };
  return {
    connect: (_opts, onConnect) => {
      if (implicit) {
        ctx.enter('tls');
        const secure = tls.connect({ socket: first, ...connectOptions(trust, host) },
          () => { noteCertificate(ctx, secure); ctx.enter('greeting'); onConnect(); cap.watch(secure); });
        ctx.defer(() => secure.destroy());
        watchCertificate(ctx, secure);
        watchGreeting(secure);
        return secure;
      }
      ctx.enter('greeting');
      watchGreeting(first);
      setImmediate(() => { onConnect(); cap.watch(first); });
      return first;
    },
    upgrade: (socket, _opts, onSecure) => {
      ctx.enter('tls');
      const secure = tls.connect({ socket: socket as net.Socket, ...connectOptions(trust, host) },
        () => { noteCertificate(ctx, secure); ctx.enter('login'); onSecure(); cap.watch(secure); });
      ctx.defer(() => secure.destroy());
      watchCertificate(ctx, secure);
      return secure;
    },
  };
}

function loginFailure(err: unknown): ProbeFailure | undefined {
  const e = err as { authenticationFailed?: boolean; serverResponseCode?: string; response?: string };
  if (!e || !e.authenticationFailed) return undefined;
  const code = (e.serverResponseCode ?? '').toUpperCase();
  const configurationError = code === 'AUTHENTICATIONFAILED' || code === 'AUTHORIZATIONFAILED' || (!code && !/UNAVAILABLE/i.test(e.response ?? ''));
  return new ProbeFailure(`login was refused${code ? ` [${code}]` : ''}: ${describeError(e.response ? new Error(e.response) : err)}`, { configurationError });
}

export const probeImap: ProtocolProbe = (target: ProtocolTarget, options: ProtocolOptions, signal?: AbortSignal): Promise<ProbeResult> =>
  runProbe(options.timeoutMs, signal, async (ctx) => {
    if (options.user === undefined) return bannerCheck(ctx, target, options, trustFor(target, options, false));
    const trust = trustFor(target, options, true);
    const mode = target.tls ?? 'none';
    const socket = await openTcp(ctx, target);
    // imapflow's own timers only back ours up: they fire after our deadline.
    const slack = ctx.remaining() + 1000;
    // Loaded only for a login: imapflow costs ~15 MB of RSS, a banner check needs none of it.
    const { ImapFlow } = require('imapflow') as { ImapFlow: typeof ImapFlowClass };
    const client = new ImapFlow({
      host: target.host,
      port: target.port,
      secure: mode === 'implicit',
      doSTARTTLS: mode === 'starttls',
      auth: { user: options.user, pass: options.password ?? '', loginMethod: 'LOGIN' },
      logger: false,
      transport: timedTransport(ctx, socket, target.host, trust, mode === 'implicit', new ByteCap(ctx, { maxLines: MAX_CONNECTION_LINES })),
      disableCompression: true,
      disableAutoEnable: true,
      disableAutoIdle: true,
      connectionTimeout: slack,
      greetingTimeout: slack,
      socketTimeout: slack,
      ...LIMITS,
    });
    client.on('error', () => undefined);
    // imapflow sends ID before and after the login when the server offers it: two round trips
    // and two parses a probe has no use for so ID is skipped.
    const inner = client as unknown as { run(command: string, ...args: unknown[]): Promise<unknown> };
    const run = inner.run.bind(client);
    inner.run = (command: string, ...args: unknown[]) => (command === 'ID' ? Promise.resolve(undefined) : run(command, ...args));
    ctx.defer(() => { try { client.close(); } catch { /* already closed */ } });
    try {
      await client.connect();
    } catch (err) {
      const refused = certificateFailure(err);
      if (refused) throw refused;
      // Bytes arrived but imapflow never accepted them as a greeting: blame the greeting.
      const greeted = (client as unknown as { greetingReceived?: boolean }).greetingReceived === true;
      if (!greeted && !(err as { authenticationFailed?: boolean }).authenticationFailed) {
        throw new ProbeFailure(`no usable IMAP greeting: ${describeError(err)}`, { phase: 'greeting' });
      }
      throw loginFailure(err) ?? err;
    }
    if (ctx.current() === 'greeting') ctx.enter('login');
    ctx.enter('command');
    const mailbox = await client.mailboxOpen(options.mailbox ?? 'INBOX', { readOnly: options.examine ?? true });
    ctx.details.messages = mailbox.exists;
    ctx.enter('logout');
    await client.logout();
    return 'IMAP login, open of the mailbox and LOGOUT succeeded';
  });
