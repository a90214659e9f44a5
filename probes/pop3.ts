/**
 * POP3 synthetic transaction (small own client): greeting, optional STLS or implicit TLS (pops),
 * USER/PASS, STAT, QUIT. Without a user it is a banner-level check (greeting, QUIT).
 *
 * Guarantees: bounded lines and total bytes (transport/line-reader), one deadline, the socket is
 * always destroyed; with a user, TLS (pops or STLS) verifies the certificate and host name
 * before USER/PASS are sent (trust.ts); a rejected login whose reply carries RFC 3206's [AUTH]
 * code (bad credentials) is a configuration error, any other -ERR at login is the server's
 * failure.
 */
import { LineReader, excerpt } from './transport/line-reader';
import type { ProtocolOptions, ProtocolProbe, ProtocolTarget } from './transport/options';
import { ProbeFailure, runProbe } from './transport/run-probe';
import { openStream, startTls, trustFor } from './transport/socket';
import type { ProbeResult } from './types';

async function expectOk(reader: LineReader, write: (line: string) => void, command: string | undefined, what: string): Promise<string> {
  if (command !== undefined) write(command);
  const line = await reader.readLine();
  if (!line.startsWith('+OK')) {
    const configurationError = what === 'PASS' && /^-ERR \[AUTH\]/i.test(line);
    throw new ProbeFailure(`${what} was refused: ${excerpt(line)}`, { configurationError });
  }
  return line;
}

export const probePop3: ProtocolProbe = (target: ProtocolTarget, options: ProtocolOptions, signal?: AbortSignal): Promise<ProbeResult> =>
  runProbe(options.timeoutMs, signal, async (ctx) => {
    const mode = target.tls ?? 'none';
    const trust = trustFor(target, options, options.user !== undefined);
    let socket = await openStream(ctx, target, mode, trust);
    const reader = new LineReader(socket, options, ctx.signal);
    const write = (line: string): void => { socket.write(`${line}\r\n`); };

    ctx.enter('greeting');
    const greeting = await reader.readLine();
    if (!greeting.startsWith('+OK')) throw new ProbeFailure(`not a POP3 greeting: ${excerpt(greeting)}`);

    if (mode === 'starttls') {
      await expectOk(reader, write, 'STLS', 'STLS');
      reader.detach();
      socket = await startTls(ctx, socket, target, trust);
      reader.attach(socket);
    }

    if (options.user !== undefined) {
      ctx.enter('login');
      // A line break in a credential would smuggle a second command onto the wire.
      if (/[\r\n]/.test(options.user + (options.password ?? ''))) throw new ProbeFailure('the user or password contains a line break', { configurationError: true });
      await expectOk(reader, write, `USER ${options.user}`, 'USER');
      await expectOk(reader, write, `PASS ${options.password ?? ''}`, 'PASS');
      ctx.enter('command');
      const stat = await expectOk(reader, write, 'STAT', 'STAT');
      const m = /^\+OK (\d+) (\d+)/.exec(stat);
      if (m) ctx.details.messages = Number(m[1]);
    }

    ctx.enter('logout');
    await expectOk(reader, write, 'QUIT', 'QUIT');
    reader.detach();
    socket.end();
    return options.user !== undefined ? 'POP3 login, STAT and QUIT succeeded' : 'POP3 greeting received';
  });
