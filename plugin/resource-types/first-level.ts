/**
 * First-level check shared by the types: every matcher must have at least one live process of
 * the instance (pid file first, then the shared /proc snapshot), running as one of the
 * resource's owners (process-owner.ts). The sentence names what is missing, and every
 * lookalike process or foreign pid file that was ignored.
 */
import { promises as fs } from 'node:fs';
import type { Owners } from '../proc/identity';
import { checkPidFile, removeStalePidFiles, type InstanceTest } from '../proc/pid-files';
import { findProcesses, matcherBelongs, matcherRule } from '../proc/matching';
import { withDescendants } from '../proc/tree';
import type { LevelResult } from './monitor-levels';
import type { ProcessMatcher } from '../core/results';

/** "; ignored: …" for the sentences of refused processes and pid files (none: ''). */
export function ignoredNote(rejected: readonly string[]): string {
  const unique = [...new Set(rejected)];
  return unique.length > 0 ? `; ${unique.join('; ')}` : '';
}

export async function processesPresent(matchers: ProcessMatcher[], where: string, owners: Owners): Promise<LevelResult> {
  const rejected: string[] = [];
  const found = await findProcesses(matchers, { owners, rejected });
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
  const note = ignoredNote(rejected);
  if (missing.length > 0) {
    return {
      state: 'OFFLINE', recovery: 'restartable', pids,
      reason: `${missing.join(', ')} not running${where ? ` (no live process of ${where})` : ''}${present.length ? `; running: ${present.join(', ')}` : ''}${note}`,
    };
  }
  return { state: 'ONLINE', reason: `running: ${present.join(', ')}${note}`, pids };
}

/** Pids of any matcher (not requiring all), with their descendants: a resource's leftovers. */
export async function matchedWithDescendants(matchers: ProcessMatcher[], owners: Owners): Promise<number[]> {
  const found = await findProcesses(matchers, { fresh: true, owners });
  const pids = new Set<number>();
  for (const list of found.values()) for (const p of list) pids.add(p);
  if (pids.size === 0) return [];
  // Only below processes that passed: a lookalike's children are not the instance's either.
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
export async function removeStaleMatcherPidFiles(matchers: ProcessMatcher[], owners: Owners): Promise<string[]> {
  const byFile = new Map<string, ProcessMatcher[]>();
  for (const m of matchers) if (m.pidFile) byFile.set(m.pidFile, [...(byFile.get(m.pidFile) ?? []), m]);
  const test = (file: string): InstanceTest => {
    const ms = byFile.get(file) ?? [];
    return {
      owners,
      belongs: async (p) => {
        for (const m of ms) if (await matcherBelongs(m)(p)) return true;
        return false;
      },
      rule: ms.map(matcherRule).join(', and '),
    };
  };
  const verdicts = await Promise.all([...byFile.keys()].map((f) => checkPidFile(f, test(f))));
  return removeStalePidFiles(verdicts, test);
}
