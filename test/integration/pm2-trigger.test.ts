/**
 * The CLI's trigger (pm2-client.ts) against a real PM2 daemon: an action that answers at once,
 * asked from fresh processes — as every `msgha <verb>` is — while the CPU is busy. PM2's own
 * pm2.trigger() lost 10 of 12 such replies here (the reply came before the daemon's count of
 * receivers, and the call then waited forever); every one must be answered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pm2Home, runNode, PACKAGE_ROOT, type Pm2Home } from '../helpers/pm2';

const WORK = `/tmp/msgha-trg-${process.pid}`;
let home: Pm2Home;
let busy: ChildProcess | undefined;

const APP = `
const io = require(${JSON.stringify(path.join(PACKAGE_ROOT, 'node_modules', '@pm2', 'io'))});
io.action('echo', (param, reply) => reply({ echoed: param }));
setInterval(() => {}, 1000);
`;

const ASK = `
const client = require(${JSON.stringify(path.join(PACKAGE_ROOT, 'dist', 'plugin', 'pm2', 'pm2-client.js'))});
(async () => {
  await client.connect();
  const rows = await client.trigger('trg', 'echo', process.argv[1]);
  process.stdout.write(JSON.stringify(rows));
  process.exit(0);
})().catch((e) => { process.stderr.write(String(e)); process.exit(1); });
`;

beforeAll(async () => {
  fs.mkdirSync(WORK, { recursive: true });
  fs.writeFileSync(path.join(WORK, 'app.js'), APP);
  home = await pm2Home(path.join(WORK, 'home'));
  const r = await home.cli(['start', path.join(WORK, 'app.js'), '--name', 'trg']);
  expect(r.code, r.stderr).toBe(0);
  // @pm2/io registers the action a moment after start.
  await new Promise((res) => setTimeout(res, 1500));
  // A busy loop at the lowest priority is enough to reorder the sockets' events (PM2's trigger
  // lost 10 of 12 replies with it, 0 of 12 without) and barely slows the files running beside us.
  busy = spawn('nice', ['-n', '19', process.execPath, '-e', 'for(;;){}'], { stdio: 'ignore' });
}, 60_000);

afterAll(async () => {
  busy?.kill('SIGKILL');
  await home?.kill();
  fs.rmSync(WORK, { recursive: true, force: true });
}, 60_000);

describe('trigger from a fresh process (pm2-client)', () => {
  it('every prompt reply reaches the caller, with the process that sent it', async () => {
    for (let i = 0; i < 12; i++) {
      const r = await runNode(['-e', ASK, `n${i}`], home.env(), { timeoutMs: 20_000 });
      expect(r.code, `ask #${i}: ${r.stderr}`).toBe(0);
      const rows = JSON.parse(r.stdout) as Array<{ name: string; value: unknown }>;
      expect(rows).toEqual([{ name: 'trg', pmId: 0, value: { echoed: `n${i}` } }]);
    }
  }, 300_000);

  it('an unknown target is refused at once with its name', async () => {
    const r = await runNode(['-e', ASK.replace("'trg'", "'nosuch'"), 'x'], home.env(), { timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no process named nosuch received echo');
  }, 30_000);
});
