// One simulated node for the cluster tests and the benchmark: an elector for one group on the
// real shared-directory store (I/O helper process) with the real fence process. On acquire it
// arms the fence and has the fence spawn tick-service.cjs; on every renewal it renews the fence;
// on loss it stops the service, then disarms. Events go to OUT/<node>.events as JSON lines
// with CLOCK_MONOTONIC times. Env: NODE_NAME SHARED RUN_DIR OUT GROUP PROFILE, KEY_FILE (the
// cluster key, base64), NODES (cluster.nodes, comma-separated), SQUASH_UID (run the I/O helper
// as that user: its files are then owned by it, as root's are under NFS root_squash). Needs dist/.
const fs = require('node:fs');
const path = require('node:path');
const dist = path.resolve(__dirname, '..', '..', 'dist', 'plugin');
const lease = {
  ...require(path.join(dist, 'lease', 'clock.js')),
  ...require(path.join(dist, 'lease', 'cluster-profile.js')),
  ...require(path.join(dist, 'lease', 'elector.js')),
  ...require(path.join(dist, 'lease', 'helper-store.js')),
  ...require(path.join(dist, 'lease', 'profiles.js')),
  ...require(path.join(dist, 'lease', 'shared-key.js')),
};
const { FenceClient } = require(path.join(dist, 'fence', 'client.js'));

const node = process.env.NODE_NAME;
const group = process.env.GROUP || 'g';
const out = process.env.OUT;
const profile = lease.getProfile(process.env.PROFILE || 'fast');
const t = profile.timings;
const events = path.join(out, `${node}.events`);
const log = (type, extra = {}) => fs.appendFileSync(events, JSON.stringify({ t: lease.monotonicMs(), node, type, ...extra }) + '\n');

const squash = process.env.SQUASH_UID ? Number(process.env.SQUASH_UID) : undefined;
const store = new lease.HelperStore({ root: process.env.SHARED, node, ioTimeoutMs: t.ioTimeoutMs, wedgeKillMs: t.leaseMs, directIo: false, ...(squash !== undefined ? { runAs: { uid: squash, gid: squash } } : {}) });
const key = new lease.SharedDirKey(Buffer.from(fs.readFileSync(process.env.KEY_FILE, 'utf8').trim(), 'base64'), 'lc', {
  nodes: (process.env.NODES || '').split(',').filter(Boolean),
  log: { warn: (m) => log('rejected', { detail: m }), error: () => undefined, info: () => undefined, trace: () => undefined, child() { return this; }, level: 'INFO' },
});
const fence = new FenceClient({ runDir: process.env.RUN_DIR, node: process.env.FENCE_ID || node });
let service; // { pid, epoch }
let armedEpoch = 0;

async function stopService() {
  if (!service) return;
  const { pid } = service;
  try { process.kill(-pid, 'SIGTERM'); } catch { /* gone */ }
  for (let i = 0; i < 50; i++) {
    try { process.kill(pid, 0); } catch { break; }
    await new Promise((r) => setTimeout(r, 10));
    if (i === 20) { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }
  }
  service = undefined;
}

async function main() {
  const ready = await store.start();
  if (!ready.ok) { process.stderr.write(`${node}: I/O helper did not start: ${ready.message}\n`); process.exit(4); }
  try {
    const tree = await store.checkTree([group]);
    if (!tree.ok) throw new Error(tree.message);
    await lease.checkClusterProfile(store, profile, key);
  } catch (err) {
    log('refused', { detail: err.message });
    process.stderr.write(`${node}: ${err.message}\n`);
    store.close();
    process.exit(3);
  }
  const f = await fence.ensureRunning();
  log('fence', { detail: f });
  if (!f.ok) { process.stderr.write(`${node}: ${f.reason}\n`); store.close(); process.exit(4); } // no fence, no serving
  const elector = new lease.Elector({
    group, node, store, key, profile, clock: lease.monotonicClock,
    onEvent: (e) => { if (e.type !== 'renewed' && e.type !== 'observed-change') log(e.type, { epoch: e.epoch, detail: e.detail }); },
    onAcquired: async (epoch, signal, info) => {
      const tenure = elector.tenure();
      const armed = await fence.arm(group, epoch, tenure ? tenure.nonce : '', info.killRemainingMs);
      if (!armed.ok) { log('arm-refused', { epoch, detail: armed.reason }); elector.fence('fenced'); return; }
      armedEpoch = epoch;
      if (signal.aborted) return;
      const sp = await fence.spawn(group, [process.execPath, path.join(__dirname, 'tick-service.cjs'), node, String(epoch), path.join(out, `${node}.ticks`)]);
      if (sp.ok) { service = { pid: sp.pid, epoch }; log('service', { epoch, pid: sp.pid }); }
    },
    onRenewed: (info) => {
      if (armedEpoch !== info.epoch) return; // not armed yet: the kill deadline still covers us
      void fence.renew(group, info.epoch, info.killRemainingMs).then((r) => {
        if (!r.ok) { log('fence-renew-failed', { epoch: info.epoch, detail: r.reason }); elector.fence('fenced'); }
      });
    },
    onLost: async (reason, epoch) => {
      await stopService();
      armedEpoch = 0;
      await fence.disarm(group, epoch);
      log('stopped', { epoch, detail: reason });
    },
  });
  elector.start();
  process.on('SIGTERM', async () => { await elector.stop(); store.close(); process.exit(0); });
}
main();
