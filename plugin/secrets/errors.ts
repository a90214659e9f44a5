/**
 * The one error class of the secrets module. Messages name the key file and say what to do;
 * they never contain a secret, neither the clear text nor the encrypted value.
 */
export type SecretErrorCode = 'key-missing' | 'key-unreadable' | 'key-invalid' | 'key-exists' | 'malformed' | 'auth-failed';

export class SecretError extends Error {
  constructor(readonly code: SecretErrorCode, message: string) {
    super(message);
    this.name = 'SecretError';
  }
}
