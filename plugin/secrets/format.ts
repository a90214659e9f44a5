/**
 * The text forms of an encrypted secret, `enc:v1:` and `enc:v2:`, both followed by
 * base64url(iv 12 bytes | tag 16 bytes | ciphertext). v2 is bound to its place (place.ts); v1
 * is not and is only decrypted, never written by new code paths that know the place.
 * Checking the form needs no key, so `msgha validate` can check secrets without decrypting them.
 */

export const SECRET_PREFIX_V1 = 'enc:v1:';
export const SECRET_PREFIX_V2 = 'enc:v2:';
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

export type SecretVersion = 'v1' | 'v2';

/** The one command that re-encrypts every enc:v1 value of a cluster file. */
export const upgradeCommand = (clusterFile: string): string => `msgha secrets upgrade --cluster ${clusterFile}`;

export function looksEncrypted(value: string): boolean {
  return value.startsWith('enc:');
}

export function secretVersion(value: string): SecretVersion | undefined {
  if (value.startsWith(SECRET_PREFIX_V1)) return 'v1';
  if (value.startsWith(SECRET_PREFIX_V2)) return 'v2';
  return undefined;
}

/** An enc:v1 value: it decrypts in any attribute of any resource, so validate warns about it. */
export function isUnboundSecret(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith(SECRET_PREFIX_V1);
}

/** The validate warning for one enc:v1 value (the problem line names the resource and attribute). */
export function unboundSecretWarning(clusterFile: string): { message: string; hint: string } {
  return {
    message: 'enc:v1 value is not bound to its place: it would decrypt just as well if moved to another attribute, resource, group or cluster',
    hint: `re-encrypt every enc:v1 value of the file as enc:v2: ${upgradeCommand(clusterFile)}`,
  };
}

/** The encrypted bytes of a well-formed value (check secretFormatProblem first). */
export function secretBody(value: string): Buffer {
  return Buffer.from(value.slice(value.indexOf(':', 4) + 1), 'base64url');
}

/** Why an `enc:…` value is malformed, or undefined when its form is right. Never quotes the value. */
export function secretFormatProblem(value: string): string | undefined {
  if (!secretVersion(value)) return `unknown secret format (expected ${SECRET_PREFIX_V2}… or ${SECRET_PREFIX_V1}…)`;
  const body = value.slice(SECRET_PREFIX_V2.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) return 'the encrypted value is not base64url';
  if (Buffer.from(body, 'base64url').length <= IV_BYTES + TAG_BYTES) return 'the encrypted value is too short (truncated?)';
  return undefined;
}
