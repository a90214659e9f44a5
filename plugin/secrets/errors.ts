/**
 * The one error class of the secrets module. Messages name the key file (and the place of the
 * value when known) and say what to do; they never contain a secret, neither the clear text nor
 * the encrypted value.
 */
export type SecretErrorCode =
  | 'key-missing' | 'key-unreadable' | 'key-invalid' | 'key-exists' | 'key-untrusted'
  | 'malformed' | 'auth-failed' | 'wrong-place' | 'no-place';

export class SecretError extends Error {
  constructor(readonly code: SecretErrorCode, message: string) {
    super(message);
    this.name = 'SecretError';
  }
}
