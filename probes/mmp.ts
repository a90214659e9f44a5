/**
 * Multiplexor (MMP) probes: an IMAP or POP login through the proxy. The proxy speaks the
 * protocol itself, so these are the IMAP and POP3 probes aimed at the MMP's ports; without a
 * test user they are banner-level checks: more than a connection to the port, since the proxy
 * must greet.
 */
import { probeImap } from './imap';
import { probePop3 } from './pop3';
import type { ProtocolProbe } from './transport/options';

export const probeMmpImap: ProtocolProbe = (target, options, signal) => probeImap(target, options, signal);
export const probeMmpPop: ProtocolProbe = (target, options, signal) => probePop3(target, options, signal);
