/**
 * `npm ci` on a fresh clone: the committed lock must hold every platform's optional packages
 * (a lock regenerated over an existing node_modules kept 2 of rollup's 27 and `npm ci` failed),
 * and `prepare` must build dist/ so that a packed clean clone carries its CLI and no test code.
 * The clone is of HEAD with the working tree's changes laid over it (what the next commit holds);
 * once committed, that overlay is empty. Slow: own file.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT, type CliResult } from '../helpers/pm2';

const WORK = `/tmp/msgha-npmci-${process.pid}`;
const CLONE = path.join(WORK, 'repo');

function run(file: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const lines = (s: string): string[] => s.split('\0').filter(Boolean);
let ciSeconds = 0;

beforeAll(async () => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  const clone = await run('git', ['clone', '--quiet', '--no-hardlinks', PACKAGE_ROOT, CLONE], WORK);
  expect(clone.code, clone.stderr).toBe(0);
  const changed = await run('git', ['ls-files', '-z', '--modified', '--others', '--exclude-standard'], PACKAGE_ROOT);
  for (const f of lines(changed.stdout)) {
    const src = path.join(PACKAGE_ROOT, f);
    if (!fs.existsSync(src)) continue;
    fs.mkdirSync(path.dirname(path.join(CLONE, f)), { recursive: true });
    fs.copyFileSync(src, path.join(CLONE, f));
  }
  const deleted = await run('git', ['ls-files', '-z', '--deleted'], PACKAGE_ROOT);
  for (const f of lines(deleted.stdout)) fs.rmSync(path.join(CLONE, f), { force: true });
}, 120_000);

afterAll(() => {
  fs.rmSync(WORK, { recursive: true, force: true });
  process.stdout.write(`npm-ci: npm ci (with prepare) ${ciSeconds.toFixed(1)} s\n`);
});

describe('a fresh clone', () => {
  it('npm ci installs from the committed lock and prepare builds dist/', async () => {
    const t0 = Date.now();
    const r = await run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], CLONE, 400_000);
    ciSeconds = (Date.now() - t0) / 1000;
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(CLONE, 'node_modules', '.bin', 'tsc'))).toBe(true);
    expect(fs.existsSync(path.join(CLONE, 'dist', 'plugin', 'cli', 'main.js'))).toBe(true);
    const lock = JSON.parse(fs.readFileSync(path.join(CLONE, 'package-lock.json'), 'utf8')) as { packages: Record<string, { optionalDependencies?: Record<string, string> }> };
    // Every optional dependency of every package has its own entry (all platforms, not only this one).
    const missing = Object.entries(lock.packages).flatMap(([where, p]) => Object.keys(p.optionalDependencies ?? {})
      .filter((d) => !lock.packages[`node_modules/${d}`] && !lock.packages[`${where}/node_modules/${d}`]).map((d) => `${where} → ${d}`));
    expect(missing).toEqual([]);
  }, 420_000);

  it('the packed clone carries the CLI and no test or benchmark code', async () => {
    const r = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], CLONE);
    expect(r.code, r.stderr).toBe(0);
    const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    expect(files).toContain('dist/plugin/cli/main.js');
    expect(files).toContain('LICENSE');
    expect(files.filter((f) => /^(dist\/)?(test|bench)\//.test(f) || f.endsWith('.map'))).toEqual([]);
    const run1 = await run(process.execPath, [path.join(CLONE, 'dist', 'plugin', 'cli', 'main.js'), '--help'], CLONE);
    expect(run1.code, run1.stderr).toBe(0);
    expect(run1.stdout).toMatch(/validate/);
  });
});
