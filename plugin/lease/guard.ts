/**
 * The LOCAL lease guard `<runDir>/<group>.lease` (tmpfs, never the shared directory):
 * "<epoch> <serveUntil CLOCK_MONOTONIC ms>", rewritten by the coordinator after each renewal.
 * Agents (IP lifetime, Mount epoch marker) and services read it before a side effect.
 * Guarantees: written with tmp + rename (readers never see half a line); a missing or malformed
 * guard reads as "no lease" (undefined) — callers choose their no-lease default. Monotonic values
 * are comparable only within one machine and time namespace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const DEFAULT_RUN_DIR = '/run/msgha';

export interface Guard { epoch: number; serveUntilMono: number }

export function guardPath(runDir: string, group: string): string {
  return path.join(runDir, `${group}.lease`);
}

export function writeGuard(runDir: string, group: string, g: Guard): void {
  fs.mkdirSync(runDir, { recursive: true });
  const file = guardPath(runDir, group);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${g.epoch} ${Math.floor(g.serveUntilMono)}\n`);
  fs.renameSync(tmp, file);
}

export function removeGuard(runDir: string, group: string): void {
  try { fs.unlinkSync(guardPath(runDir, group)); } catch { /* already gone */ }
}

export function readGuard(runDir: string, group: string): Guard | undefined {
  try {
    const m = /^(\d+) (\d+)\s*$/.exec(fs.readFileSync(guardPath(runDir, group), 'utf8'));
    return m ? { epoch: Number(m[1]), serveUntilMono: Number(m[2]) } : undefined;
  } catch {
    return undefined;
  }
}
