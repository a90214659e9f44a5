/**
 * First-level check shared by the types: every matcher must have at least one live process
 * (pid file first, then the shared /proc snapshot). The sentence names what is missing.
 */
import { promises as fs } from 'node:fs';
import type { ProcessInfo } from '../proc/table';
import { checkPidFile, removeStalePidFiles } from '../proc/pid-files';
import { findProcesses, matcherBelongs } from '../proc/matching';
import { withDescendants } from '../proc/tree';
import type { LevelResult } from './monitor-levels';
import type { ProcessMatcher } from '../core/results';

export async function processesPresent(matchers: ProcessMatcher[], where: string): Promise<LevelResult> {
  const found = await findProcesses(matchers);
  const missing: string[] = [];
  const present: string[] = [];
  const pids: number[] = [];
  for (const [name, list] of found) {
    if (list.length === 0) missing.push(name);
    else {
      present.push(`${name} (${list.length === 1 ? `pid ${list[0]}` : `pids ${list.join(',')}`})`);
      pids.push(...list);
    }
  }
  if (missing.length > 0) {
    return {
      state: 'OFFLINE', recovery: 'restartable', pids,
      reason: `${missing.join(', ')} not running${where ? ` (no live process of ${where})` : ''}${present.length ? `; running: ${present.join(', ')}` : ''}`,
    };
  }
  return { state: 'ONLINE', reason: `running: ${present.join(', ')}`, pids };
}

/** Pids of any matcher (not requiring all), with their descendants: a resource's leftovers. */
export async function matchedWithDescendants(matchers: ProcessMatcher[]): Promise<number[]> {
  const found = await findProcesses(matchers, { fresh: true });
  const pids = new Set<number>();
  for (const list of found.values()) for (const p of list) pids.add(p);
  if (pids.size === 0) return [];
  return [...(await withDescendants(pids))].sort((a, b) => a - b);
}

/** "ServerRoot /x does not exist" when the directory is missing, else undefined. */
export async function missingDir(attr: string, dir: string | undefined): Promise<string | undefined> {
  if (!dir) return `${attr} is not set`;
  try {
    const st = await fs.stat(dir);
    return st.isDirectory() ? undefined : `${attr} ${dir} is not a directory`;
  } catch {
    return `${attr} ${dir} does not exist`;
  }
}

/**
 * Removes the matchers' pid files that name no process of the instance (see checkPidFile); a
 * pid file shared by several matchers (uxwdog and ns-httpd) is kept when any of them matches.
 */
export async function removeStaleMatcherPidFiles(matchers: ProcessMatcher[]): Promise<string[]> {
  const byFile = new Map<string, ProcessMatcher[]>();
  for (const m of matchers) if (m.pidFile) byFile.set(m.pidFile, [...(byFile.get(m.pidFile) ?? []), m]);
  const belongs = (file: string) => async (p: ProcessInfo): Promise<boolean> => {
    for (const m of byFile.get(file) ?? []) if (await matcherBelongs(m)(p)) return true;
    return false;
  };
  const verdicts = await Promise.all([...byFile.keys()].map((f) => checkPidFile(f, belongs(f))));
  return removeStalePidFiles(verdicts, belongs);
}
