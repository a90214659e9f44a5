/**
 * Service name → probe. Every probe has the same call: `(target, options, signal) →
 * Promise<ProbeResult>`, never throws, and keeps no connection open between calls.
 *
 * Names: imap imaps pop pops smtp smtps lmtp http https ldap ldaps admin admins tcp tls command
 * mmp-imap mmp-imaps mmp-pop mmp-pops. The `s` forms default to implicit TLS; any probe can be
 * given `target.tls` ('implicit' | 'starttls' | 'none') explicitly.
 *
 * Probe modules load on a probe's first call, not with this registry: an agent holds only the
 * protocol code (imapflow, nodemailer, ldapts…) of the services it actually checks. A module
 * that cannot load gives a failed result naming the cause, never an exception.
 */
import { nowMs } from '../plugin/core/deadline';
import type { ProtocolProbe } from './transport/options';
import type { ProbeResult } from './types';

export type { ProtocolOptions, ProtocolProbe, ProtocolTarget } from './transport/options';

/** A probe-shaped function whose module is required at its first call (then kept). */
function lazy<A extends unknown[]>(load: () => Promise<(...args: A) => Promise<ProbeResult>>): (...args: A) => Promise<ProbeResult> {
  let loading: Promise<(...args: A) => Promise<ProbeResult>> | undefined;
  return async (...args: A) => {
    let probe: (...args: A) => Promise<ProbeResult>;
    try {
      loading ??= load();
      probe = await loading;
    } catch (err) {
      loading = undefined; // a later call may try again
      return { outcome: 'fail', phases: { total: 0 }, failedPhase: 'connect', reason: `probe code cannot be loaded: ${firstLine(err)}` };
    }
    return probe(...args);
  };
}

function firstLine(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

// Dynamic import compiles to require() in the CommonJS build; vitest follows it to the .ts source.
const probeImap: ProtocolProbe = lazy(async () => (await import('./imap')).probeImap);
const probePop3: ProtocolProbe = lazy(async () => (await import('./pop3')).probePop3);
const probeSmtp: ProtocolProbe = lazy(async () => (await import('./smtp')).probeSmtp);
const probeLmtp: ProtocolProbe = lazy(async () => (await import('./smtp')).probeLmtp);
const probeHttp: ProtocolProbe = lazy(async () => (await import('./http')).probeHttp);
const probeLdap: ProtocolProbe = lazy(async () => (await import('./ldap')).probeLdap);
const probeAdmin: ProtocolProbe = lazy(async () => (await import('./admin')).probeAdmin);
const probeMmpImap: ProtocolProbe = lazy(async () => (await import('./mmp')).probeMmpImap);
const probeMmpPop: ProtocolProbe = lazy(async () => (await import('./mmp')).probeMmpPop);
const probeTcp: ProtocolProbe = lazy(async () => (await import('./tcp')).probeTcp);
const probeTls: ProtocolProbe = lazy(async () => (await import('./tls')).probeTls);
const probeCommand: ProtocolProbe = lazy(async () => (await import('./command')).probeCommand);

type Resolved = import('./transport/socket').Resolved;
async function resolveHost(host: string, timeoutMs: number, signal?: AbortSignal): Promise<Resolved> {
  try {
    return (await import('./transport/socket')).resolveHost(host, timeoutMs, signal);
  } catch (err) {
    return { error: `resolver code cannot be loaded: ${firstLine(err)}`, timeout: false };
  }
}

const withTls = (probe: ProtocolProbe): ProtocolProbe =>
  (target, options, signal) => probe({ ...target, tls: target.tls ?? 'implicit' }, options, signal);

/** tcp with a TLS mode given is the tls probe (connect, then the handshake). */
const tcpOrTls: ProtocolProbe = (target, options, signal) =>
  ((target.tls ?? 'none') === 'none' ? probeTcp : probeTls)(target, options, signal);

/**
 * Resolves the target's name before the probe runs, so libraries that take a host string
 * (imapflow, nodemailer, ldapts) and our own sockets all meet the same address — including
 * `.localhost` names the system resolver may not know (RFC 6761 §6.3). The name stays the TLS
 * servername. Resolution time counts in the deadline and in phase `connect`.
 */
function resolving(probe: ProtocolProbe): ProtocolProbe {
  return async (target, options, signal) => {
    const t0 = nowMs();
    const r = await resolveHost(target.host, options.timeoutMs, signal);
    const spent = Math.round(nowMs() - t0) / 1000;
    if ('error' in r) {
      return { outcome: r.timeout ? 'timeout' : 'fail', phases: { connect: spent, total: spent }, failedPhase: 'connect',
        reason: `cannot resolve ${target.host}: ${r.error}` };
    }
    if (r.address === target.host) return probe(target, options, signal);
    const servername = target.servername ?? options.servername ?? target.host;
    const result = await probe({ ...target, host: r.address, servername }, { ...options, timeoutMs: Math.max(1, options.timeoutMs - spent * 1000) }, signal);
    if (spent > 0) {
      result.phases.connect = Math.round(((result.phases.connect ?? 0) + spent) * 1000) / 1000;
      result.phases.total = Math.round(((result.phases.total ?? 0) + spent) * 1000) / 1000;
    }
    return result;
  };
}

const HOST_PROBES: Readonly<Record<string, ProtocolProbe>> = {
  imap: probeImap,
  imaps: withTls(probeImap),
  pop: probePop3,
  pops: withTls(probePop3),
  smtp: probeSmtp,
  smtps: withTls(probeSmtp),
  lmtp: probeLmtp,
  http: probeHttp,
  https: withTls(probeHttp),
  ldap: probeLdap,
  ldaps: withTls(probeLdap),
  admin: probeAdmin,
  admins: withTls(probeAdmin),
  tcp: tcpOrTls,
  tls: probeTls,
  'mmp-imap': probeMmpImap,
  'mmp-imaps': withTls(probeMmpImap),
  'mmp-pop': probeMmpPop,
  'mmp-pops': withTls(probeMmpPop),
};

const PROBES: Readonly<Record<string, ProtocolProbe>> = {
  ...Object.fromEntries(Object.entries(HOST_PROBES).map(([name, probe]) => [name, resolving(probe)])),
  command: probeCommand,
};

/** Every service name `getProbe` knows. */
export const PROBE_NAMES: readonly string[] = Object.keys(PROBES);

/**
 * The probe of a service name, or undefined for a name with no probe — services with no deep
 * check (snmp, ens) included: callers leave those out.
 */
export function getProbe(service: string): ProtocolProbe | undefined {
  return Object.prototype.hasOwnProperty.call(PROBES, service) ? PROBES[service] : undefined;
}

/**
 * 'any': act on every failure; 'timeout-only': the NetscapeMsg policy (ProbeFailurePolicy) — act
 * only when the server did not answer in time, so a merely refusing or slow-but-answering server
 * never causes a failover. Configuration errors are never acted on by restarting: the caller
 * reports them and waits for the operator (the result says so with `configurationError`).
 */
export type ProbePolicy = 'any' | 'timeout-only';

/** Whether the caller should act (restart / fail over) on this result under `policy`. */
export function actsOn(result: ProbeResult, policy: ProbePolicy = 'any'): boolean {
  if (result.outcome === 'ok') return false;
  if (result.outcome === 'timeout') return true;
  return policy === 'any';
}
