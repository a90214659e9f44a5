/**
 * Shared by the /proc unit tests: a temporary directory with two instance roots whose daemon is
 * `sleep` under another name (r1 and its lookalike r12), and children that are always killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../../helpers/pm2';
import { readStat } from '../../../plugin/proc/table';

const children: ChildProcess[] = [];
let base = '';

export async function makeProcDir(): Promise<string> {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'mh-proc-'));
  await fs.mkdir(path.join(base, 'r1', 'bin'), { recursive: true });
  await fs.mkdir(path.join(base, 'r12', 'bin'), { recursive: true });
  await fs.symlink('/bin/sleep', path.join(base, 'r1', 'bin', 'fakedaemon'));
  await fs.symlink('/bin/sleep', path.join(base, 'r12', 'bin', 'fakedaemon'));
  await fs.writeFile(path.join(base, 'r1', 'bin', 'parent.sh'), '#!/bin/sh\ncd /\n/bin/sleep 302 &\nwait\n', { mode: 0o755 });
  return base;
}

/** Kills every child (and its process group), then removes the directory. */
export async function removeProcDir(): Promise<void> {
  for (const c of children) { try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ } }
  await fs.rm(base, { recursive: true, force: true });
}

export function start(argv0: string, args: string[], cwd = '/'): ChildProcess {
  const c = spawn(argv0, args, { stdio: 'ignore', cwd, detached: true });
  children.push(c);
  return c;
}

export async function childrenOf(ppid: number): Promise<number[]> {
  const out: number[] = [];
  for (const e of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = await readStat(Number(e));
    if (st?.ppid === ppid) out.push(st.pid);
  }
  return out;
}

export const until = async (check: () => Promise<boolean>, ms = 3000): Promise<void> => {
  await waitFor('condition', check, { timeoutMs: ms, intervalMs: 20 });
};
