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
