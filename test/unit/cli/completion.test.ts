/**
 * `msgha completion bash|zsh`: the scripts parse (bash -n, zsh -n when zsh is installed), name
 * every verb, and complete group names from a --cluster file; bash completes them for real.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'plugin', 'cli', 'main.js');
const WORK = `/tmp/msgha-cli-completion-${process.pid}`;
const FILE = path.join(WORK, 'cluster.json');

function msgha(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, PM2_HOME: path.join(WORK, 'pm2') }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  fs.mkdirSync(WORK, { recursive: true, mode: 0o755 });
  const app = { type: 'Application', StartProgram: '/bin/sleep 1000', MonitorProcesses: ['/bin/sleep 1000'] };
  fs.writeFileSync(FILE, JSON.stringify({ cluster: { name: 'c', nodes: ['n1'] }, groups: { mail: { systemList: ['n1'], resources: { imap: app, smtp: app } } } }), { mode: 0o644 });
});
afterAll(() => { fs.rmSync(WORK, { recursive: true, force: true }); });

describe('msgha completion', () => {
  it('bash: parses, names the verbs, completes verbs and group names', () => {
    const r = msgha(['completion', 'bash', '--cluster', FILE]);
    expect(r.code, r.err).toBe(0);
    const script = path.join(WORK, 'msgha.bash');
    fs.writeFileSync(script, r.out);
    expect(spawnSync('bash', ['-n', script], { encoding: 'utf8' }).status).toBe(0);
    const complete = (words: string[]): string[] => {
      const probe = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _msgha; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return spawnSync('bash', ['-c', probe], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    };
    expect(complete(['msgha', 'onl'])).toEqual(['online']);
    expect(complete(['msgha', 'status', '--j'])).toEqual(['--json']);
    expect(complete(['msgha', 'online', ''])).toEqual(expect.arrayContaining(['mail', '--wait', '--json']));
    expect(complete(['msgha', 'clear', 'mail.'])).toEqual(['mail.imap', 'mail.smtp']);
    expect(complete(['msgha', 'switch', 'mail:'])).toEqual(['mail:n1']);
  });

  it('zsh: parses (when zsh is installed) and wraps the same function', () => {
    const r = msgha(['completion', 'zsh']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^#compdef msgha\n/);
    expect(r.out).toContain('complete -o default -F _msgha msgha');
    const script = path.join(WORK, '_msgha');
    fs.writeFileSync(script, r.out);
    const zsh = spawnSync('zsh', ['-n', script], { encoding: 'utf8' });
    if (zsh.error) return; // no zsh on this machine: bash -n above covers the function
    expect(zsh.status, zsh.stderr).toBe(0);
  });

  it('an unknown shell is a usage error', () => {
    expect(msgha(['completion', 'fish']).code).toBe(2);
  });
});
