// The shared directory on real files (issue 10, item 2, and the views): no link is followed
// (epoch files, group directories, gc), a directory others may write is refused with the path,
// its mode and the fix, a node view must be signed by its node and newer to count as life, and a
// multi-node cluster without its key refuses to start. The link is planted by user nobody.
// Needs `npm run build` (the I/O helper runs from dist/).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HelperStore } from '../../../plugin/lease/helper-store';
import { SharedDirKey } from '../../../plugin/lease/shared-key';
import { PeerTracker, sealView, type NodeView } from '../../../plugin/cluster/node-view';
import { loadSharedDirKey } from '../../../plugin/cluster/cluster-node';
import type { ResolvedCluster } from '../../../plugin/model/cluster-types';

const base = fs.mkdtempSync(`/tmp/mh-sd${process.pid}-`);
fs.chmodSync(base, 0o755);
const stores: HelperStore[] = [];
afterAll(() => {
  for (const s of stores) s.close();
  fs.rmSync(base, { recursive: true, force: true });
});

/** A fresh shared directory `<base>/<name>/shared` and a store on `.cluster/c` below it. */
async function tree(name: string): Promise<{ shared: string; root: string; store: HelperStore }> {
  const shared = path.join(base, name, 'shared');
  fs.mkdirSync(shared, { recursive: true, mode: 0o755 });
  const root = path.join(shared, '.cluster', 'c');
  const store = new HelperStore({ root, node: 'a', ioTimeoutMs: 5000, wedgeKillMs: 20_000, directIo: false });
  stores.push(store);
  expect((await store.start()).ok).toBe(true);
  return { shared, root, store };
}

const asNobody = (argv: string[]): void => {
  execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', ...argv], { stdio: 'pipe' });
};

describe('no link followed in the shared directory', () => {
  it('epoch.N planted by nobody as a link to a root-only file: never read nor written through, the file untouched, gc leaves both', async () => {
    const { root, store } = await tree('link');
    expect((await store.checkTree(['g'])).ok).toBe(true);
    const secretDir = path.join(base, 'link', 'secret');
    fs.mkdirSync(secretDir, { mode: 0o700 });
    const secret = path.join(secretDir, 'shadow');
    fs.writeFileSync(secret, 'root:$6$hash:19000::::::\n', { mode: 0o600 });
    const before = fs.readFileSync(secret);
    const g = path.join(root, 'groups', 'g');
    expect((await store.createEpoch('g', 6, Buffer.alloc(512, 1), '.tmp.a.x')).ok).toBe(true);
    // A misconfigured group directory others may write: nobody plants the link there…
    fs.chmodSync(g, 0o777);
    asNobody(['ln', '-s', secret, path.join(g, 'epoch.7')]);
    const w1 = await store.writeEpoch('g', 7, Buffer.alloc(512, 2));
    expect(w1).toMatchObject({ ok: false, code: 'REJECTED', message: expect.stringMatching(/groups\/g is writable by group or others \(mode 0777, owner uid 0\): refused — chmod 755/) });
    // …and with the directory fixed, the link itself is refused (O_NOFOLLOW).
    fs.chmodSync(g, 0o755);
    expect(await store.writeEpoch('g', 7, Buffer.alloc(512, 2))).toMatchObject({ ok: false, code: 'REJECTED', message: expect.stringMatching(/epoch\.7 is a symbolic link: not followed/) });
    expect(await store.readEpoch('g', 7)).toMatchObject({ ok: false, code: 'REJECTED' });
    expect(await store.gc('g', 100, 0)).toMatchObject({ ok: true, value: 1 }); // epoch.6 only
    expect(fs.lstatSync(path.join(g, 'epoch.7')).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(secret)).toEqual(before);
    expect(fs.statSync(secret).mode & 0o777).toBe(0o600);
  });

  it('a record replaced under its name (rename over it) is not rewritten by its holder', async () => {
    const { root, store } = await tree('replaced');
    expect((await store.createEpoch('g', 1, Buffer.alloc(512, 1), '.tmp.a.y')).ok).toBe(true);
    expect((await store.writeEpoch('g', 1, Buffer.alloc(512, 2))).ok).toBe(true);
    const f = path.join(root, 'groups', 'g', 'epoch.1');
    fs.writeFileSync(`${f}.new`, Buffer.alloc(512, 9));
    fs.renameSync(`${f}.new`, f);
    expect(await store.writeEpoch('g', 1, Buffer.alloc(512, 3))).toMatchObject({ ok: false, code: 'REJECTED', message: expect.stringMatching(/was replaced since this node wrote it/) });
    expect(fs.readFileSync(f)).toEqual(Buffer.alloc(512, 9));
  });

  it('a group directory that is a link is refused; so are a FIFO and a foreign-owned file where a record should be', async () => {
    const { root, store } = await tree('gdir');
    expect((await store.checkTree(['g'])).ok).toBe(true);
    const elsewhere = path.join(base, 'gdir', 'elsewhere');
    fs.mkdirSync(elsewhere);
    fs.symlinkSync(elsewhere, path.join(root, 'groups', 'h'));
    expect(await store.listEpochs('h')).toMatchObject({ ok: false, code: 'REJECTED', message: expect.stringMatching(/groups\/h is a symbolic link: refused/) });
    expect(await store.createEpoch('h', 1, Buffer.alloc(512), '.tmp.a.z')).toMatchObject({ ok: false, code: 'REJECTED' });
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    execFileSync('mkfifo', [path.join(root, 'groups', 'g', 'epoch.3')]);
    expect(await store.readEpoch('g', 3)).toMatchObject({ ok: false, code: 'REJECTED', message: expect.stringMatching(/not a regular file/) });
    const foreign = path.join(root, 'groups', 'g', 'epoch.4');
    fs.writeFileSync(foreign, Buffer.alloc(512));
    fs.chownSync(foreign, 1234, 1234);
    expect(await store.readEpoch('g', 4)).toMatchObject({ ok: false, code: 'REJECTED', message: expect.stringMatching(/owned by uid 1234/) });
    fs.writeFileSync(path.join(root, 'nodes', 'x.json'), '{}');
    fs.chownSync(path.join(root, 'nodes', 'x.json'), 1234, 1234);
    expect(await store.readMeta('nodes/x.json')).toMatchObject({ ok: false, code: 'REJECTED' });
  });

  it('a shared directory of mode 0777 is refused at start, naming the path, its mode and the fix', async () => {
    const { shared, store } = await tree('wide');
    fs.chmodSync(shared, 0o777);
    const r = await store.checkTree(['g']);
    expect(r).toMatchObject({ ok: false, code: 'REJECTED' });
    expect(!r.ok && r.message).toBe(`${shared} is writable by group or others (mode 0777, owner uid 0): refused — chmod 755 ${shared}`);
    fs.chmodSync(shared, 0o755);
    expect(await store.checkTree(['g'])).toEqual({ ok: true, value: { ownerUid: 0, squashed: false } });
  });

  it('NFS root_squash emulated (the helper runs as nobody): its files are nobody\'s, which the check reports', async () => {
    const shared = path.join(base, 'squash', 'shared');
    fs.mkdirSync(shared, { recursive: true, mode: 0o755 });
    fs.chmodSync(path.join(base, 'squash'), 0o755);
    fs.chownSync(shared, 65534, 65534);
    const store = new HelperStore({ root: path.join(shared, '.cluster', 'c'), node: 'a', ioTimeoutMs: 5000, wedgeKillMs: 20_000, directIo: false, runAs: { uid: 65534, gid: 65534 } });
    stores.push(store);
    expect((await store.start()).ok).toBe(true);
    expect(await store.checkTree(['g'])).toEqual({ ok: true, value: { ownerUid: 65534, squashed: true } });
  });
});

describe('node views', () => {
  const raw = randomBytes(32);
  const key = (o = {}) => new SharedDirKey(raw, 'c', { nodes: ['a', 'b'], ...o });
  const view = (node: string, counter: number, incarnation = 1): NodeView => ({
    version: 1, cluster: 'c', node, counter, incarnation, monoMs: counter, wallTime: '', profile: 'fast', publishMs: 500, groups: [], peers: {},
  });

  it('forged (another key), unsigned, misnamed and non-member views are rejected and never life; a replay of an older one is no life', () => {
    let t = 0;
    const k = key();
    const tr = new PeerTracker(1000, () => t, k);
    tr.observe('b', sealView(view('b', 5), k));
    t = 100; tr.observe('b', sealView(view('b', 6), new SharedDirKey(randomBytes(32), 'c')));
    expect(tr.rejected('b')).toMatch(/bad MAC/);
    t = 200; tr.observe('b', JSON.stringify(view('b', 7)));
    expect(tr.rejected('b')).toMatch(/not signed/);
    t = 300; tr.observe('b', sealView(view('a', 8), k)); // a's view under b's name: MAC domain is view\0b\0
    expect(tr.rejected('b')).toMatch(/bad MAC/);
    t = 400; tr.observe('b', sealView(view('b', 4), k)); // replay of an older view
    expect(tr.alive('b')).toBeUndefined();
    t = 1101;
    expect(tr.alive('b')).toBe(false);
    t = 1200; tr.observe('b', sealView(view('b', 9), k));
    expect(tr.alive('b')).toBe(true);
    expect(tr.view('b')?.counter).toBe(9);
    const ghost = new PeerTracker(1000, () => t, k);
    ghost.observe('ghost', sealView(view('ghost', 1), k));
    expect(ghost.rejected('ghost')).toMatch(/not in cluster.nodes/);
    expect(k.rejectedCount.view).toBe(4);
  });

  it('a restarted node (new incarnation, counter from 1) is alive again', () => {
    let t = 0;
    const k = key();
    const tr = new PeerTracker(1000, () => t, k);
    tr.observe('b', sealView(view('b', 500, 1), k));
    t = 100; tr.observe('b', sealView(view('b', 1, 2), k));
    expect(tr.alive('b')).toBe(true);
  });
});

describe('a multi-node cluster without its key', () => {
  it('refuses to start, naming the key file and msgha keygen', () => {
    const file = path.join(base, 'no-such-dir', 'cluster.key');
    const cluster = { file: '/x', settings: { name: 'c', nodes: ['a', 'b'], sharedDir: '/s', keyFile: file }, groups: [] } as unknown as ResolvedCluster;
    expect(() => loadSharedDirKey(cluster)).toThrow(new RegExp(`cluster key file ${file} does not exist.*msgha keygen --key-file ${file}`));
  });
});
