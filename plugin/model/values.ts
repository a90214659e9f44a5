/**
 * Small value parsers shared by validation and the agents: host names, IPv4 addresses and
 * command lines. Pure functions; they never touch the network or the file system.
 */

const IPV4_PART = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

export function isIPv4(value: string): boolean {
  const parts = value.split('.');
  return parts.length === 4 && parts.every((p) => IPV4_PART.test(p));
}

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

/** The domain part of a FQDN (`mail.example.com` → `example.com`). */
export function domainOf(fqdn: string): string {
  const name = fqdn.replace(/\.$/, '');
  return name.slice(name.indexOf('.') + 1);
}

/** Parses `A.B.C.D/N`; undefined when malformed. */
export function parseIPv4Cidr(value: string): { address: string; prefix: number } | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(value);
  if (!m || !isIPv4(m[1]!)) return undefined;
  const prefix = Number(m[2]);
  return prefix >= 0 && prefix <= 32 ? { address: m[1]!, prefix } : undefined;
}

/**
 * Splits a command attribute into argv. A string is split on white space, with '…' and "…"
 * grouping words (no other shell syntax: commands never run through a shell); an array is
 * taken as argv already. Undefined when the value is neither or a quote is not closed.
 */
export function splitCommand(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.every((v) => typeof v === 'string') ? [...value] : undefined;
  if (typeof value !== 'string') return undefined;
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (const ch of value) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) return undefined;
  if (inWord) argv.push(word);
  return argv;
}

/** An attribute that takes one value or a list of them (kind 'paths'): the non-empty strings. */
export function listOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((x) => String(x).trim()).filter(Boolean);
  return typeof value === 'string' && value.trim() ? [value.trim()] : [];
}
