/**
 * AES-256-GCM encryption of one secret with the cluster key, to and from the text form
 * `enc:v1:<base64url(iv | tag | ciphertext)>` (format.ts). The format label is bound as
 * additional authenticated data, so a value cannot be replayed under another format.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SecretError } from './errors';
import { IV_BYTES, SECRET_PREFIX, TAG_BYTES, secretFormatProblem } from './format';

const AAD = Buffer.from('msgha:enc:v1');

export function encryptWithKey(clear: string, key: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(AAD);
  const body = Buffer.concat([cipher.update(clear, 'utf8'), cipher.final()]);
  return SECRET_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** `keyFile` is used in messages only. */
export function decryptWithKey(value: string, key: Buffer, keyFile: string): string {
  const problem = secretFormatProblem(value);
  if (problem) throw new SecretError('malformed', `malformed encrypted value: ${problem}`);
  const raw = Buffer.from(value.slice(SECRET_PREFIX.length), 'base64url');
  const iv = raw.subarray(0, IV_BYTES);
  const tag = raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
  const body = raw.subarray(IV_BYTES + TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(AAD);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretError('auth-failed', `authentication failed: the value was encrypted with another cluster key (key file ${keyFile}), or it was altered`);
  }
}
