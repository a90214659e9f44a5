/**
 * The one IPv4 parser: dotted quads, ADDR/PREFIX, and the domain of a host name (an address
 * has none). Pure functions; nothing here touches the network.
 */

/** 0–255 without leading zeros ('010' is not an octet: some tools read it as octal). */
const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function isIPv4(value: string): boolean {
  const parts = value.split('.');
  return parts.length === 4 && parts.every((p) => OCTET.test(p));
}

export interface IPv4Cidr { address: string; prefix: number }

/** Parses `A.B.C.D/N` (N 0–32); undefined when malformed. */
export function parseIPv4Cidr(value: string): IPv4Cidr | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(value);
  if (!m || !isIPv4(m[1]!)) return undefined;
  const prefix = Number(m[2]);
  return prefix <= 32 ? { address: m[1]!, prefix } : undefined;
}

/** The domain part of a host name (`mail.example.com` → `example.com`); undefined for an address or a bare name. */
export function domainOf(host: string): string | undefined {
  const name = host.replace(/\.$/, '');
  if (isIPv4(name) || name.includes(':')) return undefined;
  const i = name.indexOf('.');
  return i > 0 ? name.slice(i + 1) : undefined;
}

/** A network interface name as the kernel takes it (at most 15 characters). */
export const INTERFACE_NAME = /^[A-Za-z0-9_.:@-]{1,15}$/;
