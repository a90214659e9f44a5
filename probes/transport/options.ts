/**
 * The target and options every protocol probe takes. One shape for all, so the registry can
 * hand any probe the same call; each probe reads the fields that concern it.
 */
import type { ProbeResult, ProbeTarget } from '../types';
import type { LineLimits } from './line-reader';
import type { TlsMode } from './socket';
import type { TlsOptions } from './trust';

export interface ProtocolTarget extends ProbeTarget {
  /** 'implicit' = TLS from the first byte (imaps, pops, https, ldaps); 'starttls' = upgrade in-protocol. */
  tls?: TlsMode;
  /** SNI / verification name (overrides options.servername). */
  servername?: string;
}

export interface ProtocolOptions extends TlsOptions, LineLimits {
  /** The whole transaction must end within this many milliseconds. */
  timeoutMs: number;
  /** Test account; without it the probe stops after the greeting (a banner-level check). */
  user?: string;
  password?: string;
  /** smtp/lmtp: the RCPT TO address (LDAPTestUser@domain of MsgHost). */
  recipient?: string;
  /** smtp/lmtp: name sent in EHLO/LHLO (default: this host's name). */
  clientName?: string;
  /** imap: mailbox to open (default INBOX) and whether read-only (EXAMINE, default true). */
  mailbox?: string;
  examine?: boolean;
  /** http: page fetched first (default '/'); login path (default '/login') and method (default GET + Basic). */
  path?: string;
  loginPath?: string;
  loginMethod?: 'GET' | 'POST';
  /** http, admin: largest answer body (default 1 MiB); a longer one fails the probe, unread. */
  maxBodyBytes?: number;
  /** ldap: bind DN (anonymous when unset); search base (default cn=monitor) and attributes. */
  bindDn?: string;
  searchBase?: string;
  attributes?: string[];
  /** admin: path that reads back the port, and the port expected in the answer (default target.port). */
  expectPort?: number;
  /** tcp/tls: prefix the first line must start with (unset = connect or handshake only). */
  greeting?: string;
  /** tcp/tls: sent after a good greeting (e.g. "a1 LOGOUT\r\n"); the probe does not wait for the reply. */
  bye?: string;
  /** command: program and its arguments (no shell). */
  command?: string;
  args?: string[];
}

export type ProtocolProbe = (target: ProtocolTarget, options: ProtocolOptions, signal?: AbortSignal) => Promise<ProbeResult>;
