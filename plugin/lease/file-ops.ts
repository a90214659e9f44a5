/**
 * The shared-directory operations, synchronous, run ONLY inside the I/O helper process
 * (io-helper-child.ts) — never on an agent's event loop, where one hung NFS call would stop every
 * timer (lease-experiments.md (d)).
 *
 * Layout under the store root `<shared>/.cluster/<cluster>/`: groups/<g>/epoch.<N>,
 * groups/<g>/admin, groups/<g>/.tmp.<tag>, cluster.json, nodes/<node>.json.
 * Guarantees: reads open a fresh fd each time (no attribute or data cache is trusted);
 * record writes never create a file; epoch creation is write tmp + fsync + link() + unlink +
 * directory fsync; with `direct`, record I/O uses O_DIRECT (writes O_DIRECT|O_DSYNC) through a
 * 512-aligned buffer, falling back to buffered I/O + fdatasync where the file system refuses
 * O_DIRECT. No link is followed: every file is opened with O_NOFOLLOW (and O_NONBLOCK, so a FIFO
 * planted there never blocks), then fstat()ed — a regular file owned by root or by the owner our
 * own files get there, else REJECTED; every directory on the way is lstat()ed likewise (a real
 * directory, not writable by group or others); gc lstat()s and unlinks only regular files of its
 * patterns; a record is rewritten only while the file is the one this helper created or first
 * rewrote (same inode). Errors are thrown as Node errno errors (REJECTED for a refused file);
 * the child turns them into values. Not guaranteed: a directory swapped for a link between the
 * lstat and the open (Node has no openat); the start-up check refuses directories others can
 * write, which is what makes such a swap impossible.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RECORD_SIZE } from './record';
import type { EpochBytes, TreeCheck } from './store';

const O_DIRECT = fs.constants.O_DIRECT ?? 0o40000;
const O_DSYNC = fs.constants.O_DSYNC ?? 0o10000;
const O_NOFOLLOW = fs.constants.O_NOFOLLOW;
const O_NONBLOCK = fs.constants.O_NONBLOCK;
const SAFE_NAME = /^[A-Za-z0-9_.@-]+$/;
/** epoch.<N>, N without leading zeros and at most 2^53−2 (never parsed into an unsafe number). */
const EPOCH_NAME = /^epoch\.(0|[1-9][0-9]{0,15})$/;
const MAX_EPOCH = Number.MAX_SAFE_INTEGER - 1;
/** Text files (admin, views, cluster.json) are small; a bigger one is refused, not read. */
const TEXT_MAX = 1 << 20;

export function epochOfName(name: string): number | undefined {
  const m = EPOCH_NAME.exec(name);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n <= MAX_EPOCH ? n : undefined;
}

function rejected(message: string): Error {
  return Object.assign(new Error(message), { code: 'REJECTED' });
}

const modeText = (st: fs.Stats): string => `mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, owner uid ${st.uid}`;

export class FileOps {
  private aligned: Buffer | undefined;
  private directWorks: boolean;
  /** The owner our own new files get in the shared directory (probed once; see ownerUid()). */
  private probedUid: number | undefined;
  /** Inode of each record this helper created or first rewrote: a replaced file is not rewritten. */
  private readonly inodes = new Map<string, number>();

  constructor(private readonly root: string, direct: boolean) { this.directWorks = direct && O_DIRECT !== 0; }

  /** Root, this process's user, and the owner our own files get there (NFS root_squash). */
  private allowedOwner(uid: number): boolean {
    return uid === 0 || uid === process.geteuid?.() || uid === this.probedUid;
  }

  /** A directory under the root: real (not a link), not writable by group or others, expected owner. */
  private checkDir(dir: string): void {
    let st: fs.Stats;
    try { st = fs.lstatSync(dir); } catch (err) {
      throw Object.assign(new Error(`${dir}: ${(err as NodeJS.ErrnoException).code ?? 'cannot lstat'}`), { code: (err as NodeJS.ErrnoException).code });
    }
    if (st.isSymbolicLink()) throw rejected(`${dir} is a symbolic link: refused (the shared directory's own directories must be real directories; remove the link)`);
    if (!st.isDirectory()) throw rejected(`${dir} is not a directory (${modeText(st)}): refused`);
    if ((st.mode & 0o022) !== 0) throw rejected(`${dir} is writable by group or others (${modeText(st)}): refused — chmod 755 ${dir}`);
    if (!this.allowedOwner(st.uid)) throw rejected(`${dir} is owned by uid ${st.uid}, not by root or the owner of this node's files there (${modeText(st)}): refused — chown root:root ${dir}`);
  }

  /** mkdir -p below the root, then lstat every directory from the root down. */
  private ensureDirs(rel: string[]): string {
    let dir = this.root;
    for (const part of rel) {
      dir = path.join(dir, part);
      try { fs.mkdirSync(dir, { mode: 0o755 }); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; }
      this.checkDir(dir);
    }
    return dir;
  }

  /** The store root, created when missing (the start-up check has made sure of its parents). */
  private rootDir(): void {
    fs.mkdirSync(this.root, { recursive: true, mode: 0o755 });
    this.checkDir(this.root);
  }

  private groupDir(group: string): string {
    if (!SAFE_NAME.test(group) || group === '.' || group === '..') throw Object.assign(new Error(`bad group name '${group}'`), { code: 'EINVAL' });
    this.rootDir();
    return this.ensureDirs(['groups', group]);
  }

  private metaPath(name: string): string {
    const parts = name.split('/');
    if (parts.length > 2 || !parts.every((p) => SAFE_NAME.test(p) && p !== '..' && p !== '.')) {
      throw Object.assign(new Error(`bad meta name '${name}'`), { code: 'EINVAL' });
    }
    this.rootDir();
    const dir = this.ensureDirs(parts.slice(0, -1));
    return path.join(dir, parts[parts.length - 1]!);
  }

  /** Opens a file without following a link, then checks what was opened (see the header). */
  private openChecked(file: string, flags: number): { fd: number; st: fs.Stats } {
    let fd: number;
    try {
      fd = fs.openSync(file, flags | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw rejected(`${file} is a symbolic link: not followed`);
      throw err;
    }
    const st = fs.fstatSync(fd);
    const bad = !st.isFile() ? `${file} is not a regular file (${modeText(st)}): not used`
      : !this.allowedOwner(st.uid) ? `${file} is owned by uid ${st.uid}, not by root or the owner of this node's files there: not used`
        : undefined;
    if (bad) { fs.closeSync(fd); throw rejected(bad); }
    return { fd, st };
  }

  /** Opens with O_DIRECT when possible; remembers a file system that refuses it. */
  private openRecord(file: string, flags: number): { fd: number; direct: boolean; st: fs.Stats } {
    if (this.directWorks) {
      try {
        return { ...this.openChecked(file, flags | O_DIRECT), direct: true };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        this.directWorks = false;
      }
    }
    return { ...this.openChecked(file, flags), direct: false };
  }

  /**
   * A 512-byte view whose address satisfies O_DIRECT: Node gives no addresses, so try sub-views
   * of a bigger buffer until a read stops failing with EINVAL (lease-experiments.md (c)). V8
   * never moves a Buffer's backing store, so the view stays aligned.
   */
  private alignedView(fd: number): Buffer {
    if (this.aligned) return this.aligned;
    const big = Buffer.alloc(RECORD_SIZE + 8192);
    for (let off = 0; off <= 8192; off += 16) {
      const view = big.subarray(off, off + RECORD_SIZE);
      try {
        fs.readSync(fd, view, 0, RECORD_SIZE, 0);
        this.aligned = view;
        return view;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      }
    }
    throw Object.assign(new Error('no O_DIRECT-aligned buffer found'), { code: 'EINVAL' });
  }

  /**
   * The start-up check (TreeCheck): creates the tree, learns the owner our files get there with a
   * probe file, and checks the shared directory and every directory below it that we use.
   */
  checkTree(groups: string[]): TreeCheck {
    const cluster = path.dirname(this.root);
    const shared = path.dirname(cluster);
    fs.mkdirSync(this.root, { recursive: true, mode: 0o755 });
    const probe = path.join(this.root, `.owner-probe.${process.pid}`);
    const fd = fs.openSync(probe, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | O_NOFOLLOW, 0o644);
    try { this.probedUid = fs.fstatSync(fd).uid; } finally { fs.closeSync(fd); fs.rmSync(probe, { force: true }); }
    for (const dir of [shared, cluster, this.root]) this.checkDir(dir);
    this.ensureDirs(['groups']);
    this.ensureDirs(['nodes']);
    for (const g of groups) this.groupDir(g);
    return { ownerUid: this.probedUid, squashed: this.probedUid !== 0 };
  }

  listEpochs(group: string): number[] {
    const dir = this.groupDir(group);
    const out: number[] = [];
    for (const name of fs.readdirSync(dir)) {
      const n = epochOfName(name);
      if (n !== undefined) out.push(n);
    }
    return out.sort((a, b) => a - b);
  }

  readEpoch(group: string, n: number): EpochBytes {
    const { fd, direct, st } = this.openRecord(path.join(this.groupDir(group), `epoch.${n}`), fs.constants.O_RDONLY);
    const id = `${st.dev}:${st.ino}`;
    try {
      if (direct) {
        const view = this.alignedView(fd);
        const got = fs.readSync(fd, view, 0, RECORD_SIZE, 0);
        return { bytes: Buffer.from(view.subarray(0, got)), id };
      }
      const buf = Buffer.alloc(RECORD_SIZE);
      const got = fs.readSync(fd, buf, 0, RECORD_SIZE, 0);
      return { bytes: buf.subarray(0, got), id };
    } finally {
      fs.closeSync(fd);
    }
  }

  writeEpoch(group: string, n: number, bytes: Buffer): void {
    const file = path.join(this.groupDir(group), `epoch.${n}`);
    const { fd, direct, st } = this.openRecord(file, fs.constants.O_WRONLY | (this.directWorks ? O_DSYNC : 0));
    try {
      const known = this.inodes.get(file);
      if (known !== undefined && known !== st.ino) throw rejected(`${file} was replaced since this node wrote it (inode ${st.ino}, was ${known}): not rewritten`);
      this.inodes.set(file, st.ino);
      if (direct) {
        const view = this.alignedView(fd);
        bytes.copy(view);
        fs.writeSync(fd, view, 0, RECORD_SIZE, 0);
      } else {
        fs.writeSync(fd, bytes, 0, bytes.length, 0);
        fs.fdatasyncSync(fd);
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  private fsyncDir(dir: string): void {
    const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | O_NOFOLLOW);
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  }

  /** A new file: O_CREAT|O_EXCL never opens an existing file or a link. */
  private writeTmp(file: string, data: Buffer | string): number {
    const fd = fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | O_NOFOLLOW, 0o644);
    try {
      fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fs.fsyncSync(fd);
      return fs.fstatSync(fd).ino;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** link() a fully written temp file into place: exactly one creator wins. */
  private linkCreate(dir: string, target: string, tmpTag: string, data: Buffer | string): 'created' | 'exists' {
    if (!SAFE_NAME.test(tmpTag)) throw Object.assign(new Error(`bad temp tag '${tmpTag}'`), { code: 'EINVAL' });
    const tmp = path.join(dir, tmpTag.startsWith('.tmp.') ? tmpTag : `.tmp.${tmpTag}`);
    const ino = this.writeTmp(tmp, data);
    let result: 'created' | 'exists' = 'created';
    try {
      fs.linkSync(tmp, target);
      this.inodes.set(target, ino);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') { try { fs.unlinkSync(tmp); } catch { /* GC later */ } throw err; }
      result = 'exists';
    }
    try { fs.unlinkSync(tmp); } catch { /* GC removes stale temp files */ }
    this.fsyncDir(dir);
    return result;
  }

  createEpoch(group: string, n: number, bytes: Buffer, tmpTag: string): 'created' | 'exists' {
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_EPOCH) throw Object.assign(new Error(`bad epoch ${n}`), { code: 'EINVAL' });
    const dir = this.groupDir(group);
    return this.linkCreate(dir, path.join(dir, `epoch.${n}`), tmpTag, bytes);
  }

  private readText(file: string): string | null {
    let opened: { fd: number; st: fs.Stats };
    try { opened = this.openChecked(file, fs.constants.O_RDONLY); } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const { fd, st } = opened;
    try {
      if (st.size > TEXT_MAX) throw rejected(`${file} is ${st.size} bytes, more than ${TEXT_MAX}: not read`);
      const buf = Buffer.alloc(Math.min(TEXT_MAX, st.size + 1));
      let got = 0;
      while (got < buf.length) {
        const k = fs.readSync(fd, buf, got, buf.length - got, got);
        if (k === 0) break;
        got += k;
      }
      return buf.subarray(0, got).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  }

  /** tmp + rename: rename() replaces the name (a link there included) and never follows it. */
  private replaceText(file: string, text: string): void {
    const dir = path.dirname(file);
    const tmp = `${file}.tmp.${process.pid}.${Date.now()}`;
    this.writeTmp(tmp, text);
    fs.renameSync(tmp, file);
    this.fsyncDir(dir);
  }

  readAdmin(group: string): string | null { return this.readText(path.join(this.groupDir(group), 'admin')); }
  writeAdmin(group: string, text: string): void { this.replaceText(path.join(this.groupDir(group), 'admin'), text); }

  /** Deletes old epochs and abandoned temp files: lstat, never follows, only regular files. */
  gc(group: string, belowEpoch: number, tmpMaxAgeMs: number): number {
    const dir = this.groupDir(group);
    let removed = 0;
    for (const name of fs.readdirSync(dir)) {
      const n = epochOfName(name);
      const tmp = name.startsWith('.tmp.');
      if ((n === undefined || n >= belowEpoch) && !tmp) continue;
      const file = path.join(dir, name);
      try {
        const st = fs.lstatSync(file);
        if (!st.isFile() || !this.allowedOwner(st.uid)) continue;
        // mtime is used only to find abandoned temp files, never for a lease decision
        if (tmp && Date.now() - st.mtimeMs <= tmpMaxAgeMs) continue;
        fs.unlinkSync(file);
        removed++;
      } catch { /* raced with another GC */ }
    }
    return removed;
  }

  readMeta(name: string): string | null { return this.readText(this.metaPath(name)); }

  createMeta(name: string, text: string, tmpTag: string): 'created' | 'exists' {
    const file = this.metaPath(name);
    return this.linkCreate(path.dirname(file), file, tmpTag, text);
  }

  writeMeta(name: string, text: string): void { this.replaceText(this.metaPath(name), text); }
}
