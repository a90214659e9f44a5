/**
 * `msgha online|offline|clear --wait` against a real coordinator under an isolated PM2 daemon:
 * each resource's transitions printed with the elapsed time, the final state, the exit code;
 * --json carries the transitions; without --wait (not a terminal) only the reply's summary;
 * `clear t.nosuch` names the missing resource; status answers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterFileSource } from '../fixtures/cluster-file';
import { portBlock } from '../helpers/ports';
import { coordinatorStatus, groupOf, pm2Home, runNode, waitFor, PACKAGE_ROOT, type Pm2Home } from '../helpers/pm2';

const WORK = `/tmp/msgha-cli-progress-${process.pid}`;
const CLI = path.join(PACKAGE_ROOT, 'dist', 'plugin', 'cli', 'main.js');
// A sleep with an argument no other test uses: our daemons are found (and killed) by it.
const ARG = String(7_000_000 + process.pid);
let pm2: Pm2Home;

function daemonPids(): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try { return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(ARG); } catch { return false; }
  }).map(Number);
}

const msgha = (args: string[]) => runNode([CLI, ...args], pm2.env(), { timeoutMs: 120_000 });

beforeAll(async () => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true, mode: 0o755 });
  pm2 = await pm2Home(path.join(WORK, 'h'), { MSGHA_NODE: 'n1', MSGHA_RUN_DIR: path.join(WORK, 'run') });
  const app = { type: 'Application', MonitorInterval: 1, OnlineTimeout: 20, OfflineTimeout: 10, CleanTimeout: 10 };
  const def = {
    cluster: { name: 'progress', nodes: ['n1'], metrics: { listen: `127.0.0.1:${portBlock('spare', 9)}` } },
    groups: {
      t: {
        systemList: ['n1'],
        resources: {
          a: { ...app, StartProgram: `/usr/bin/setsid -f /bin/sleep ${ARG}`, MonitorProcesses: [`/bin/sleep ${ARG}`] },
          b: { ...app, requires: ['a'], StartProgram: `/usr/bin/setsid -f /bin/sleep ${ARG}.5`, MonitorProcesses: [`/bin/sleep ${ARG}.5`] },
        },
      },
    },
  };
  const file = path.join(WORK, 'cluster.config.js');
  fs.writeFileSync(file, clusterFileSource(path.join(PACKAGE_ROOT, 'dist', 'plugin', 'index.js'), def), { mode: 0o644 });
  const r = await pm2.cli(['start', file]);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  await waitFor('group t ONLINE', async () => groupOf(await coordinatorStatus(pm2), 't')?.state === 'ONLINE', { timeoutMs: 90_000, intervalMs: 500 });
}, 180_000);

afterAll(async () => {
  await pm2?.destroy();
  for (const pid of daemonPids()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  fs.rmSync(WORK, { recursive: true, force: true });
}, 120_000);

describe('progress of long operator verbs', () => {
  it('offline --wait prints each resource going OFFLINE with the elapsed time, then the final state', async () => {
    const r = await msgha(['offline', 't', '--wait']);
    process.stdout.write(`msgha offline t --wait:\n${r.stdout}`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\s*\+\d+\.\ds\s+n1 t\.b\s+ONLINE → (STOPPING|OFFLINE)/m);
    expect(r.stdout).toMatch(/^\s*\+\d+\.\ds\s+n1 t\.a\s+\S+ → OFFLINE/m);
    expect(r.stdout).toMatch(/done: t OFFLINE on n1\n$/);
    expect(daemonPids()).toEqual([]);
  }, 120_000);

  it('online --wait --json: the reply, the transitions in order and exit 0', async () => {
    const r = await msgha(['online', 't', '--wait', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { ok: boolean; exit: number; wait: { reached: boolean; final: string; transitions: Array<{ what: string; to: string; atMs: number }> } };
    expect(j).toMatchObject({ ok: true, exit: 0, wait: { reached: true, final: 't ONLINE on n1' } });
    const seen = j.wait.transitions.filter((x) => x.to === 'ONLINE').map((x) => x.what);
    expect(seen).toEqual(expect.arrayContaining(['n1 t.a', 'n1 t.b', 'n1 t']));
    // requires order: a online before b.
    const at = (w: string) => j.wait.transitions.find((x) => x.what === w && x.to === 'ONLINE')!.atMs;
    expect(at('n1 t.a')).toBeLessThanOrEqual(at('n1 t.b'));
  }, 120_000);

  it('without --wait and not on a terminal: only the summary', async () => {
    const r = await msgha(['online', 't']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(/^ok: /);
  }, 60_000);

  it('clear names a missing resource of an existing group; errors on stderr, or JSON on stdout', async () => {
    const r = await msgha(['clear', 't.nosuch']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("msgha clear: no resource 'nosuch' in group t (resources: a, b)\n");
    const j = await msgha(['clear', 'zz', '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, command: 'clear', exit: 1, error: expect.stringMatching(/^no group 'zz' on node n1/) });
  }, 60_000);

  it('status answers (exit 0) from the same coordinator', async () => {
    const r = await msgha(['status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/t\s+ONLINE/);
  }, 60_000);
});
