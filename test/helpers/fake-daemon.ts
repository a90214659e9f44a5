/** A throwaway instance for the lifecycle tests: ROOT/bin (bin/fakedaemon is sleep), ROOT/run. */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Creates the root (readable by every user: tests run some programs as another user). */
export async function fakeDaemonRoot(prefix: string): Promise<string> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.chmod(root, 0o755);
  await fs.mkdir(path.join(root, 'bin'));
  await fs.mkdir(path.join(root, 'run'));
  await fs.symlink('/bin/sleep', path.join(root, 'bin', 'fakedaemon'));
  return root;
}

/** Writes a /bin/sh script ROOT/bin/NAME and returns its path. */
export async function writeScript(root: string, name: string, body: string, mode = 0o755): Promise<string> {
  const file = path.join(root, 'bin', name);
  await fs.writeFile(file, `#!/bin/sh\n${body}\n`, { mode });
  return file;
}
