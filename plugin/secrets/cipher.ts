/**
 * AES-256-GCM encryption of one secret with the cluster key, to and from the text forms of
 * format.ts. enc:v2 binds its place (place.ts) as associated data, under a key derived from the
 * cluster key for this use only; enc:v1 (a constant associated data) is still decrypted.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { SecretError } from './errors';
import { IV_BYTES, SECRET_PREFIX_V1, SECRET_PREFIX_V2, TAG_BYTES, secretBody, secretFormatProblem, secretVersion } from './format';
import { placeAad, placeName, placeProblem, type SecretPlace } from './place';

const AAD_V1 = Buffer.from('msgha:enc:v1');

/** What a decryption error names besides the cause (never the secret). */
export interface DecryptContext {
  keyFile: string;
  /** Required for enc:v2. */
  place?: SecretPlace;
  /** The cluster file, for the command in the message. */
  clusterFile?: string;
}

// Why derived: the raw cluster key also keys other things (the shared directory's MACs), and
// one key must not serve two schemes.
function v2Key(clusterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', clusterKey, Buffer.alloc(0), 'msgha enc:v2 secrets', 32));
}

function seal(prefix: string, clear: string, key: Buffer, aad: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(clear, 'utf8'), cipher.final()]);
  return prefix + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The clear text, or undefined when authentication fails. */
function open(raw: Buffer, key: Buffer, aad: Buffer): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

function checkedPlace(place: SecretPlace): SecretPlace {
  const problem = placeProblem(place);
  if (problem) throw new SecretError('no-place', `cannot bind a secret: ${problem}`);
  return place;
}

/** enc:v2, bound to `place`. */
export function encryptWithKey(clear: string, key: Buffer, place: SecretPlace): string {
  return seal(SECRET_PREFIX_V2, clear, v2Key(key), placeAad(checkedPlace(place)));
}

/** enc:v1, bound to nothing: only for `msgha encrypt` without a place (validate warns about it). */
export function encryptUnboundWithKey(clear: string, key: Buffer): string {
  return seal(SECRET_PREFIX_V1, clear, key, AAD_V1);
}

export function decryptWithKey(value: string, key: Buffer, ctx: DecryptContext): string {
  const where = ctx.place ? `${placeName(ctx.place)} (cluster ${ctx.place.cluster}): ` : '';
  const problem = secretFormatProblem(value);
  if (problem) throw new SecretError('malformed', `${where}malformed encrypted value: ${problem}`);
  const raw = secretBody(value);
  if (secretVersion(value) === 'v1') {
    const clear = open(raw, key, AAD_V1);
    if (clear === undefined) {
      throw new SecretError('auth-failed', `${where}authentication failed: the value was encrypted with another cluster key (key file ${ctx.keyFile}), or it was altered`);
    }
    return clear;
  }
  if (!ctx.place) {
    throw new SecretError('no-place', 'an enc:v2 value decrypts only in the place it was made for (cluster, group, resource, attribute), and none was given');
  }
  const clear = open(raw, v2Key(key), placeAad(checkedPlace(ctx.place)));
  if (clear === undefined) {
    throw new SecretError('wrong-place', `${where}authentication failed: an enc:v2 value decrypts only in the place it was encrypted for, and this one `
      + `was encrypted for another cluster, group, resource or attribute, or with another key (key file ${ctx.keyFile}), or it was altered `
      + `(encrypt it for this place: msgha encrypt --cluster ${ctx.clusterFile ?? 'FILE'} --for ${placeName(ctx.place)})`);
  }
  return clear;
}
