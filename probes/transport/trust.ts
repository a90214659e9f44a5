/**
 * Whether a probe checks the server's certificate, and against which CAs.
 *
 * The rule: a probe that sends a login or a password over TLS verifies the certificate chain
 * and the host name by default, so the test account's password never goes to whoever answers
 * on the port. A banner-only probe sends nothing secret and stays unverified unless asked: a
 * liveness check must not fail on a self-signed certificate (the tls probe reports certificates
 * instead of judging them). The caller may add trusted CAs (PEM text, or a file read when the
 * probe runs) or turn verification off explicitly (`verifyCertificate: false`, which
 * `msgha validate` warns about as ProbeSSLVerify false).
 *
 * Guarantees: a CA file is read at most MAX_CA_FILE_BYTES and must hold a PEM certificate, else
 * the problem names the file; a refused certificate is described with OpenSSL's reason and the
 * way out (never a stack).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import type * as tls from 'node:tls';

/** What a caller says about TLS (ProtocolOptions extends it). */
export interface TlsOptions {
  /** Name for SNI and for the host-name check; defaults to the host when it is not an IP address. */
  servername?: string;
  /** Verify the chain and the host name. Unset: verified exactly when the probe sends credentials. */
  verifyCertificate?: boolean;
  /** Extra trusted CA certificates (PEM), e.g. a self-signed server certificate. */
  ca?: string | string[];
  /** A PEM file of trusted CA certificates (ProbeCAFile), read when the probe runs. */
  caFile?: string;
}

/** The decision for one probe: every TLS connection a probe makes takes one. */
export interface Trust {
  servername?: string;
  verify: boolean;
  ca?: string | string[];
}

/** A CA bundle is a few KiB; a larger file is not one. */
export const MAX_CA_FILE_BYTES = 1024 * 1024;

/** How the refusal is fixed, in attribute and command-line terms. */
export const CERT_WAY_OUT = 'give its CA (ProbeCAFile, --ca-file) or opt out (ProbeSSLVerify false)';

/** The trust of a probe that does (or does not) send credentials; a problem names the CA file. */
export function decideTrust(options: TlsOptions, sendsCredentials: boolean): Trust | { problem: string } {
  const verify = options.verifyCertificate ?? sendsCredentials;
  let ca = options.ca;
  if (options.caFile !== undefined) {
    const read = readCaFile(options.caFile);
    if ('problem' in read) return read;
    ca = ca === undefined ? read.pem : [...(Array.isArray(ca) ? ca : [ca]), read.pem];
  }
  return { verify, ...(options.servername ? { servername: options.servername } : {}), ...(ca !== undefined ? { ca } : {}) };
}

function readCaFile(file: string): { pem: string } | { problem: string } {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { problem: `CA file ${file} is not a regular file` };
    if (st.size > MAX_CA_FILE_BYTES) return { problem: `CA file ${file} is ${st.size} bytes, more than the ${MAX_CA_FILE_BYTES} a CA bundle needs` };
    const buf = Buffer.alloc(st.size);
    const n = fs.readSync(fd, buf, 0, st.size, 0);
    const pem = buf.subarray(0, n).toString('utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) return { problem: `CA file ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` };
    return { pem };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return { problem: `cannot read CA file ${file}: ${code === 'ELOOP' ? 'it is a symbolic link' : code}` };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Node's options for a TLS connection to `host` under `trust`. `host` is passed too so that the
 * host-name check of a TLS layer over an existing socket checks the name we connected to (Node
 * would otherwise check 'localhost'); SNI is never sent for an IP address.
 */
export function connectOptions(trust: Trust, host: string): tls.ConnectionOptions {
  const servername = trust.servername ?? (net.isIP(host) ? undefined : host);
  return {
    host,
    rejectUnauthorized: trust.verify,
    ...(servername && !net.isIP(servername) ? { servername } : {}),
    ...(trust.ca !== undefined ? { ca: trust.ca } : {}),
  };
}

/** OpenSSL's verification codes (and Node's host-name one): the certificate was refused. */
const CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_SIGNATURE_FAILURE', 'CERT_REVOKED', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE', 'HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);
/** The same refusals once a library has replaced the code (nodemailer's ETLS/ESOCKET): by message. */
const CERT_MESSAGES = /self[- ]signed certificate|unable to verify the first certificate|unable to get (local )?issuer certificate|certificate has expired|certificate is not yet valid|does not match certificate's altnames|certificate signature failure|certificate (revoked|rejected|untrusted)/i;

/** Why the server's certificate was refused ("self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)"), or undefined when `err` is something else. */
export function certificateProblem(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  const first = err.message.split('\n')[0]!.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, 120);
  if (typeof code === 'string' && CERT_CODES.has(code)) return `${first} (${code})`;
  return CERT_MESSAGES.test(err.message) ? first : undefined;
}
