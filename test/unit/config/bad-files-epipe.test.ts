/**
 * `msgha validate FILE | head -1` with a real pipe: the reader goes away while validate still
 * has most of its output to write (far more than a pipe holds), so validate's next write meets
 * EPIPE. It must end quietly — no stack trace, no error line — with its own exit code. Needs the
 * compiled CLI (npm run build).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = path.resolve(__dirname, '..', '..', '..', 'dist', 'plugin', 'cli', 'main.js');
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), `mh-epipe-${process.pid}-`));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A cluster file with `n` resources, each with two errors: about 200 bytes of output each. */
function manyProblems(n: number): string {
  const resources: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) resources[`r${i}`] = { type: 'Application', StartProgram: '/bin/true', PidFiles: ['/run/x.pid'], RestartLimit: -1, OnlineTimeout: 'soon' };
  const file = path.join(dir, `many-${n}.json`);
  fs.writeFileSync(file, JSON.stringify({ cluster: { name: 'mail', nodes: ['mx1'] }, groups: { g: { resources } } }));
  return file;
}

/** `node main.js args… | head -1`: both real processes, the pipe between them only. */
function pipeToHead(args: string[]): Promise<{ first: string; code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const msgha = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const head = spawn('head', ['-1'], { stdio: [msgha.stdout, 'pipe', 'inherit'] });
    // Only head may hold the pipe's read end: once it exits, msgha's next write gets EPIPE.
    msgha.stdout.destroy();
    let first = '';
    let stderr = '';
    head.stdout.on('data', (b: Buffer) => { first += b.toString(); });
    msgha.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    msgha.on('error', reject);
    head.on('error', reject);
    let headDone = false;
    let result: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const finish = (): void => { if (headDone && result) resolve({ first, stderr, ...result }); };
    head.on('close', () => { headDone = true; finish(); });
    msgha.on('close', (code, signal) => { result = { code, signal }; finish(); });
  });
}

describe('msgha validate … | head -1', () => {
  it('ends quietly on EPIPE with its own exit code (1: the file has errors)', async () => {
    const file = manyProblems(1500);
    const r = await pipeToHead(['validate', file]);
    expect(r.first.startsWith(`${file}: g`), r.first).toBe(true);
    expect(r.first.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
  });

  it('the same with --json', async () => {
    const r = await pipeToHead(['validate', manyProblems(1500), '--json']);
    expect(r.first.trim()).toBe('{');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
  });
});
