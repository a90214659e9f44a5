/**
 * The text form of an encrypted secret: `enc:v1:<base64url(iv 12 bytes | tag 16 bytes | ciphertext)>`.
 * Checking the form needs no key, so `msgha validate` can check secrets without decrypting them.
 */

export const SECRET_PREFIX = 'enc:v1:';
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

export function looksEncrypted(value: string): boolean {
  return value.startsWith('enc:');
}

/** Why an `enc:…` value is malformed, or undefined when its form is right. Never quotes the value. */
export function secretFormatProblem(value: string): string | undefined {
  if (!value.startsWith(SECRET_PREFIX)) return `unknown secret format (expected ${SECRET_PREFIX}…)`;
  const body = value.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) return 'the encrypted value is not base64url';
  if (Buffer.from(body, 'base64url').length <= IV_BYTES + TAG_BYTES) return 'the encrypted value is too short (truncated?)';
  return undefined;
}
