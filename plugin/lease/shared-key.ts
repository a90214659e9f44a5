/**
 * The key that authenticates what the nodes write into the shared directory (docs/lease.md,
 * "Who may write the shared directory"): lease records, node views, admin requests and
 * cluster.json. Derived from the cluster key (`msgha keygen`) with HKDF-SHA256, salt
 * "msgha shared-dir", info "mac:<cluster>", so a key of one cluster never verifies another's
 * records. Every MAC is HMAC-SHA256 over a domain prefix and the bytes, and the prefix names the
 * kind and its place, so a record of one kind or place never verifies as another:
 *   lease\0<group>\0<epoch>\0   view\0<node>\0   admin\0<group>\0   cluster\0
 *
 * Also the cluster's member list (holders and views must name a member) and the one place that
 * counts and logs what did not verify: each (file, reason) is logged once a minute at most, so a
 * hostile writer cannot flood the log, and counted every time (msgha_shared_dir_rejected_total).
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../core/log';

export const MAC_BYTES = 32;

/** What a rejected read was (the `kind` label of msgha_shared_dir_rejected_total). */
export type RejectKind = 'lease' | 'view' | 'admin' | 'cluster';

export const domains = {
  lease: (group: string, epoch: number): string => `lease\0${group}\0${epoch}\0`,
  view: (node: string): string => `view\0${node}\0`,
  admin: (group: string): string => `admin\0${group}\0`,
  cluster: (): string => 'cluster\0',
};

export interface SharedKeyOptions {
  /** cluster.nodes: a holder, a handoff target or a view must name one of them (undefined: any). */
  nodes?: readonly string[];
  /** cluster.lease.acceptUnsigned: read format-1 records, views and admin files by the old rules. */
  acceptUnsigned?: boolean;
  log?: Logger;
  /** Called for every rejected read (the metric). */
  onRejected?: (kind: RejectKind) => void;
}

const PROCESS_KEY = randomBytes(32);

/** How long a rejection of one file for one reason stays out of the log after it was logged. */
const LOG_EVERY_MS = 60_000;

export class SharedDirKey {
  readonly acceptUnsigned: boolean;
  private readonly macKey: Buffer;
  private readonly members: ReadonlySet<string> | undefined;
  private readonly logged = new Map<string, number>();
  /** Admin requests are replays when their seq is below one already verified (admin.ts). */
  private readonly adminSeqs = new Map<string, { seq: number; request: unknown }>();
  /** Rejections per kind since start (status and tests). */
  readonly rejectedCount: Record<RejectKind, number> = { lease: 0, view: 0, admin: 0, cluster: 0 };

  constructor(clusterKey: Buffer, readonly cluster: string, private readonly o: SharedKeyOptions = {}) {
    if (clusterKey.length < 16) throw new Error(`the cluster key of cluster ${cluster} is too short (${clusterKey.length} bytes)`);
    this.macKey = Buffer.from(hkdfSync('sha256', clusterKey, 'msgha shared-dir', `mac:${cluster}`, 32));
    this.members = o.nodes ? new Set(o.nodes) : undefined;
    this.acceptUnsigned = o.acceptUnsigned === true;
  }

  /**
   * A key of this process only, the same for every call with the same cluster name: for tests and
   * benchmarks that run every node in one process. Records written with it verify only in this
   * process (fail closed: nothing from outside is accepted).
   */
  static ephemeral(cluster = 'ephemeral', o: SharedKeyOptions = {}): SharedDirKey {
    return new SharedDirKey(PROCESS_KEY, cluster, o);
  }

  mac(domain: string, data: Uint8Array | string): Buffer {
    return createHmac('sha256', this.macKey).update(domain).update(data).digest();
  }

  /** Timing-safe comparison of `mac` with the MAC of `data` in `domain`. */
  verify(domain: string, data: Uint8Array | string, mac: Uint8Array): boolean {
    if (mac.length !== MAC_BYTES) return false;
    return timingSafeEqual(this.mac(domain, data), mac);
  }

  /** A member of cluster.nodes (any name when the list is not known). */
  isMember(node: string): boolean {
    return !this.members || this.members.has(node);
  }

  /** The admin request with the highest seq this node verified for `group` (admin.ts). */
  adminSeen(group: string): { seq: number; request: unknown } | undefined { return this.adminSeqs.get(group); }
  noteAdmin(group: string, seq: number, request: unknown): void {
    if (seq >= (this.adminSeqs.get(group)?.seq ?? -1)) this.adminSeqs.set(group, { seq, request });
  }

  /** Counts a rejected read and logs it once per file and reason (rate-limited). */
  reject(kind: RejectKind, file: string, why: string): void {
    this.rejectedCount[kind] += 1;
    try { this.o.onRejected?.(kind); } catch { /* a metric never breaks the lease */ }
    const k = `${file}\0${why}`;
    const now = performance.now();
    const last = this.logged.get(k);
    if (last !== undefined && now - last < LOG_EVERY_MS) return;
    if (this.logged.size > 1000) this.logged.clear(); // a writer inventing file names cannot grow this
    this.logged.set(k, now);
    this.o.log?.warn(`shared directory: ${file} rejected: ${why} (ignored; see docs/lease.md, Who may write the shared directory)`);
  }
}
