/**
 * The lease store: the only operations the elector performs on the shared directory.
 * Implementations: helper-store.ts (real directory, every call in the I/O helper process with a
 * deadline) and memory-store.ts (in-memory fake with fault injection, for unit tests).
 *
 * Guarantees every implementation must give: results are values, never exceptions; createEpoch
 * is atomic create-if-absent carrying its content (link()), so each epoch has one winner;
 * writeEpoch never creates a missing file; reads return the raw bytes (possibly short or torn).
 * Not guaranteed: that a failed or timed-out write did not land later (callers must treat a
 * late landing as harmless), or that listEpochs is fresh (directory caches may lag).
 */

/**
 * REJECTED: the file is there but was not opened — a symbolic link, not a regular file, owned by
 * an unexpected user (file-ops.ts). Readers treat it like content that does not verify.
 */
export type IoCode = 'ENOENT' | 'EEXIST' | 'TIMEOUT' | 'EIO' | 'EROFS' | 'EACCES' | 'REJECTED' | 'OTHER';

/** What the start-up check of the shared directory found (file-ops.ts checkTree). */
export interface TreeCheck {
  /** The owner our own new files get there (0, or e.g. 65534 under NFS root_squash). */
  ownerUid: number;
  /** True when that is not root: anyone running as that user on any client may write there. */
  squashed: boolean;
}

/**
 * The bytes of an epoch file and which file they came from (device and inode): the same id with
 * other bytes is a change in place (only a writer of that very file can make it); another id is
 * a file replaced under the name (observation.ts tells them apart).
 */
export interface EpochBytes { bytes: Buffer; id: string }

export type IoResult<T> = { ok: true; value: T } | { ok: false; code: IoCode; message: string };

export interface LeaseStore {
  /** Epoch numbers present for the group (creates the group directory when missing). */
  listEpochs(group: string): Promise<IoResult<number[]>>;
  /** Raw bytes of `epoch.<n>` and the file's id (fresh open each time; O_DIRECT when the profile says so). */
  readEpoch(group: string, n: number): Promise<IoResult<EpochBytes>>;
  /** Writes a temp file, then link()s it to `epoch.<n>`: 'created', or 'exists' on EEXIST. */
  createEpoch(group: string, n: number, bytes: Buffer, tmpTag: string): Promise<IoResult<'created' | 'exists'>>;
  /** Rewrites `epoch.<n>` in place and flushes it (only its creator may call this). */
  writeEpoch(group: string, n: number, bytes: Buffer): Promise<IoResult<void>>;
  /** The group's operator command file (`admin`); null when there is none. */
  readAdmin(group: string): Promise<IoResult<string | null>>;
  /** Replaces the admin file atomically (tmp + rename). */
  writeAdmin(group: string, text: string): Promise<IoResult<void>>;
  /** Deletes epoch files below `belowEpoch` and claim temp files older than `tmpMaxAgeMs`. */
  gc(group: string, belowEpoch: number, tmpMaxAgeMs: number): Promise<IoResult<number>>;
  /** A cluster-level file (cluster.json, nodes/<n>.hb): its text, or null when absent. */
  readMeta(name: string): Promise<IoResult<string | null>>;
  /** Creates a cluster-level file only if absent (link()): 'created' or 'exists'. */
  createMeta(name: string, text: string): Promise<IoResult<'created' | 'exists'>>;
  /** Replaces a cluster-level file atomically (tmp + rename). */
  writeMeta(name: string, text: string): Promise<IoResult<void>>;
  /**
   * Creates the directory tree if missing and checks it (REJECTED with the path, its mode and
   * owner and the fix when a directory is a link, or writable by group or others, or owned by an
   * unexpected user). Optional: the memory store has no files.
   */
  checkTree?(groups: string[]): Promise<IoResult<TreeCheck>>;
}

export const ioOk = <T>(value: T): IoResult<T> => ({ ok: true, value });
export const ioFail = <T = never>(code: IoCode, message: string): IoResult<T> => ({ ok: false, code, message });
