/**
 * Value parsers of a cluster file shared by validation and the agents: host names and
 * one-or-many lists. Pure functions; they never touch the network or the file system. IPv4
 * addresses are core/net.ts's, command lines core/argv.ts's.
 */
import { isIPv4 } from '../core/net';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** A DNS name: one or more labels, total ≤ 253 characters, not all-numeric (that is an address). */
export function isHostName(value: string): boolean {
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  if (!labels.every((l) => LABEL.test(l))) return false;
  return !/^\d+$/.test(labels[labels.length - 1]!);
}

/** A fully qualified name: a host name with at least two labels. */
export function isFqdn(value: string): boolean {
  return isHostName(value) && value.replace(/\.$/, '').includes('.');
}

/** FQDN, short host name or IPv4 address. */
export function isHost(value: string): boolean {
  return isIPv4(value) || isHostName(value);
}

/** An attribute that takes one value or a list of them (kind 'paths'): the non-empty strings. */
export function listOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((x) => String(x).trim()).filter(Boolean);
  return typeof value === 'string' && value.trim() ? [value.trim()] : [];
}

/** The longest delay a Node timer holds (2^31−1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * The longest time, in whole seconds, a timing attribute may give (2,147,423 s): the agents,
 * the coordinator and PM2 turn it into a timer and add up to a minute of slack to it.
 */
export const MAX_TIMER_SECONDS = Math.floor((MAX_TIMER_MS - 60_000) / 1000);

/** C0 and C1 control characters (newline, escape, …) and DEL. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** True when `value` holds a control character: never in a name, a path, a user or a command's program. */
export function hasControlChar(value: string): boolean {
  return CONTROL.test(value);
}

/** Why a value is not an absolute path we accept (a string, absolute, no control character), or undefined. */
export function pathProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '' || !value.startsWith('/')) return 'must be an absolute path';
  if (hasControlChar(value)) return 'must not contain control characters (NUL, newline, escape, …)';
  return undefined;
}
