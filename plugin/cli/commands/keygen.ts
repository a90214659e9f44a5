/**
 * `msgha keygen [--key-file F] [--force]`: writes a new cluster key (32 random bytes, base64,
 * mode 0600). Refuses to replace an existing key without --force.
 */
import { keyFilePath, writeNewKey, SecretError } from '../../secrets';

export const usage = 'keygen [--key-file F] [--force]  create the cluster key for encrypted secrets';

export function parseKeyFileArgs(args: string[], flags: readonly string[]): { keyFile?: string; flags: Set<string> } | undefined {
  const seen = new Set<string>();
  let keyFile: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--key-file') {
      keyFile = args[++i];
      if (!keyFile) return undefined;
    } else if (a.startsWith('--key-file=')) keyFile = a.slice('--key-file='.length);
    else if (flags.includes(a)) seen.add(a);
    else return undefined;
  }
  return { keyFile, flags: seen };
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseKeyFileArgs(args, ['--force']);
  if (!parsed) {
    process.stderr.write(`usage: msgha ${usage}\n`);
    return 2;
  }
  const keyFile = parsed.keyFile ?? keyFilePath();
  try {
    writeNewKey(keyFile, parsed.flags.has('--force'));
  } catch (err) {
    const msg = err instanceof SecretError ? err.message : `cannot write ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
    process.stderr.write(`msgha keygen: ${msg}\n`);
    return 1;
  }
  process.stdout.write(`wrote a new cluster key to ${keyFile} (mode 0600); copy it to the same path on every node\n`);
  return 0;
}
