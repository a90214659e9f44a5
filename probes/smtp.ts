/**
 * SMTP and LMTP synthetic transaction with nodemailer's SMTP connection: banner, EHLO / LHLO,
 * optional STARTTLS (or implicit TLS), AUTH when credentials are given, `MAIL FROM:<>`,
 * `RCPT TO:<recipient>`, RSET, QUIT. It never sends DATA, so no message is ever delivered.
 *
 * Guarantees: one deadline (nodemailer's timers are set past it); replies are bounded (64 KiB)
 * and so is everything read in all (a ByteCap in bytes and lines on the plain and the TLS
 * socket); with a user, TLS (smtps or STARTTLS) verifies the certificate and host name before
 * AUTH (trust.ts); the socket is always destroyed; AUTH refused with 535 is a configuration
 * error; a recipient refused with 5xx is reported as a failure (the test address is wrong or the
 * store rejects it). MAIL/RCPT/RSET/QUIT go through the connection's own command queue (internal
 * methods of nodemailer, the only part it does not expose: its public send() always ends with
 * DATA).
 */
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import SMTPConnection, { type SMTPConnectionOptions } from 'nodemailer/lib/smtp-connection';
import { ByteCap, MAX_CONNECTION_LINES } from './transport/byte-cap';
import type { ProtocolOptions, ProtocolProbe, ProtocolTarget } from './transport/options';
import { ProbeFailure, clean, describeError, runProbe } from './transport/run-probe';
import { noteCertificate, openStream, trustFor, watchCertificate } from './transport/socket';
import { connectOptions } from './transport/trust';
import type { ProbeResult } from './types';

/** The internal surface of SMTPConnection used here (stable across nodemailer 6–10). */
interface ConnectionInternals {
  _sendCommand(line: string): void;
  _responseActions: Array<(reply: string) => void>;
  _upgradeConnection(callback: (err?: Error | null) => void): void;
  _socket: net.Socket | tls.TLSSocket | false;
}

/** Longest reply accepted from the server (a long EHLO list is a few hundred bytes). */
const MAX_REPLY_BYTES = 64 * 1024;

function makeProbe(lmtp: boolean): ProtocolProbe {
  return (target: ProtocolTarget, options: ProtocolOptions, signal?: AbortSignal): Promise<ProbeResult> =>
    runProbe(options.timeoutMs, signal, async (ctx) => {
      const mode = target.tls ?? 'none';
      const servername = target.servername ?? options.servername;
      const trust = trustFor(target, options, options.user !== undefined);
      const socket = await openStream(ctx, target, mode, trust);
      ctx.enter('greeting');
      socket.once('data', () => { if (ctx.current() === 'greeting') ctx.enter('login'); });
      // Counted from now: nodemailer attaches its reader in connect(), in this same tick.
      const cap = new ByteCap(ctx, { maxLines: MAX_CONNECTION_LINES });
      cap.watch(socket);

      const slack = ctx.remaining() + 1000;
      const conn = new SMTPConnection({
        connection: socket,
        // Its host (default 'localhost') is the name its STARTTLS handshake checks: the one we connected to.
        host: target.host,
        ...(servername ? { servername } : {}),
        secure: mode === 'implicit',
        secured: mode === 'implicit',
        requireTLS: mode === 'starttls',
        ignoreTLS: mode === 'none',
        lmtp,
        ...(options.clientName ? { name: options.clientName } : {}),
        // The probe's Trust for the STARTTLS handshake nodemailer runs itself.
        tls: connectOptions(trust, target.host),
        connectionTimeout: slack,
        greetingTimeout: slack,
        socketTimeout: slack,
        logger: false,
        debug: false,
        socketCloseTimeout: 0,
        maxResponseSize: MAX_REPLY_BYTES,
      } as SMTPConnectionOptions);
      const inner = conn as unknown as ConnectionInternals;
      ctx.defer(() => { try { conn.close(); } catch { /* closed */ } });

      // Time the STARTTLS handshake as phase tls (nodemailer runs it inside connect()).
      const upgrade = inner._upgradeConnection.bind(conn);
      inner._upgradeConnection = (callback) => {
        ctx.enter('tls');
        upgrade((err) => {
          if (!err && inner._socket && 'getPeerCertificate' in inner._socket) {
            noteCertificate(ctx, inner._socket);
            cap.watch(inner._socket);
          }
          ctx.enter('login');
          callback(err);
        });
        // nodemailer renames a refused certificate's error (ETLS): caught at the source.
        if (inner._socket && 'getPeerCertificate' in inner._socket) watchCertificate(ctx, inner._socket);
      };

      // Any error or end of the connection ends the transaction, whatever step was waiting.
      const broken = new Promise<never>((_, reject) => {
        conn.on('error', (err: Error) => reject(err));
        conn.once('end', () => reject(new ProbeFailure('the server closed the connection')));
      });
      broken.catch(() => undefined);
      const step = <T>(p: Promise<T>): Promise<T> => Promise.race([p, broken]);

      await step(new Promise<void>((resolve, reject) => conn.connect((err?: Error) => (err ? reject(err) : resolve()))))
        .catch((err: unknown) => {
          const code = (err as { code?: string }).code;
          // A greeting that is not 220 is a bad banner, not a login problem.
          if (code === 'EPROTOCOL' && /greeting/i.test(describeError(err))) throw new ProbeFailure(describeError(err), { phase: 'greeting' });
          if (ctx.current() === 'greeting' && code !== 'ETIMEDOUT') throw new ProbeFailure(`no SMTP banner: ${describeError(err)}`, { phase: 'greeting' });
          throw err;
        });
      if (ctx.current() === 'greeting') ctx.enter('login');

      if (options.user !== undefined) {
        await step(new Promise<void>((resolve, reject) => {
          conn.login({ user: options.user ?? '', pass: options.password ?? '' }, (err?: Error | null) => {
            if (!err) return resolve();
            const code = (err as { responseCode?: number }).responseCode;
            reject(new ProbeFailure(`AUTH was refused: ${describeError(err)}`, { configurationError: code === 535 }));
          });
        }));
      }

      const command = (line: string, accept: RegExp, what: string): Promise<string> => step(new Promise<string>((resolve, reject) => {
        inner._responseActions.push((reply: string) => {
          if (accept.test(reply)) resolve(reply);
          else reject(new ProbeFailure(`${what} was refused: '${clean(reply, 120)}'`));
        });
        inner._sendCommand(line);
      }));

      ctx.enter('command');
      await command('MAIL FROM:<>', /^250/, 'MAIL FROM');
      if (options.recipient) {
        if (/[\r\n<>]/.test(options.recipient)) throw new ProbeFailure('the recipient address contains forbidden characters', { configurationError: true });
        await command(`RCPT TO:<${options.recipient}>`, /^25[01]/, 'RCPT TO');
      }
      await command('RSET', /^250/, 'RSET');

      ctx.enter('logout');
      await command('QUIT', /^221/, 'QUIT');
      conn.close();
      return `${lmtp ? 'LMTP' : 'SMTP'} banner, ${lmtp ? 'LHLO' : 'EHLO'}${options.user !== undefined ? ', AUTH' : ''}, MAIL FROM, ${options.recipient ? 'RCPT TO, ' : ''}RSET and QUIT succeeded`;
    });
}

export const probeSmtp: ProtocolProbe = makeProbe(false);
export const probeLmtp: ProtocolProbe = makeProbe(true);
