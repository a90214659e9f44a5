// What the owner and identity checks (issue 10, item 3) cost a first-level check: 100 processes
// of one instance (sleep under the instance's name), checked the way the agent checks them.
// Prints µs per check; asserts nothing about time (the machine runs other test files at once).
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { getResourceType } from '../../../plugin/resource-types';
import { processesPresent } from '../../../plugin/resource-types/first-level';
import { processOwners } from '../../../plugin/resource-types/process-owner';
import { invalidateSnapshot, startTimeOf } from '../../../plugin/proc/table';
import { agentContext, resolvedResource } from '../../contract/agent-context';
import { fakeDaemonRoot } from '../../helpers/fake-daemon';
import { waitFor } from '../../helpers/pm2';

const N = 100;
const ROUNDS = 200;
const app = getResourceType('Application')!;
let root: string;
const kids: ChildProcess[] = [];

beforeAll(async () => {
  root = await fakeDaemonRoot(`mh-pids-cost-${process.pid}-`);
  for (let i = 0; i < N; i++) kids.push(spawn(`${root}/bin/fakedaemon`, ['1000'], { stdio: 'ignore', detached: true }));
  await waitFor('100 daemons', () => kids.every((k) => startTimeOf(k.pid!) !== undefined), { timeoutMs: 20_000, intervalMs: 50 });
});

afterAll(async () => {
  for (const k of kids) { try { process.kill(k.pid!, 'SIGKILL'); } catch { /* gone */ } }
  await fs.rm(root, { recursive: true, force: true });
});

/** CPU time (user + system) per check, in µs: less disturbed than wall time by other test files. */
async function perCheckUs(check: () => Promise<unknown>, fresh: boolean): Promise<number> {
  for (let i = 0; i < 20; i++) { if (fresh) invalidateSnapshot(); await check(); }
  const t0 = process.cpuUsage();
  for (let i = 0; i < ROUNDS; i++) { if (fresh) invalidateSnapshot(); await check(); }
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / ROUNDS;
}

it(`first-level check of an instance with ${N} processes: µs per check`, async () => {
  const ctx = agentContext(resolvedResource('Application', 'cost', {
    StartProgram: `${root}/bin/fakedaemon 1000`, MonitorProcesses: [`${root}/bin/fakedaemon 1000`],
  }));
  const first = await app.monitor(ctx, { deep: false });
  expect(first.state, first.reason).toBe('ONLINE');
  expect(first.pids).toHaveLength(N);
  const matchers = [{ name: 'fakedaemon', root }];
  const owners = await processOwners(ctx);
  const named = await processesPresent(matchers, root, owners);
  expect(named.pids).toHaveLength(N);
  const r = {
    applicationSteady: await perCheckUs(() => app.monitor(ctx, { deep: false }), false),
    applicationFreshScan: await perCheckUs(() => app.monitor(ctx, { deep: false }), true),
    namedSteady: await perCheckUs(() => processesPresent(matchers, root, owners), false),
    namedFreshScan: await perCheckUs(() => processesPresent(matchers, root, owners), true),
  };
  console.log(`pids-cost (${N} processes, ${ROUNDS} rounds, CPU µs per check): ${JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v)])))}`);
});
