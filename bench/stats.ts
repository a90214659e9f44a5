/** Small statistics and result-file helpers shared by the benchmarks. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Summary { n: number; median: number; p90: number; min: number; max: number }

export function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
  return { n: s.length, median: at(0.5), p90: at(0.9), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN };
}

export function resultsDir(): string {
  // dist/bench → <package>/bench/results
  return path.resolve(__dirname, '..', '..', 'bench', 'results');
}

/** Writes results/<name>.json and results/<name>.md (a readable table). */
export function writeResults(name: string, data: unknown, markdown: string): void {
  const dir = resultsDir();
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(data, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, `${name}.md`), markdown.endsWith('\n') ? markdown : markdown + '\n');
}

export function mdTable(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
