/**
 * LDAP probe (the directory deep check) with ldapts — no `ldapsearch` binary: connect (ldap://,
 * ldaps:// or StartTLS), simple bind (anonymous unless a bind DN is given), a base search of
 * `cn=monitor` for `version` / `monitoredInfo`, unbind. Invalid credentials are a configuration
 * error, not a server failure (as in the ClusterLabs slapd agent). A server without a monitor
 * backend answers noSuchObject: it did answer, so that is healthy, with a note.
 *
 * Guarantees: one deadline (ldapts's timers are set past it); the socket is destroyed when the
 * probe ends; no secret in the result.
 */
import type * as net from 'node:net';
import { Client, InsufficientAccessError, InvalidCredentialsError, NoSuchObjectError } from 'ldapts';
import type { ProtocolOptions, ProtocolProbe, ProtocolTarget } from './transport/options';
import { ProbeFailure, describeError, runProbe } from './transport/run-probe';
import type { ProbeResult } from './types';

interface ClientInternals { _connect(): Promise<void> | void; socket?: net.Socket }

function firstValue(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.length ? firstValue(v[0]) : undefined;
  if (v === undefined || v === null) return undefined;
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

export const probeLdap: ProtocolProbe = (target: ProtocolTarget, options: ProtocolOptions, signal?: AbortSignal): Promise<ProbeResult> =>
  runProbe(options.timeoutMs, signal, async (ctx) => {
    const mode = target.tls ?? 'none';
    const url = `${mode === 'implicit' ? 'ldaps' : 'ldap'}://${target.host}:${target.port}`;
    const servername = target.servername ?? options.servername;
    const tlsOptions = { rejectUnauthorized: options.verifyCertificate ?? false, ...(servername ? { servername } : {}), ...(options.ca ? { ca: options.ca } : {}) };
    const slack = ctx.remaining() + 1000;
    // ldapts turns TLS on whenever tlsOptions are given, so they go only with ldaps://.
    const client = new Client({ url, timeout: slack, connectTimeout: slack, ...(mode === 'implicit' ? { tlsOptions } : {}) });
    const inner = client as unknown as ClientInternals;
    ctx.defer(() => inner.socket?.destroy());

    ctx.enter('connect');
    try {
      await inner._connect();
    } catch (err) {
      throw new ProbeFailure(`cannot connect to ${url}: ${describeError(err)}`);
    }
    if (mode === 'starttls') {
      ctx.enter('tls');
      await client.startTLS(tlsOptions);
    }

    const bindDn = options.bindDn ?? options.user;
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
