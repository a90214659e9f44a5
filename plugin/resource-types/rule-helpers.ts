/**
 * Pieces the types' validation rules share: service names checked against a list, a test
 * account whose user and password attributes must come together, a network interface name.
 */
import { INTERFACE_NAME } from '../core/net';
import { str } from '../model/check-context';
import type { RuleInput } from './contract';

/** Each of `services` must be one of `allowed`; `why` ends the message (and, when empty, the hint lists the known names). */
export function checkServiceNames<N extends string>(r: RuleInput<N>, attribute: N, services: readonly string[], allowed: readonly string[], why: string): void {
  for (const s of services) {
    if (!allowed.includes(s)) r.error(attribute, `unknown service "${s}"${why}`, r.suggest(s, allowed, why === '') || undefined);
  }
}

/** A test user without its password cannot log in; a password without its user is never used. */
export function checkTestAccount<N extends string>(r: RuleInput<N>, user: N, passwd: N): void {
  if (r.given.has(user) && !r.given.has(passwd)) {
    r.warn(passwd, `${user} is set without ${passwd}: synthetic logins cannot run`, `add ${passwd} (msgha encrypt)`);
  }
  if (r.given.has(passwd) && !r.given.has(user)) r.warn(passwd, `is set without ${user} and is never used`);
}

/** The IP's and the NIC's Device: a name the kernel accepts for an interface. */
export function checkInterfaceName<N extends string>(r: RuleInput<N>, attribute: N): void {
  const device = str(r.attrs[attribute]);
  if (device !== undefined && !INTERFACE_NAME.test(device)) {
    r.error(attribute, `"${device}" is not a network interface name`, 'e.g. eth0 (at most 15 characters)');
  }
}
