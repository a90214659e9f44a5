/**
 * docs/cli.md is the reference the program prints (every verb's --help, the exit codes,
 * `msgha explain --markdown`). When this fails: npm run build &&
 * node dist/plugin/cli/commands/reference.js > docs/cli.md
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('docs/cli.md', () => {
  it('is current', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'plugin', 'cli', 'commands', 'reference.js')], { encoding: 'utf8', env: { ...process.env, COLUMNS: '200' } });
    expect(r.status, r.stderr).toBe(0);
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'cli.md'), 'utf8');
    expect(doc === r.stdout, 'docs/cli.md is stale: node dist/plugin/cli/commands/reference.js > docs/cli.md').toBe(true);
    expect(doc).toMatch(/^## msgha online$/m);
    expect(doc).toMatch(/^## Cluster file reference$/m);
  });
});
