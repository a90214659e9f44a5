/**
 * A cross-process lock for test files that own fixed ports and directories: a second run of the
 * same file (another engineer's full test run, say) waits instead of tearing down our sandbox.
 * The lock is a file holding the owner's pid; a lock whose owner is dead is taken over.
 */
import { promises as fs } from 'node:fs';
import { isAlive } from '../../plugin/proc/table';

export async function acquireRunLock(file: string, timeoutMs: number): Promise<() => Promise<void>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const h = await fs.open(file, 'wx');
      await h.writeFile(String(process.pid));
      await h.close();
      return async () => {
        const owner = await fs.readFile(file, 'utf8').catch(() => '');
        if (owner.trim() === String(process.pid)) await fs.rm(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
    if (!owner || !(await isAlive(owner))) {
      // Stale (or being written this instant): remove only if still stale after a moment.
      await new Promise((r) => setTimeout(r, 200));
      const again = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
      if (again === owner && (!again || !(await isAlive(again)))) await fs.rm(file, { force: true });
      continue;
    }
    if (Date.now() > end) throw new Error(`${file} is held by pid ${owner} for too long`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Removes the lock file when its owner is dead (e.g. `--stop` of a demo whose process has exited). */
export async function removeStaleRunLock(file: string): Promise<void> {
  const owner = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
  if (owner && !(await isAlive(owner))) await fs.rm(file, { force: true });
}
