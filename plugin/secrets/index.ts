/**
 * Secrets of the cluster file: encryption with the cluster key (cipher.ts, format.ts) and the key
 * file (key-file.ts). Decrypted only by the agent, at the moment of use. Errors name the key file
 * and the cause, never the secret. The key is read on each call (it is small and this keeps a
 * rotated key file effective without a restart). Checking a value's form needs no key: format.ts.
 */
import type { ResolvedCluster } from '../model/cluster-types';
import { decryptWithKey, encryptWithKey } from './cipher';
import { looksEncrypted } from './format';
import { keyFilePath, readKey, type ReadKeyOptions } from './key-file';

export { SecretError } from './errors';
export { keyFilePath, writeNewKey } from './key-file';

export function encryptSecret(clear: string, keyFile: string, options?: ReadKeyOptions): string {
  return encryptWithKey(clear, readKey(keyFile, options));
}

export function decryptSecret(value: string, keyFile: string, options?: ReadKeyOptions): string {
  return decryptWithKey(value, readKey(keyFile, options), keyFile);
}

export type SecretResolver = (value: unknown) => Promise<string | undefined>;

/**
 * For agents: undefined/null → undefined; `enc:…` → decrypted with the cluster's key file
 * (throws SecretError); any other string passes through (clear text, already warned about by
 * validation).
 */
export function createSecretResolver(cluster: Pick<ResolvedCluster, 'settings'>, options?: ReadKeyOptions): SecretResolver {
  const keyFile = keyFilePath(cluster.settings);
  return async (value) => {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw new TypeError('a secret attribute must be a string');
    return looksEncrypted(value) ? decryptSecret(value, keyFile, options) : value;
  };
}
