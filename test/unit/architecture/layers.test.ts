/**
 * The layer order of docs/architecture.md, checked: a room (folder) imports only rooms on lower
 * floors, never one on its own floor or above. Type-only imports count too: a type is part of
 * the room that declares it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Room → floor, bottom first (docs/architecture.md draws the same picture). */
export const FLOORS: Readonly<Record<string, number>> = {
  'plugin/core': 1,
  'plugin/model': 2, 'plugin/lease': 2, 'plugin/proc': 2,
  'plugin/secrets': 3, 'probes': 3, 'plugin/fence': 3,
  'plugin/resource-types': 4, 'plugin/recovery': 4,
  'plugin/config': 5, 'plugin/metrics': 5,
  'plugin/pm2': 6,
  // preflight: loads the cluster file (config, 5), uses the lease's start-up check and profiles (2), the key check (3)
  'plugin/preflight': 6,
  'plugin/agent': 7, 'plugin/coordinator': 7,
  'plugin/cluster': 8,
  'plugin/cli': 9, 'plugin/main.ts': 9, 'plugin/index.ts': 9,
};

function roomOf(file: string): string | undefined {
  const rel = path.relative(ROOT, file).split(path.sep).join('/');
  return Object.keys(FLOORS).filter((r) => rel === r || rel.startsWith(r + '/')).sort((a, b) => b.length - a.length)[0];
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /(?:from|import|require)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

describe('layers', () => {
  const files = [...sources(path.join(ROOT, 'plugin')), ...sources(path.join(ROOT, 'probes'))];

  it('every product file belongs to a room of the layer picture', () => {
    expect(files.filter((f) => !roomOf(f)).map((f) => path.relative(ROOT, f))).toEqual([]);
  });

  it('no import runs up a floor or across rooms of one floor', () => {
    const wrong: string[] = [];
    for (const f of files) {
      const from = roomOf(f)!;
      for (const m of fs.readFileSync(f, 'utf8').matchAll(IMPORT)) {
        const to = roomOf(path.resolve(path.dirname(f), m[1]!));
        if (!to || to === from) continue;
        if (FLOORS[to]! >= FLOORS[from]!) wrong.push(`${path.relative(ROOT, f)} (floor ${FLOORS[from]}) imports ${to} (floor ${FLOORS[to]})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
