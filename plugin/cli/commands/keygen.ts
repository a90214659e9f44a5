/**
 * `msgha keygen [--key-file F] [--force]`: writes a new cluster key (32 random bytes, base64,
 * mode 0600). Refuses to replace an existing key without --force.
 */
import type { Command } from 'commander';
import { keyFilePath, writeNewKey, SecretError } from '../../secrets';
import { EXIT, type ExitCode } from './exit-codes';
import type { Output } from './output';
import { act, runVerbArgs } from './program';

export function define(program: Command): Command {
  const cmd = program.command('keygen').description('create the cluster key (secrets, signed shared-directory records)')
    .option('--key-file <file>', 'where to write it (default $MSGHA_KEY_FILE, else /etc/msgha/cluster.key)')
    .option('--force', 'replace an existing key (every enc: value and every signed record then needs the new one)')
    .addHelpText('after', '\nExamples:\n  msgha keygen --key-file /etc/msgha/cluster.key');
  return act(cmd, async ({ opts, out }) => keygen(opts.keyFile as string | undefined, opts.force === true, out));
}

export function run(args: string[]): Promise<number> { return runVerbArgs('keygen', define, args); }

function keygen(file: string | undefined, force: boolean, out: Output): ExitCode {
  const keyFile = file ?? keyFilePath();
  try {
    writeNewKey(keyFile, force);
  } catch (err) {
    return out.fail(EXIT.FAILED, err instanceof SecretError ? err.message : `cannot write ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  process.stdout.write(`wrote a new cluster key to ${keyFile} (mode 0600); copy it to the same path on every node\n`);
  return EXIT.OK;
}
