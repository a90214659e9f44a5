import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldProbes, isDeepCycle, runMonitor, type LevelResult } from '../../../plugin/resource-types/monitor-levels';
import { runMonitorProgram } from '../../../probes/monitor-program';
import { agentContext, resolvedResource } from '../../contract/agent-context';

let dir: string;

async function script(name: string, body: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

const online = async (): Promise<LevelResult> => ({ state: 'ONLINE', reason: 'running: x (pid 1)', pids: [1] });
const offline = async (): Promise<LevelResult> => ({ state: 'OFFLINE', reason: 'x not running', recovery: 'restartable' });

function ctxWith(attrs: Record<string, unknown>) {
  return agentContext(resolvedResource('Application', 'app', { StartProgram: '/bin/true', ...attrs }));
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mh-mon-'));
  await fs.chmod(dir, 0o755);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('isDeepCycle', () => {
  it('0 never, 1 always, N every N-th cycle', () => {
    expect([1, 2, 3, 4].map((c) => isDeepCycle(c, 0))).toEqual([false, false, false, false]);
    expect([1, 2, 3, 4].map((c) => isDeepCycle(c, 1))).toEqual([true, true, true, true]);
    expect([1, 2, 3, 4, 5, 6].map((c) => isDeepCycle(c, 3))).toEqual([false, false, true, false, false, true]);
  });
});

describe('MonitorProgram exit codes', () => {
  it.each([
    [110, 'ONLINE'], [0, 'ONLINE'], [100, 'OFFLINE'], [1, 'OFFLINE'], [3, 'UNKNOWN'], [255, 'UNKNOWN'],
  ])('exit %i → %s', async (code, state) => {
    const prog = await script(`exit${code}.sh`, `echo "checked with code ${code}"\nexit ${code}`);
    const r = await runMonitorProgram(prog, { timeoutMs: 5000 });
    expect(r.state).toBe(state);
    expect(r.reason).toContain(`checked with code ${code}`);
  });

  it('a nonexistent program → UNKNOWN', async () => {
    const r = await runMonitorProgram(path.join(dir, 'absent'), { timeoutMs: 5000 });
    expect(r.state).toBe('UNKNOWN');
    expect(r.reason).toContain('absent');
  });

  it('a program killed by its deadline → UNKNOWN', async () => {
    const prog = await script('slow.sh', '/bin/sleep 10');
    const r = await runMonitorProgram(prog, { timeoutMs: 300 });
    expect(r.state).toBe('UNKNOWN');
    expect(r.check.outcome).toBe('timeout');
  });

  it('gets its arguments, its EnvFile and its User, and no shell', async () => {
    const envFile = path.join(dir, 'mon.env');
    await fs.writeFile(envFile, 'WANT=yes\n');
    const prog = await script('args.sh', '[ "$1" = "a b" ] && [ "$2" = \'$X\' ] && [ "$WANT" = yes ] && [ "$(id -un)" = nobody ] && exit 110\nexit 100');
    const r = await runMonitorProgram([prog, 'a b', '$X'], { timeoutMs: 5000, envFile, user: 'nobody' });
    expect(r.state).toBe('ONLINE');
  });
});

describe('runMonitor', () => {
  it('stops at the first level when processes are missing', async () => {
    const prog = await script('never.sh', 'exit 110');
    const r = await runMonitor(ctxWith({ MonitorProgram: prog }), { deep: true }, { first: offline, second: online });
    expect(r).toMatchObject({ state: 'OFFLINE', level: 'first' });
  });

  it('skips the second level when not due, then runs the program', async () => {
    let deepRan = false;
    const prog = await script('off.sh', 'echo degraded; exit 100');
    const r = await runMonitor(ctxWith({ MonitorProgram: prog }), { deep: false }, {
      first: online, second: async () => { deepRan = true; return online(); },
    });
    expect(deepRan).toBe(false);
    expect(r).toMatchObject({ state: 'OFFLINE', level: 'program' });
    expect(r.reason).toContain('degraded');
  });

  it('does not run the program when the second level fails', async () => {
    const marker = path.join(dir, 'ran');
    const prog = await script('mark.sh', `touch ${marker}; exit 0`);
    const r = await runMonitor(ctxWith({ MonitorProgram: prog }), { deep: true }, {
      first: online, second: async () => ({ state: 'OFFLINE', reason: 'imap:143 timed out', recovery: 'restartable' }),
    });
    expect(r).toMatchObject({ state: 'OFFLINE', level: 'second' });
    expect(await fs.stat(marker).then(() => true, () => false)).toBe(false);
  });

  it('ends within MonitorTimeout even when a level hangs', async () => {
    const t0 = Date.now();
    const r = await runMonitor(ctxWith({ MonitorTimeout: 1 }), { deep: true }, {
      first: online,
      second: (_budget, signal) => new Promise((resolve) => signal.addEventListener('abort', () =>
        resolve({ state: 'OFFLINE', reason: 'probe timed out', recovery: 'restartable' }))),
    });
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(r.state).not.toBe('ONLINE');
  });
});

describe('foldProbes', () => {
  const ok = { outcome: 'ok' as const, phases: { total: 0.01 } };
  const fail = { outcome: 'fail' as const, phases: {}, reason: 'refused' };
  const timeout = { outcome: 'timeout' as const, phases: {}, reason: 'no greeting' };
  it('any: every failure counts', () => {
    expect(foldProbes([{ check: 'a', result: ok }, { check: 'b', result: fail }]).state).toBe('OFFLINE');
  });
  it('timeout-only: only timeouts count', () => {
    expect(foldProbes([{ check: 'a', result: ok }, { check: 'b', result: fail }], 'timeout-only').state).toBe('ONLINE');
    expect(foldProbes([{ check: 'a', result: timeout }], 'timeout-only').state).toBe('OFFLINE');
  });
  it('a configuration error is classified as such', () => {
    const r = foldProbes([{ check: 'ldap', result: { ...fail, configurationError: true } }]);
    expect(r).toMatchObject({ state: 'OFFLINE', recovery: 'configuration' });
  });
});
