/**
 * A cluster key for tests that validate multi-node cluster files (a multi-node cluster needs
 * one: plugin/config/cluster-rules.ts). One per test process, in a private directory (0700,
 * root) so that it passes the key file's trust rule. Test workers may end without an 'exit'
 * event, so each new one also removes the directories of processes that are gone.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeNewKey } from '../../plugin/secrets/key-file';

const PREFIX = 'msgha-testkey-';
let file: string | undefined;

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

export function testKeyFile(): string {
  if (file) return file;
  for (const d of fs.readdirSync(os.tmpdir())) {
    const pid = Number(/^msgha-testkey-(\d+)-/.exec(d)?.[1]);
    if (pid && !alive(pid)) fs.rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
  file = path.join(dir, 'cluster.key');
  writeNewKey(file);
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return file;
}
