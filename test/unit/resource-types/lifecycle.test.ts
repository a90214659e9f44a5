import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getResourceType } from '../../../plugin/resource-types';
import { killPids } from '../../../plugin/proc/kill';
import { listInstanceProcesses } from '../../../plugin/proc/matching';
import { agentContext, resolvedResource } from '../../contract/agent-context';
import { fakeDaemonRoot, writeScript } from '../../helpers/fake-daemon';

let root: string;
const app = getResourceType('Application')!;

const script = (name: string, body: string, mode = 0o755): Promise<string> => writeScript(root, name, body, mode);

function ctx(attrs: Record<string, unknown>, secrets: Record<string, string> = {}, lines?: string[]) {
  return agentContext(resolvedResource('Application', 'fake', {
    PidFiles: [path.join(root, 'run', 'daemon.pid')],
    MonitorProcesses: [`${root}/bin/fakedaemon 300`],
    ProcessRoot: root, OnlineTimeout: 5, OfflineTimeout: 5, CleanTimeout: 5, ...attrs,
  }), { secrets, lines, level: lines ? 'TRACE' : undefined });
}

beforeAll(async () => {
  root = await fakeDaemonRoot('mh-life-');
  await script('start', `read secret\nprintf '%s' "$secret" > ${root}/run/secret\n${root}/bin/fakedaemon 300 > /dev/null 2>&1 &\necho $! > ${root}/run/daemon.pid`);
  await script('fail', 'echo "cannot bind port 143" >&2\nexit 1');
  await script('noexec', 'exit 0', 0o644);
});

afterAll(async () => {
  await killPids(await listInstanceProcesses(root), { graceMs: 200 });
  await fs.rm(root, { recursive: true, force: true });
});

describe('recovery classes of a failed online', () => {
  it('missing start program → move', async () => {
    const r = await app.online(ctx({ StartProgram: `${root}/bin/absent` }));
    expect(r).toMatchObject({ ok: false, recovery: 'move' });
    expect(r.reason).toContain('absent');
  });
  it('not executable → move', async () => {
    const r = await app.online(ctx({ StartProgram: `${root}/bin/noexec` }));
    expect(r).toMatchObject({ ok: false, recovery: 'move' });
    expect(r.reason).toContain('permission denied');
  });
  it('start program fails → restartable, with its output', async () => {
    const r = await app.online(ctx({ StartProgram: `${root}/bin/fail` }));
    expect(r).toMatchObject({ ok: false, recovery: 'restartable' });
    expect(r.reason).toContain('cannot bind port 143');
  });
  it('unknown User → configuration', async () => {
    const r = await app.online(ctx({ StartProgram: `${root}/bin/start`, User: 'no-such-user-x' }));
    expect(r).toMatchObject({ ok: false, recovery: 'configuration' });
  });
});

describe('Application without StopProgram', () => {
  it('starts with the secret on stdin, monitors, and stops by SIGTERM', async () => {
    const lines: string[] = [];
    const c = ctx({ StartProgram: `${root}/bin/start`, StartInputSecret: 'enc:v1:x' }, { StartInputSecret: 'pass-phrase-42' }, lines);
    expect((await app.monitor(c, { deep: false })).state).toBe('OFFLINE');
    const on = await app.online(c);
    expect(on.ok, on.reason).toBe(true);
    expect(await fs.readFile(path.join(root, 'run', 'secret'), 'utf8')).toBe('pass-phrase-42');
    const m = await app.monitor(c, { deep: false });
    expect(m.state, m.reason).toBe('ONLINE');
    const again = await app.online(c);
    expect(again.reason).toContain('not run again');
    const off = await app.offline(c);
    expect(off.ok, off.reason).toBe(true);
    expect(off.reason).toContain('SIGTERM');
    expect(await listInstanceProcesses(root)).toEqual([]);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain('pass-phrase-42');
  });
});

describe('registry', () => {
  it('knows every type and finds a missing device without side effects', async () => {
    for (const t of ['SunJESMsg', 'SunJESAdm', 'SunJESLDAP', 'NetscapeMsg', 'Application', 'IP', 'Mount']) expect(getResourceType(t)?.name).toBe(t);
    expect(getResourceType('Nope')).toBeUndefined();
    expect(getResourceType('toString')).toBeUndefined();
    // Only monitor: online would really add the address. A device that does not exist is not ONLINE.
    const ip = getResourceType('IP')!;
    const c = agentContext(resolvedResource('IP', 'vip', { Address: '192.0.2.1/24', Device: 'mh-nodev0' }));
    expect((await ip.monitor(c, { deep: false })).state).not.toBe('ONLINE');
  });
});
