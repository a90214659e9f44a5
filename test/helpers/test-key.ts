/**
 * A cluster key for tests that validate multi-node cluster files (a multi-node cluster needs
 * one: plugin/config/cluster-rules.ts). One per test process, in a private directory (0700,
 * root) so that it passes the key file's trust rule; removed when the process exits.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeNewKey } from '../../plugin/secrets/key-file';

let file: string | undefined;

export function testKeyFile(): string {
  if (file) return file;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msgha-testkey-'));
  file = path.join(dir, 'cluster.key');
  writeNewKey(file);
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return file;
}
