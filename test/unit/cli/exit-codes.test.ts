/**
 * One table of exit codes (plugin/cli/commands/exit-codes.ts): every code in it is returned by
 * some verb, and no verb returns a code outside it — the CLI's sources return EXIT.<NAME>,
 * never a bare number.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, exitTable } from '../../../plugin/cli/commands/exit-codes';

const DIR = path.resolve(__dirname, '..', '..', '..', 'plugin', 'cli');
// Files another part owns, still on `run(args) → number` (wrapped as they are).
const PLAIN = new Set(['package.ts', 'demo.ts', 'demo-cluster.ts', 'init.ts', 'preflight.ts']);

function sources(): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !PLAIN.has(e.name) && e.name !== 'exit-codes.ts') out.push({ file: path.relative(DIR, p), text: fs.readFileSync(p, 'utf8') });
    }
  };
  walk(DIR);
  return out;
}

describe('exit codes', () => {
  it('the table has distinct codes and is what --help prints', () => {
    const codes = Object.values(EXIT);
    expect(new Set(codes).size).toBe(codes.length);
    for (const [name, code] of Object.entries(EXIT)) expect(exitTable(), name).toMatch(new RegExp(`^ {2}${code} {2}\\S`, 'm'));
  });

  it('no verb returns or exits with a bare number', () => {
    for (const { file, text } of sources()) {
      expect(text, file).not.toMatch(/\breturn\s+\d+\s*;/);
      expect(text, file).not.toMatch(/process\.exit(Code\s*=|\()\s*\d/);
      expect(text, file).not.toMatch(/\?\s*\d\s*:\s*\d\b/);
    }
  });

  it('every code of the table is used by some verb', () => {
    const used = new Set(sources().flatMap(({ text }) => [...text.matchAll(/EXIT\.([A-Z_]+)/g)].map((m) => m[1]!)));
    for (const name of Object.keys(EXIT)) expect(used.has(name), `EXIT.${name} unused`).toBe(true);
    for (const name of used) expect(Object.keys(EXIT), `EXIT.${name} not in the table`).toContain(name);
  });
});
