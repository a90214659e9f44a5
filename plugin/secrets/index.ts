/**
 * Secrets of the cluster file: encryption with the cluster key (cipher.ts, format.ts), bound to
 * the place they are used (place.ts), and the trusted key file (key-file.ts, key-trust.ts).
 * Decrypted only by the agent, at the moment of use. Errors name the key file, the place and
 * the cause, never the secret. The key is read on each call (it is small and this keeps a
 * rotated key file effective without a restart). Checking a value's form needs no key: format.ts.
 */
import type { ResolvedCluster } from '../model/cluster-types';
import { decryptWithKey, encryptUnboundWithKey, encryptWithKey } from './cipher';
import { looksEncrypted } from './format';
import { keyFilePath, readKey } from './key-file';
import type { SecretPlace } from './place';

export { SecretError, type SecretErrorCode } from './errors';
export { keyFilePath, keyFileProblem, writeNewKey } from './key-file';
export { isUnboundSecret, secretVersion, unboundSecretWarning, upgradeCommand } from './format';
export { parsePlaceName, placeName, type SecretPlace } from './place';
export { replaceJsonStrings, type JsonStringEdit } from './json-edit';

/**
 * enc:v2 for `place`. Without a place, enc:v1, bound to nothing (kept for `msgha encrypt`
 * without --for and older callers); `msgha validate` warns about every such value.
 */
export function encryptSecret(clear: string, keyFile: string, place?: SecretPlace): string {
  const key = readKey(keyFile);
  return place ? encryptWithKey(clear, key, place) : encryptUnboundWithKey(clear, key);
}

/** An enc:v2 value needs its `place`; enc:v1 decrypts anywhere. */
export function decryptSecret(value: string, keyFile: string, place?: SecretPlace, clusterFile?: string): string {
  return decryptWithKey(value, readKey(keyFile), { keyFile, place, clusterFile });
}

/** Where a secret attribute is used, within its cluster. */
export type SecretUse = Omit<SecretPlace, 'cluster'>;

export type SecretResolver = (value: unknown, use: SecretUse) => Promise<string | undefined>;

/**
 * For agents: undefined/null → undefined; `enc:…` → decrypted with the cluster's key file for
 * this cluster and `use` (throws SecretError); any other string passes through (clear text,
 * already warned about by validation).
 */
export function createSecretResolver(cluster: Pick<ResolvedCluster, 'settings'> & { file?: string }): SecretResolver {
  const keyFile = keyFilePath(cluster.settings);
  return async (value, use) => {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw new TypeError('a secret attribute must be a string');
    if (!looksEncrypted(value)) return value;
    // `use` may be missing in a caller that predates enc:v2: then only enc:v1 decrypts.
    const place = use ? { cluster: cluster.settings.name, ...use } : undefined;
    return decryptSecret(value, keyFile, place, cluster.file);
  };
}
