/**
 * Mount: a shared disk (block device or disk image) mounted where its group runs.
 * online: refuse when the device is already mounted anywhere in this node's view
 * (/proc/self/mountinfo) or something else is mounted on the mount point; optional fsck;
 * `mount -t FSType -o MountOpt BlockDevice MountPoint` (an image file gets `-o loop`); then
 * the fencing marker `.cluster-epoch`: newer than our lease epoch → unmount and refuse
 * (recovery 'configuration': another node owns the volume), else write our epoch and fsync.
 * monitor: mounted per mountinfo, marker not newer than ours, optional status-file write/read
 * under the monitor deadline. offline: umount with retries. clean: umount; if busy, kill the
 * processes holding the mount (cwd, root, exe, open files, mapped files under it, found in
 * /proc) EXCEPT our own (agents, coordinator, fence, PM2: an agent reading its pid file on the
 * mount while it self-fences must not be killed by its neighbour), umount again, and as a last
 * resort `umount -l`, saying so.
 * Not guaranteed: processes in other mount namespaces are not seen as holders; a lazy unmount
 * leaves the file system alive until its last user exits (the fence kills those).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { leaseHooks } from '../lease/hooks';
import type { AttrDecl } from '../model/attributes';
import { str } from '../model/check-context';
import { attrReader, execBase } from './attr-access';
import { parseArgv } from '../core/argv';
import { describeExit, execProgram, outputTail, type ExecOptions } from '../core/exec';
import { ownProcess } from '../proc/own';
import { killPids } from '../proc/kill';
import type { MountEntry } from '../proc/mountinfo';
import { parseMountinfo } from '../proc/mountinfo';
import type { ActionResult, MonitorResult } from '../core/results';
import { defineType, rule, type AgentContext } from './contract';

const ATTRIBUTES = [
  { name: 'BlockDevice', kind: 'path', required: true, example: '/dev/mapper/mailvg-mail', doc: 'Device (or disk image) to mount.' },
  { name: 'MountPoint', kind: 'path', required: true, example: '/sunone', doc: 'Directory to mount it on.' },
  { name: 'FSType', kind: 'string', required: true, example: 'ext4', doc: 'File-system type.' },
  { name: 'MountOpt', kind: 'string', example: 'noatime', doc: 'Mount options (comma-separated).' },
  { name: 'FsckOpt', kind: 'string', example: '-p', doc: 'Run fsck with these options before mounting (unset = no fsck).' },
  { name: 'StatusFile', kind: 'bool', default: false,
    doc: 'Monitor also writes and reads back a status file on the mounted disk.' },
  { name: 'EpochMarker', kind: 'bool', default: true,
    doc: 'Check and write the fencing marker .cluster-epoch on the volume: a newer epoch there means another node took the group over, so mounting is refused.' },
  { name: 'FenceProgram', kind: 'command', runsBeforeMount: true, example: '/usr/local/sbin/msgha-scsi-fence /dev/disk/by-id/wwn-0x600a0b8000',
    doc: 'Storage fence, run before every mount: it must leave this node the only one that can write the device (e.g. SCSI-3 persistent reservations) and exit 0, or nothing is mounted. Told MSGHA_FENCE_ACTION=claim, MSGHA_NODE, MSGHA_GROUP, MSGHA_DEVICE, MSGHA_MOUNT_POINT and MSGHA_EPOCH in its environment.' },
] as const satisfies readonly AttrDecl[];

const attr = attrReader(ATTRIBUTES);

export const EPOCH_MARKER = '.cluster-epoch';
const STATUS_FILE = '.msgha-status';
const UMOUNT_TRIES = 3;


function readMountinfo(): MountEntry[] {
  try { return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')); } catch { return []; }
}

const devOf = (rdev: number): string => `${(rdev >> 8) & 0xfff}:${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}`;

/** major:minor numbers that stand for the device: the block device itself, or the loop devices backing an image. */
function deviceIds(device: string): { ids: Set<string>; isFile: boolean; missing: boolean } {
  const ids = new Set<string>();
  let st: fs.Stats;
  try { st = fs.statSync(device); } catch { return { ids, isFile: false, missing: true }; }
  if (st.isBlockDevice()) { ids.add(devOf(st.rdev)); return { ids, isFile: false, missing: false }; }
  const real = fs.realpathSync(device);
  try {
    for (const name of fs.readdirSync('/sys/block')) {
      if (!name.startsWith('loop')) continue;
      try {
        const backing = fs.readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim();
        if (backing === real) ids.add(fs.readFileSync(`/sys/block/${name}/dev`, 'utf8').trim());
      } catch { /* not set up */ }
    }
  } catch { /* no sysfs */ }
  return { ids, isFile: st.isFile(), missing: false };
}

interface Spec { device: string; mountPoint: string; fsType: string; options?: string; fsck?: string }

function spec(ctx: AgentContext): Spec | string {
  const missing = attr.missing(ctx);
  if (missing) return missing;
  const device = attr.required(ctx, 'BlockDevice');
  const mp = attr.required(ctx, 'MountPoint');
  if (!path.isAbsolute(device) || !path.isAbsolute(mp)) return 'BlockDevice and MountPoint must be absolute paths';
  return { device, mountPoint: path.resolve(mp), fsType: attr.required(ctx, 'FSType'), options: attr.text(ctx, 'MountOpt'), fsck: attr.text(ctx, 'FsckOpt') };
}

interface View { ours: MountEntry | undefined; elsewhere: MountEntry[]; onMountPoint: MountEntry | undefined; isFile: boolean; missing: boolean }

function view(s: Spec): View {
  const { ids, isFile, missing } = deviceIds(s.device);
  const entries = readMountinfo();
  const mine = (e: MountEntry): boolean => ids.has(e.majmin) || e.source === s.device;
  const atMp = entries.filter((e) => e.mountPoint === s.mountPoint);
  const top = atMp[atMp.length - 1];
  return {
    ours: top && mine(top) ? top : undefined,
    elsewhere: entries.filter((e) => mine(e) && e.mountPoint !== s.mountPoint),
    onMountPoint: top && !mine(top) ? top : undefined,
    isFile, missing,
  };
}

const opts = (ctx: AgentContext, timeoutMs: number): ExecOptions => ({ ...execBase(ctx, ctx.log), containerName: undefined, timeoutMs, signal: ctx.signal });

export function readMarker(mountPoint: string): number | undefined {
  try {
    const v = Number(fs.readFileSync(path.join(mountPoint, EPOCH_MARKER), 'utf8').trim());
    return Number.isInteger(v) && v >= 0 ? v : undefined;
  } catch { return undefined; }
}

/** Writes the marker durably: temp file, fsync, rename, fsync of the directory. */
export function writeMarker(mountPoint: string, epoch: number): void {
  const file = path.join(mountPoint, EPOCH_MARKER);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try { fs.writeSync(fd, `${epoch}\n`); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  fs.renameSync(tmp, file);
  const dfd = fs.openSync(mountPoint, 'r');
  try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
}

async function umount(ctx: AgentContext, mp: string, lazy = false): Promise<{ ok: boolean; why: string }> {
  const r = await execProgram(['umount', ...(lazy ? ['-l'] : []), mp], opts(ctx, 30_000));
  return { ok: r.code === 0, why: r.code === 0 ? '' : `umount ${describeExit(r)}: ${outputTail(r)}` };
}

/**
 * FenceProgram: before mounting, take the device away from every other node at the storage
 * itself — the one guard that also holds when the previous holder was paused past its lease
 * and its kernel or daemons write again after it is continued. Undefined when claimed (or none).
 */
async function claimStorage(ctx: AgentContext, s: Spec): Promise<ActionResult | undefined> {
  const argv = attr.command(ctx, 'FenceProgram');
  if (!argv) return undefined;
  const env = {
    MSGHA_FENCE_ACTION: 'claim', MSGHA_NODE: ctx.node, MSGHA_GROUP: ctx.resource.group,
    MSGHA_DEVICE: s.device, MSGHA_MOUNT_POINT: s.mountPoint, MSGHA_EPOCH: String(leaseHooks().epoch(ctx.resource.group)),
  };
  const r = await execProgram(argv, { ...opts(ctx, attr.ms(ctx, 'OnlineTimeout')), env });
  if (r.code !== 0) return { ok: false, recovery: 'restartable', reason: `FenceProgram ${describeExit(r)}: ${outputTail(r)} — ${s.device} not mounted` };
  const said = r.stdout.trim().split('\n').at(-1);
  ctx.log.info(`storage fence: ${s.device} claimed for this node${said ? ` (${said.slice(0, 200)})` : ''}`);
  return undefined;
}

async function online(ctx: AgentContext): Promise<ActionResult> {
  const s = spec(ctx);
  if (typeof s === 'string') return { ok: false, recovery: 'configuration', reason: s };
  const v = view(s);
  if (v.missing) return { ok: false, recovery: 'move', reason: `${s.device} does not exist on this node` };
  if (!v.ours) {
    if (v.elsewhere.length) return { ok: false, recovery: 'configuration', reason: `${s.device} is already mounted on ${v.elsewhere.map((e) => e.mountPoint).join(', ')} in this node's view: refusing to mount it twice` };
    if (v.onMountPoint) return { ok: false, recovery: 'configuration', reason: `mount point ${s.mountPoint} is busy: ${v.onMountPoint.source} (${v.onMountPoint.fsType}) is mounted there` };
    fs.mkdirSync(s.mountPoint, { recursive: true });
    const fenced = await claimStorage(ctx, s);
    if (fenced) return fenced;
    if (s.fsck) {
      const args = parseArgv(s.fsck);
      if (!args.ok) return { ok: false, recovery: 'configuration', reason: 'FsckOpt has an unclosed quote' };
      const f = await execProgram(['fsck', '-t', s.fsType, ...args.argv, s.device], opts(ctx, attr.ms(ctx, 'OnlineTimeout')));
      // fsck: 0 = clean, 1 = errors corrected; anything else needs the operator
      if (f.code !== 0 && f.code !== 1) return { ok: false, recovery: 'configuration', reason: `fsck of ${s.device} ${describeExit(f)}: ${outputTail(f)}` };
    }
    const o = [...(s.options ? [s.options] : []), ...(v.isFile ? ['loop'] : [])].join(',');
    const m = await execProgram(['mount', '-t', s.fsType, ...(o ? ['-o', o] : []), s.device, s.mountPoint], opts(ctx, attr.ms(ctx, 'OnlineTimeout')));
    if (m.code !== 0) return { ok: false, recovery: 'restartable', reason: `mount ${describeExit(m)}: ${outputTail(m)}` };
  }
  if (!attr.bool(ctx, 'EpochMarker')) return { ok: true, reason: `${s.device} mounted on ${s.mountPoint}` };
  const ours = leaseHooks().epoch(ctx.resource.group);
  const onDisk = readMarker(s.mountPoint);
  if (onDisk !== undefined && onDisk > ours) {
    const u = await umount(ctx, s.mountPoint);
    return { ok: false, recovery: 'configuration', reason: `fenced: ${s.device} carries epoch ${onDisk}, newer than this node's lease epoch ${ours} — another node took the group over; unmounted${u.ok ? '' : ` (unmount failed: ${u.why})`}` };
  }
  try { writeMarker(s.mountPoint, ours); } catch (err) {
    return { ok: false, recovery: 'restartable', reason: `cannot write ${EPOCH_MARKER} on ${s.mountPoint}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  return { ok: true, reason: `${s.device} mounted on ${s.mountPoint}, epoch ${ours} written` };
}

async function statusCheck(mp: string, timeoutMs: number): Promise<string | undefined> {
  const token = `${process.pid}.${Math.random().toString(36).slice(2)}`;
  const file = path.join(mp, STATUS_FILE);
  const work = (async () => {
    await fs.promises.writeFile(file, token);
    const h = await fs.promises.open(file, 'r+');
    try { await h.sync(); } finally { await h.close(); }
    return (await fs.promises.readFile(file, 'utf8')) === token ? undefined : 'status file read back different content';
  })().catch((err: NodeJS.ErrnoException) => `status file: ${err.code ?? err.message}`);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((r) => { timer = setTimeout(() => r(`status file write/read took longer than ${timeoutMs} ms`), timeoutMs); });
  const r = await Promise.race([work, late]);
  clearTimeout(timer);
  return r;
}

async function monitor(ctx: AgentContext): Promise<MonitorResult> {
  const s = spec(ctx);
  if (typeof s === 'string') return { state: 'UNKNOWN', recovery: 'configuration', reason: s };
  const v = view(s);
  if (!v.ours) {
    if (v.elsewhere.length) return { state: 'OFFLINE', recovery: 'restartable', level: 'first', reason: `${s.device} is mounted on ${v.elsewhere[0]!.mountPoint}, not on ${s.mountPoint}` };
    return { state: 'OFFLINE', recovery: 'restartable', level: 'first', reason: `${s.device} is not mounted on ${s.mountPoint}` };
  }
  const ours = leaseHooks().epoch(ctx.resource.group);
  if (attr.bool(ctx, 'EpochMarker') && ours > 0) {
    const onDisk = readMarker(s.mountPoint);
    if (onDisk !== undefined && onDisk > ours) return { state: 'OFFLINE', recovery: 'configuration', level: 'first', reason: `fenced: the volume carries epoch ${onDisk}, newer than ours (${ours})` };
  }
  if (attr.bool(ctx, 'StatusFile')) {
    const bad = await statusCheck(s.mountPoint, Math.max(500, attr.ms(ctx, 'MonitorTimeout') - 500));
    if (bad) return { state: 'UNKNOWN', level: 'second', reason: bad };
  }
  return { state: 'ONLINE', level: 'first', reason: `${s.device} mounted on ${s.mountPoint} (${v.ours.fsType})` };
}

async function offline(ctx: AgentContext): Promise<ActionResult> {
  const s = spec(ctx);
  if (typeof s === 'string') return { ok: true, reason: `nothing to unmount (${s})` };
  let why = '';
  for (let i = 0; i < UMOUNT_TRIES; i++) {
    if (!view(s).ours) return { ok: true, reason: `${s.mountPoint} is unmounted` };
    const u = await umount(ctx, s.mountPoint);
    if (u.ok) return { ok: true, reason: `${s.mountPoint} unmounted` };
    why = u.why;
    await new Promise((r) => setTimeout(r, 500));
  }
  const holders = findHolders(s.mountPoint);
  return { ok: false, recovery: 'restartable', reason: `${why}${holders.length ? ` (held by pids ${holders.join(',')})` : ''}` };
}

/** Pids whose cwd, root, executable, open files or mapped files are under `mp` (this mount namespace's view). */
export function findHolders(mp: string): number[] {
  const under = (p: string): boolean => p === mp || p.startsWith(mp.endsWith('/') ? mp : mp + '/');
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    const base = `/proc/${d}`;
    const link = (p: string): string => { try { return fs.readlinkSync(p); } catch { return ''; } };
    let hit = ['cwd', 'root', 'exe'].some((k) => k !== 'root' ? under(link(`${base}/${k}`)) : link(`${base}/root`) !== '/' && under(link(`${base}/root`)));
    if (!hit) {
      try { hit = fs.readdirSync(`${base}/fd`).some((fd) => under(link(`${base}/fd/${fd}`))); } catch { /* exited or no access */ }
    }
    if (!hit) {
      try { hit = fs.readFileSync(`${base}/maps`, 'utf8').split('\n').some((l) => { const i = l.indexOf('/'); return i > 0 && under(l.slice(i)); }); } catch { /* exited */ }
    }
    if (hit) out.push(Number(d));
  }
  return out;
}

async function clean(ctx: AgentContext): Promise<ActionResult> {
  const s = spec(ctx);
  if (typeof s === 'string') return { ok: true, reason: `nothing to unmount (${s})` };
  if (!view(s).ours) return { ok: true, reason: `${s.mountPoint} is unmounted` };
  const first = await umount(ctx, s.mountPoint);
  if (first.ok) return { ok: true, reason: `${s.mountPoint} unmounted` };
  const all = findHolders(s.mountPoint);
  // Our own processes only pass by (an agent reading its pid file): they are never killed.
  const ours = all.filter((pid) => ownProcess(pid) !== undefined);
  const holders = all.filter((pid) => !ours.includes(pid));
  if (ours.length) ctx.log.info(`not killing our own processes holding ${s.mountPoint}: ${ours.join(',')}`);
  let killed = ours.length ? `spared our own processes ${ours.join(',')}; ` : '';
  if (holders.length) {
    const rep = await killPids(holders, { graceMs: 1000, log: ctx.log });
    killed += `killed holders ${rep.signalled.join(',')}${rep.survivors.length ? ` (survivors ${rep.survivors.join(',')})` : ''}; `;
  }
  const second = await umount(ctx, s.mountPoint);
  if (second.ok) return { ok: true, reason: `${killed}${s.mountPoint} unmounted` };
  const lazy = await umount(ctx, s.mountPoint, true);
  if (lazy.ok) return { ok: true, reason: `${killed}${s.mountPoint} could not be unmounted (${second.why}); detached LAZILY with umount -l — the file system stays alive until its last user exits` };
  return { ok: false, recovery: 'restartable', reason: `${killed}${lazy.why}` };
}

export const mountType = defineType({
  name: 'Mount',
  summary: 'Shared-disk mount that moves with its group, guarded by the .cluster-epoch marker.',
  attributes: ATTRIBUTES,
  rules: [
    rule(['FsckOpt'], (r) => {
      const opt = str(r.attrs.FsckOpt);
      if (opt !== undefined && !parseArgv(opt).ok) r.error('FsckOpt', 'has an unclosed quote', 'options are split on white space, quotes group words; no shell');
    }),
  ],
  online,
  offline,
  monitor,
  clean,
});
