/**
 * LDAP probe (the directory deep check) with ldapts — no `ldapsearch` binary: connect (ldap://,
 * ldaps:// or StartTLS), simple bind (anonymous unless a bind DN is given), a base search of
 * `cn=monitor` for `version` / `monitoredInfo`, unbind. Invalid credentials are a configuration
 * error, not a server failure (as in the ClusterLabs slapd agent). A server without a monitor
 * backend answers noSuchObject: it did answer, so that is healthy, with a note.
 *
 * Guarantees: one deadline (ldapts's timers are set past it); bounded in bytes: every byte the
 * server sends passes a ByteCap (1 MiB in all) and BerFrames, which hands ldapts whole messages
 * only (a message announced over 256 KiB is refused from its header, before any of it is
 * buffered; more than 100 messages are refused, so endless search entries end too); a bind
 * with a DN over TLS (ldaps or StartTLS) verifies the certificate and host name (trust.ts), an
 * anonymous one does not unless asked; the socket is destroyed when the probe ends; no secret
 * in the result.
 */
import type * as net from 'node:net';
import { Client, InsufficientAccessError, InvalidCredentialsError, NoSuchObjectError } from 'ldapts';
import { BerFrames } from './transport/ber-frames';
import { ByteCap } from './transport/byte-cap';
import type { ProtocolOptions, ProtocolProbe, ProtocolTarget } from './transport/options';
import { ProbeFailure, certificateFailure, describeError, runProbe, type ProbeContext } from './transport/run-probe';
import { trustFor } from './transport/socket';
import { connectOptions } from './transport/trust';
import type { ProbeResult } from './types';

/** The parts of ldapts's Client used here: its connect, its socket, and the reader of that socket. */
interface ClientInternals { _connect(): Promise<void> | void; socket?: net.Socket; socketDataHandler: (data: Buffer) => void }

/**
 * Puts BerFrames and a ByteCap in front of ldapts's reader, which then sees whole messages only.
 * ldapts registers `socketDataHandler` on its socket when it connects (and on the TLS socket
 * after StartTLS), so replacing it before the connect guards every byte it will ever parse.
 */
function guardReader(ctx: ProbeContext, inner: ClientInternals): void {
  const parse = inner.socketDataHandler;
  const frames = new BerFrames();
  const cap = new ByteCap(ctx);
  let refused = false;
  inner.socketDataHandler = (data: Buffer) => {
    if (refused) return;
    if (!cap.add(data, inner.socket)) { refused = true; return; }
    const framed = frames.feed(data);
    if ('problem' in framed) {
      refused = true;
      inner.socket?.destroy();
      ctx.refuse(new ProbeFailure(framed.problem));
      return;
    }
    for (const message of framed.messages) parse(message);
  };
}

function firstValue(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.length ? firstValue(v[0]) : undefined;
  if (v === undefined || v === null) return undefined;
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

export const probeLdap: ProtocolProbe = (target: ProtocolTarget, options: ProtocolOptions, signal?: AbortSignal): Promise<ProbeResult> =>
  runProbe(options.timeoutMs, signal, async (ctx) => {
    const mode = target.tls ?? 'none';
    const url = `${mode === 'implicit' ? 'ldaps' : 'ldap'}://${target.host}:${target.port}`;
    const bindDn = options.bindDn ?? options.user;
    const trust = trustFor(target, options, bindDn !== undefined);
    const tlsOptions = connectOptions(trust, target.host);
    const slack = ctx.remaining() + 1000;
    // ldapts turns TLS on whenever tlsOptions are given, so they go only with ldaps://.
    const client = new Client({ url, timeout: slack, connectTimeout: slack, ...(mode === 'implicit' ? { tlsOptions } : {}) });
    const inner = client as unknown as ClientInternals;
    guardReader(ctx, inner);
    ctx.defer(() => inner.socket?.destroy());

    ctx.enter('connect');
    try {
      await inner._connect();
    } catch (err) {
      throw certificateFailure(err) ?? new ProbeFailure(`cannot connect to ${url}: ${describeError(err)}`);
    }
    if (mode === 'starttls') {
      ctx.enter('tls');
      await client.startTLS(tlsOptions);
    }

    if (bindDn !== undefined) {
      ctx.enter('login');
      try {
        await client.bind(bindDn, options.password ?? '');
      } catch (err) {
        if (err instanceof InvalidCredentialsError) {
          throw new ProbeFailure(`bind as "${bindDn}" refused: invalid credentials`, { configurationError: true });
        }
        throw new ProbeFailure(`bind as "${bindDn}" failed: ${describeError(err)}`);
      }
    }

    ctx.enter('command');
    const base = options.searchBase ?? 'cn=monitor';
    let note: string;
    try {
      const { searchEntries } = await client.search(base, { scope: 'base', filter: '(objectClass=*)', attributes: options.attributes ?? ['version', 'monitoredInfo'], sizeLimit: 1 });
      const e = searchEntries[0];
      const version = firstValue(e?.version) ?? firstValue(e?.monitoredInfo) ?? firstValue(e?.monitoredinfo);
      if (version) ctx.details.version = version.slice(0, 120);
      note = version ? `base search of ${base} answered (${version.slice(0, 60)})` : `base search of ${base} answered without a version`;
    } catch (err) {
      if (err instanceof NoSuchObjectError) note = `the server answered but has no ${base} entry`;
      else if (err instanceof InsufficientAccessError) throw new ProbeFailure(`search of ${base} not allowed for this bind`, { configurationError: true });
      else throw new ProbeFailure(`search of ${base} failed: ${describeError(err)}`);
    }

    ctx.enter('logout');
    await client.unbind();
    return note;
  });
