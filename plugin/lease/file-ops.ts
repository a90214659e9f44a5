/**
 * The shared-directory operations, synchronous, run ONLY inside the I/O helper process
 * (io-helper-child.ts) — never on an agent's event loop, where one hung NFS call would stop every
 * timer (lease-experiments.md (d)).
 *
 * Layout under the store root `<shared>/.cluster/<cluster>/`: groups/<g>/epoch.<N>,
 * groups/<g>/admin, groups/<g>/.tmp.<tag>, cluster.json, nodes/<node>.hb.
 * Guarantees: reads open a fresh fd each time (no attribute or data cache is trusted);
 * record writes never create a file; epoch creation is write tmp + fsync + link() + unlink +
 * directory fsync; with `direct`, record I/O uses O_DIRECT (writes O_DIRECT|O_DSYNC) through a
 * 512-aligned buffer, falling back to buffered I/O + fdatasync where the file system refuses
 * O_DIRECT. Errors are thrown as Node errno errors; the child turns them into values.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RECORD_SIZE } from './record';

const O_DIRECT = fs.constants.O_DIRECT ?? 0o40000;
const O_DSYNC = fs.constants.O_DSYNC ?? 0o10000;
const SAFE_NAME = /^[A-Za-z0-9_.@-]+$/;

export class FileOps {
  private aligned: Buffer | undefined;
  private directWorks: boolean;

  constructor(private readonly root: string, direct: boolean) { this.directWorks = direct && O_DIRECT !== 0; }

  private groupDir(group: string): string {
    if (!SAFE_NAME.test(group)) throw Object.assign(new Error(`bad group name '${group}'`), { code: 'EINVAL' });
    return path.join(this.root, 'groups', group);
  }

  private metaPath(name: string): string {
    const parts = name.split('/');
    if (parts.length > 2 || !parts.every((p) => SAFE_NAME.test(p) && p !== '..' && p !== '.')) {
      throw Object.assign(new Error(`bad meta name '${name}'`), { code: 'EINVAL' });
    }
    return path.join(this.root, ...parts);
  }

  /** Opens with O_DIRECT when possible; remembers a file system that refuses it. */
  private openRecord(file: string, flags: number): { fd: number; direct: boolean } {
    if (this.directWorks) {
      try {
        return { fd: fs.openSync(file, flags | O_DIRECT), direct: true };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        this.directWorks = false;
      }
    }
    return { fd: fs.openSync(file, flags), direct: false };
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

  listEpochs(group: string): number[] {
    const dir = this.groupDir(group);
    fs.mkdirSync(dir, { recursive: true });
    const out: number[] = [];
    for (const name of fs.readdirSync(dir)) {
      const m = /^epoch\.(\d+)$/.exec(name);
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  readEpoch(group: string, n: number): Buffer {
    const { fd, direct } = this.openRecord(path.join(this.groupDir(group), `epoch.${n}`), fs.constants.O_RDONLY);
    try {
      if (direct) {
        const view = this.alignedView(fd);
        const got = fs.readSync(fd, view, 0, RECORD_SIZE, 0);
        return Buffer.from(view.subarray(0, got));
      }
      const buf = Buffer.alloc(RECORD_SIZE);
      const got = fs.readSync(fd, buf, 0, RECORD_SIZE, 0);
      return buf.subarray(0, got);
    } finally {
      fs.closeSync(fd);
    }
  }

  writeEpoch(group: string, n: number, bytes: Buffer): void {
    const file = path.join(this.groupDir(group), `epoch.${n}`);
    const { fd, direct } = this.openRecord(file, fs.constants.O_WRONLY | (this.directWorks ? O_DSYNC : 0));
    try {
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
    const fd = fs.openSync(dir, fs.constants.O_RDONLY);
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  }

  private writeTmp(file: string, data: Buffer | string): void {
    const fd = fs.openSync(file, 'wx', 0o644);
    try {
      fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** link() a fully written temp file into place: exactly one creator wins. */
  private linkCreate(dir: string, target: string, tmpTag: string, data: Buffer | string): 'created' | 'exists' {
    fs.mkdirSync(dir, { recursive: true });
    if (!SAFE_NAME.test(tmpTag)) throw Object.assign(new Error(`bad temp tag '${tmpTag}'`), { code: 'EINVAL' });
    const tmp = path.join(dir, tmpTag.startsWith('.tmp.') ? tmpTag : `.tmp.${tmpTag}`);
    this.writeTmp(tmp, data);
    let result: 'created' | 'exists' = 'created';
    try {
      fs.linkSync(tmp, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') { try { fs.unlinkSync(tmp); } catch { /* GC later */ } throw err; }
      result = 'exists';
    }
    try { fs.unlinkSync(tmp); } catch { /* GC removes stale temp files */ }
    this.fsyncDir(dir);
    return result;
  }

  createEpoch(group: string, n: number, bytes: Buffer, tmpTag: string): 'created' | 'exists' {
    const dir = this.groupDir(group);
    return this.linkCreate(dir, path.join(dir, `epoch.${n}`), tmpTag, bytes);
  }

  private readText(file: string): string | null {
    try { return fs.readFileSync(file, 'utf8'); } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  private replaceText(file: string, text: string): void {
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.tmp.${process.pid}.${Date.now()}`;
    this.writeTmp(tmp, text);
    fs.renameSync(tmp, file);
    this.fsyncDir(dir);
  }

  readAdmin(group: string): string | null { return this.readText(path.join(this.groupDir(group), 'admin')); }
  writeAdmin(group: string, text: string): void { this.replaceText(path.join(this.groupDir(group), 'admin'), text); }

  gc(group: string, belowEpoch: number, tmpMaxAgeMs: number): number {
    const dir = this.groupDir(group);
    let removed = 0;
    for (const name of fs.readdirSync(dir)) {
      const m = /^epoch\.(\d+)$/.exec(name);
      const file = path.join(dir, name);
      try {
        if (m && Number(m[1]) < belowEpoch) { fs.unlinkSync(file); removed++; }
        // mtime is used only to find abandoned temp files, never for a lease decision
        else if (name.startsWith('.tmp.') && Date.now() - fs.statSync(file).mtimeMs > tmpMaxAgeMs) { fs.unlinkSync(file); removed++; }
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
