/**
 * Checks of the mail daemons' settings for data that moves between nodes: Dovecot
 * (docs/preflight.md: mmap_disable, mail_fsync, mail_nfs_*, lock_method per the storage),
 * Postfix (one instance per queue_directory, queue and data on the group's shared disk), slapd
 * (its database on the shared disk), and each Mount's mount point not writable by the service
 * users while unmounted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execProgram, findUser } from '../core/exec';
import { onDisk, type GroupDaemons } from './mail-config';
import { isMountPoint, mountOf, realPathOrParent, storageKind, type MountEntry, type StorageKind } from './mounts';
import { fail, pass, warn, type CheckResult } from './result';

const RUN_MS = 15_000;

export const DOVECOT_KEYS = ['mail_location', 'mmap_disable', 'mail_fsync', 'mail_nfs_storage', 'mail_nfs_index', 'lock_method', 'mail_uid'] as const;
export type DovecotSettings = Partial<Record<(typeof DOVECOT_KEYS)[number], string>>;

/** `key = value` lines of doveconf's output (top level only). */
export function parseDoveconf(text: string): DovecotSettings {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+) = ?(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** The directory a mail_location starts in: `maildir:/srv/mail/%n/Maildir:INDEX=…` → /srv/mail. */
export function storeRoot(location: string | undefined): string | undefined {
  if (!location) return undefined;
  const body = location.includes(':') && !location.startsWith('/') ? location.slice(location.indexOf(':') + 1) : location;
  const first = body.split(':')[0]!;
  if (!first.startsWith('/')) return undefined;
  const parts = first.split('/');
  const fixed = parts.slice(0, parts.findIndex((p) => p.includes('%') || p.includes('~')) >>> 0);
  return fixed.join('/') || '/';
}

/**
 * Dovecot's rules for a store on `kind` storage that one node at a time uses (its NFS and shared
 * disk pages, in docs/preflight.md): on NFS mmap_disable=yes and mail_fsync=always, and the
 * mail_nfs_* settings off (they only serve several servers on one mailbox at once); on a cluster
 * file system mmap_disable=yes, and fcntl or flock locking; on a disk one node mounts at a time
 * nothing but never losing acknowledged mail (mail_fsync not `never`).
 */
export function dovecotVerdicts(s: DovecotSettings, kind: StorageKind, config: string): CheckResult[] {
  const out: CheckResult[] = [];
  const id = 'dovecot.settings';
  const bad: Array<{ level: 'FAIL' | 'WARN'; key: string; want: string; why: string }> = [];
  const shared = kind === 'nfs' || kind === 'cluster-fs' || kind === 'network-other';
  if (shared && s.mmap_disable !== 'yes') bad.push({ level: 'FAIL', key: 'mmap_disable', want: 'yes', why: `index files must not be mmap()ed on ${kind} storage` });
  if ((kind === 'nfs' || kind === 'network-other') && s.mail_fsync !== 'always') bad.push({ level: 'FAIL', key: 'mail_fsync', want: 'always', why: 'on NFS every write must be on the server before Dovecot goes on, or a failover loses it' });
  if (kind === 'cluster-fs' && s.mail_fsync !== 'always') bad.push({ level: 'WARN', key: 'mail_fsync', want: 'always', why: 'a failover right after a write may lose it' });
  if (s.mail_fsync === 'never') bad.push({ level: 'FAIL', key: 'mail_fsync', want: 'optimized', why: 'mail_fsync=never loses acknowledged mail when the node dies' });
  for (const k of ['mail_nfs_storage', 'mail_nfs_index'] as const) {
    if (s[k] === 'yes') bad.push({ level: 'WARN', key: k, want: 'no', why: 'only for several servers on one mailbox at once (not this cluster: one node at a time); slows every access' });
  }
  if (kind === 'cluster-fs' && s.lock_method === 'dotlock') bad.push({ level: 'WARN', key: 'lock_method', want: 'fcntl', why: 'dotlocks are the slowest; the cluster file system\'s fcntl (or flock) locks work' });
  if (kind === 'nfs' && s.lock_method === 'flock') bad.push({ level: 'WARN', key: 'lock_method', want: 'fcntl', why: 'flock over NFS is emulated with fcntl locks; say fcntl (or dotlock) so what is used is what is written' });
  const seen = DOVECOT_KEYS.filter((k) => k !== 'mail_uid' && k !== 'mail_location').map((k) => `${k}=${s[k] ?? '?'}`).join(' ');
  if (!bad.length) return [pass(id, config, `store on ${kind} storage: ${seen}`)];
  for (const b of bad) {
    out.push((b.level === 'FAIL' ? fail : warn)(id, `${config} ${b.key}`, `${b.key} = ${s[b.key as keyof DovecotSettings] ?? '?'} with the store on ${kind} storage: ${b.why}`,
      `set \`${b.key} = ${b.want}\` in ${config} (or a file it includes), then: doveconf -c ${config} ${b.key}`));
  }
  return out;
}

async function doveconf(config: string): Promise<DovecotSettings | string> {
  const r = await execProgram(['doveconf', '-c', config, ...DOVECOT_KEYS], { timeoutMs: RUN_MS });
  if (r.code !== 0) return (r.stderr.trim().split('\n').pop() ?? r.spawnError?.message ?? `exit ${r.code}`).slice(0, 300);
  return parseDoveconf(r.stdout);
}

/** Storage kind of a path: the group's own disk counts as the kind of its file system. */
function kindOf(mounts: readonly MountEntry[], p: string): { kind: StorageKind; mount?: MountEntry } {
  const m = mountOf(mounts, realPathOrParent(p));
  return { kind: m ? storageKind(m.fsType) : 'block', mount: m };
}

/** The group's disk holding `dir`, or the kind of shared storage it is on (NFS, a cluster fs): undefined when neither. */
function sharedHome(d: GroupDaemons, mounts: readonly MountEntry[], dir: string): string | undefined {
  const disk = onDisk(d.disks, realPathOrParent(dir));
  if (disk) return `the group's disk ${disk}`;
  const { kind } = kindOf(mounts, dir);
  return kind === 'nfs' || kind === 'cluster-fs' ? `${kind} storage` : undefined;
}

export async function checkDovecot(d: GroupDaemons, mounts: readonly MountEntry[], nodes: number): Promise<{ results: CheckResult[]; mailUsers: string[] }> {
  const results: CheckResult[] = [];
  const mailUsers: string[] = [];
  for (const { resource, config } of d.dovecot) {
    const s = await doveconf(config);
    if (typeof s === 'string') { results.push(fail('dovecot.settings', config, `${resource}: doveconf -c ${config} failed: ${s}`, `doveconf -c ${config} -n   # fix what it reports`)); continue; }
    if (s.mail_uid) mailUsers.push(s.mail_uid);
    const root = storeRoot(s.mail_location);
    if (!root) { results.push(warn('dovecot.store', config, `${resource}: mail_location '${s.mail_location ?? ''}' names no absolute directory: cannot tell where the store is`, `set mail_location = maildir:/<shared disk>/%n/Maildir in ${config}`)); continue; }
    const { kind } = kindOf(mounts, root);
    const home = sharedHome(d, mounts, root);
    if (nodes >= 2 && !home) {
      results.push(fail('dovecot.store', config, `${resource}: the mail store ${root} is neither on a Mount of group ${d.group} (${d.disks.join(', ') || 'none'}) nor on shared storage: after a failover the mail is not there`,
        `move the store under the group's disk and set mail_location in ${config}, or add a Mount resource for it to group ${d.group}`));
    } else results.push(pass('dovecot.store', config, `${resource}: mail store ${root} on ${home ?? `${kind} storage`}`));
    results.push(...dovecotVerdicts(s, kind, config));
  }
  return { results, mailUsers };
}

export async function postconf(configDir: string): Promise<{ queue?: string; data?: string; error?: string }> {
  const r = await execProgram(['postconf', '-c', configDir, '-h', 'queue_directory', 'data_directory'], { timeoutMs: RUN_MS });
  if (r.code !== 0) return { error: (r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`).slice(0, 300) };
  const [queue, data] = r.stdout.split('\n').map((l) => l.trim());
  return { queue: queue || undefined, data: data || undefined };
}

/** Postfix: each instance its own queue_directory (across the whole cluster), queue and data on the group's disk. */
export async function checkPostfix(all: readonly GroupDaemons[], nodes: number, mounts: readonly MountEntry[]): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const byQueue = new Map<string, string[]>();
  for (const d of all) {
    for (const { resource, configDir } of d.postfix) {
      const c = await postconf(configDir);
      if (c.error || !c.queue) { out.push(fail('postfix.dirs', configDir, `${resource}: postconf -c ${configDir} failed: ${c.error ?? 'no queue_directory'}`, `postconf -c ${configDir} -n   # fix what it reports`)); continue; }
      const q = realPathOrParent(c.queue);
      byQueue.set(q, [...(byQueue.get(q) ?? []), `${resource} (${configDir})`]);
      for (const [key, dir] of [['queue_directory', c.queue], ['data_directory', c.data]] as const) {
        if (!dir) continue;
        // Postfix's NFS notes: a queue may move between NFS clients, one instance at a time.
        const home = sharedHome(d, mounts, dir);
        if (home || nodes < 2) out.push(pass('postfix.dirs', `${configDir} ${key}`, `${resource}: ${key} = ${dir}${home ? ` on ${home}` : ''}`));
        else out.push(fail('postfix.dirs', `${configDir} ${key}`, `${resource}: ${key} = ${dir} is neither on a Mount of group ${d.group} (${d.disks.join(', ') || 'none'}) nor on shared storage: queued mail stays behind at a failover`,
          `postconf -c ${configDir} -e '${key} = ${d.disks[0] ?? '/<group disk>'}/postfix/${key === 'queue_directory' ? 'spool' : 'data'}' (move the directory there first, keeping owners: cp -a)`));
      }
    }
  }
  for (const [q, users] of byQueue) {
    if (users.length > 1) out.push(fail('postfix.queue-unique', q, `queue_directory ${q} is used by ${users.length} instances: ${users.join(', ')}; Postfix runs one instance per queue directory`, `give each instance its own queue: postconf -c <config dir> -e 'queue_directory = <its own directory>'`));
  }
  return out;
}

/** slapd: the `directory` of every database (slapd.conf) on the group's disk. */
export function slapdDirectories(text: string, confFile: string): string[] {
  return text.split('\n').map((l) => /^directory\s+"?([^"\s]+)"?/.exec(l)?.[1]).filter((x): x is string => !!x)
    .map((d) => path.resolve(path.dirname(confFile), d));
}

export function checkSlapd(d: GroupDaemons, nodes: number, mounts: readonly MountEntry[]): CheckResult[] {
  const out: CheckResult[] = [];
  for (const { resource, config } of d.slapd) {
    let text: string;
    try { text = fs.readFileSync(config, 'utf8'); } catch (err) {
      out.push(fail('slapd.data', config, `${resource}: cannot read ${config}: ${(err as NodeJS.ErrnoException).code}`, `ls -l ${config}`)); continue;
    }
    for (const dir of slapdDirectories(text, config)) {
      const home = sharedHome(d, mounts, dir);
      if (home || nodes < 2) out.push(pass('slapd.data', `${config} directory`, `${resource}: database ${dir}${home ? ` on ${home}` : ''}`));
      else out.push(fail('slapd.data', `${config} directory`, `${resource}: database directory ${dir} is neither on a Mount of group ${d.group} (${d.disks.join(', ') || 'none'}) nor on shared storage: another node would start with other data`,
        `stop slapd, move ${dir} under ${d.disks[0] ?? 'the group\'s disk'} (cp -a), and set \`directory <new path>\` in ${config}`));
    }
  }
  return out;
}

const WELL_KNOWN_USERS = ['vmail', 'dovecot', 'dovenull', 'postfix', 'openldap', 'mail'];

/** Whether `user` (a name or uid) can write `dir`: access(2) as that user, via setpriv. */
async function writableBy(user: string, dir: string, passwd: string): Promise<boolean> {
  const ids = findUser(passwd, user);
  const argv = ids && /^\D/.test(user)
    ? ['setpriv', `--reuid=${ids.uid}`, `--regid=${ids.gid}`, `--init-groups`, '--', 'test', '-w', dir]
    : ['setpriv', `--reuid=${ids?.uid ?? user}`, `--regid=${ids?.gid ?? user}`, '--clear-groups', '--', 'test', '-w', dir];
  const r = await execProgram(argv, { timeoutMs: RUN_MS });
  return r.code === 0;
}

/** Dovecot's NFS page: an unmounted mount point writable by the mail user gets empty mailboxes created. */
export async function checkMountPoints(d: GroupDaemons, mailUsers: readonly string[], mounts: readonly MountEntry[], passwdFile = '/etc/passwd'): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const passwd = fs.readFileSync(passwdFile, 'utf8');
  const users = [...new Set([...d.users, ...mailUsers, ...WELL_KNOWN_USERS.filter((u) => findUser(passwd, u))])];
  for (const mp of d.disks) {
    const id = 'mount.unmounted-writable';
    if (!fs.existsSync(mp)) { out.push(fail(id, mp, `mount point ${mp} does not exist`, `mkdir -p ${mp} && chown root:root ${mp} && chmod 755 ${mp}`)); continue; }
    if (isMountPoint(mounts, realPathOrParent(mp))) {
      out.push(warn(id, mp, `${mp} is mounted on this node now: the directory under it cannot be checked here`, `run msgha preflight on a node where ${mp} is not mounted`)); continue;
    }
    const writers: string[] = [];
    for (const u of users) if (await writableBy(u, mp, passwd)) writers.push(u);
    if (writers.length) {
      out.push(fail(id, mp, `unmounted, ${mp} is writable by ${writers.join(', ')}: a daemon started without its disk would create empty mailboxes or queues there`,
        `umount ${mp} 2>/dev/null; chown root:root ${mp}; chmod 755 ${mp}; setfacl -b ${mp}   # while unmounted`));
    } else out.push(pass(id, mp, `unmounted, ${mp} is not writable by ${users.join(', ') || 'any service user'}`));
  }
  return out;
}
