/**
 * `drill <group>`: on a standby node, checks that the group COULD start here — without starting,
 * mounting, binding or adding anything. Per resource: roots readable, start/stop programs and
 * MonitorProgram present and executable, EnvFile readable, service ports free on this node, the
 * virtual address neither on this node nor answering elsewhere (arping -D, else ping), the
 * device of an IP present, the block device present and not mounted in this node's view, the
 * mount point not busy. Paths under a mount point of the group that is not mounted here are
 * reported as "checked when mounted" (they live on the shared disk), not as failures.
 *
 * Guarantees: every check is a value (never an exception); the environment is injected
 * (DrillEnv) so the decisions are unit-tested with a fake file system.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { ResolvedGroup, ResolvedResource } from '../model/cluster-types';
import { listOf } from '../model/values';
import { toArgv } from '../core/argv';

export interface DrillCheck {
  resource: string;
  check: string;
  ok: boolean;
  detail: string;
  /** Not checkable here now (e.g. on the shared disk, which is not mounted on a standby). */
  skipped?: boolean;
}

export interface DrillResult { ok: boolean; group: string; node: string; checks: DrillCheck[]; reason: string }

export interface PathInfo { dir: boolean; file: boolean; block: boolean; readable: boolean; executable: boolean }

export interface DrillEnv {
  /** undefined when the path does not exist. */
  stat(p: string): PathInfo | undefined;
  /** true when nothing listens on the port on this node (a bind test), else why not. */
  portFree(port: number): Promise<true | string>;
  /** IPv4 addresses configured on this node. */
  localAddresses(): string[];
  deviceExists(device: string): boolean;
  /** 'silent', 'answers', or why the check could not run. */
  addressAnswers(address: string, device: string): Promise<'silent' | 'answers' | string>;
  /** Mount points and sources of this node's view (mountinfo). */
  mounts(): Array<{ mountPoint: string; source: string }>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

function portsOf(r: ResolvedResource): number[] {
  const a = r.attrs;
  const fromMap = (m: unknown): number[] => (m && typeof m === 'object' ? Object.values(m as Record<string, unknown>).map(Number) : []);
  let ports: number[] = [];
  switch (r.type) {
    case 'SunJESMsg': ports = fromMap(a.MsgServices); break;
    case 'SunJESAdm': ports = [Number(a.AdminPort)]; break;
    case 'SunJESLDAP': ports = [Number(a.LDAPPort), Number(a.SSLPort)]; break;
    case 'NetscapeMsg': ports = fromMap(a.Ports); break;
    case 'Application': ports = fromMap(a.ProbeServices); break;
    default: ports = [];
  }
  return [...new Set(ports.filter((p) => Number.isInteger(p) && p > 0 && p < 65536))];
}

/** Programs the type runs (absolute argv[0]s), and roots that must be readable directories. */
function programsOf(r: ResolvedResource): { roots: string[]; programs: string[] } {
  const a = r.attrs;
  const root = str(a.ServerRoot) ?? str(a.InstanceRoot);
  const roots = root ? [root] : [];
  const programs: string[] = [];
  switch (r.type) {
    case 'SunJESMsg': if (root) programs.push(path.join(root, 'lib', 'msstart')); break;
    case 'SunJESAdm': if (root) programs.push(path.join(root, 'start-admin'), path.join(root, 'stop-admin')); break;
    case 'SunJESLDAP': if (root) programs.push(path.join(root, 'start-slapd'), path.join(root, 'stop-slapd')); break;
    case 'NetscapeMsg': if (root) programs.push(path.join(root, 'start-msg'), path.join(root, 'stop-msg')); break;
    case 'Application':
      for (const k of ['StartProgram', 'StopProgram', 'CleanProgram']) { const argv = toArgv(a[k]); if (argv?.[0]) programs.push(argv[0]); }
      roots.push(...listOf(a.ProcessRoot));
      break;
    default: break;
  }
  const mp = toArgv(a.MonitorProgram);
  if (mp?.[0]) programs.push(mp[0]);
  return { roots, programs };
}

const under = (p: string, dir: string): boolean => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

export async function drillGroup(group: ResolvedGroup, node: string, env: DrillEnv): Promise<DrillResult> {
  const checks: DrillCheck[] = [];
  const mounts = env.mounts();
  const mountPoints = group.resources.filter((r) => r.type === 'Mount').map((r) => str(r.attrs.MountPoint)).filter((x): x is string => !!x);
  // A path on the group's shared disk can only be checked where that disk is mounted.
  const unmountedShare = (p: string): string | undefined =>
    mountPoints.find((mp) => under(p, mp) && !mounts.some((m) => m.mountPoint === path.resolve(mp)));

  for (const r of group.resources) {
    const add = (check: string, ok: boolean, detail: string, skipped = false): void => { checks.push({ resource: r.name, check, ok, detail, ...(skipped ? { skipped } : {}) }); };
    const { roots, programs } = programsOf(r);
    for (const root of roots) {
      const share = unmountedShare(root);
      if (share) { add(`root ${root}`, true, `on the shared disk ${share}, not mounted here: checked when mounted`, true); continue; }
      const st = env.stat(root);
      add(`root ${root}`, !!st && st.dir && st.readable, !st ? 'missing' : !st.dir ? 'not a directory' : st.readable ? 'readable directory' : 'not readable');
    }
    for (const prog of programs) {
      const share = unmountedShare(prog);
      if (share) { add(`program ${prog}`, true, `on the shared disk ${share}, not mounted here: checked when mounted`, true); continue; }
      if (!path.isAbsolute(prog)) { add(`program ${prog}`, false, 'not an absolute path'); continue; }
      const st = env.stat(prog);
      add(`program ${prog}`, !!st && st.file && st.executable, !st ? 'missing' : !st.file ? 'not a file' : st.executable ? 'present, executable' : 'not executable');
    }
    const envFile = str(r.attrs.EnvFile);
    if (envFile) {
      const share = unmountedShare(envFile);
      const st = share ? undefined : env.stat(envFile);
      if (share) add(`EnvFile ${envFile}`, true, `on the shared disk ${share}: checked when mounted`, true);
      else add(`EnvFile ${envFile}`, !!st && st.file && st.readable, !st ? 'missing' : st.readable ? 'readable' : 'not readable');
    }
    for (const port of portsOf(r)) {
      const free = await env.portFree(port);
      add(`port ${port}`, free === true, free === true ? 'free on this node' : free);
    }
    if (r.type === 'IP') {
      const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/\d{1,2}$/.exec(str(r.attrs.Address) ?? '');
      const device = str(r.attrs.Device) ?? '';
      if (!m) { add('address', false, `Address '${String(r.attrs.Address)}' is not ADDR/PREFIX`); continue; }
      const addr = m[1]!;
      add(`device ${device}`, env.deviceExists(device), env.deviceExists(device) ? 'present' : 'missing on this node');
      const local = env.localAddresses().includes(addr);
      add(`address ${addr} not on this node`, !local, local ? 'already configured on this node (a leftover?)' : 'not configured here');
      if (!local && env.deviceExists(device)) {
        const a = await env.addressAnswers(addr, device);
        add(`address ${addr} not answering`, a === 'silent', a === 'silent' ? 'nobody answers for it' : a === 'answers' ? 'another host answers for it — is the group running elsewhere? (fine during a drill while it is)' : a);
      }
    }
    if (r.type === 'Mount') {
      const dev = str(r.attrs.BlockDevice) ?? '';
      const mp = path.resolve(str(r.attrs.MountPoint) ?? '/');
      const st = env.stat(dev);
      add(`device ${dev}`, !!st && (st.block || st.file), !st ? 'missing on this node' : st.block ? 'block device present' : st.file ? 'image file present' : 'neither a block device nor an image file');
      const mounted = mounts.filter((x) => x.source === dev).map((x) => x.mountPoint);
      add(`device ${dev} not mounted`, mounted.length === 0, mounted.length ? `mounted here on ${mounted.join(', ')}` : 'not mounted in this node\'s view');
      const busy = mounts.find((x) => x.mountPoint === mp);
      add(`mount point ${mp}`, !busy, busy ? `${busy.source} is mounted there` : 'free');
    }
  }
  const failed = checks.filter((c) => !c.ok);
  const skipped = checks.filter((c) => c.skipped).length;
  const reason = failed.length === 0
    ? `group ${group.name} could start on ${node}: ${checks.length} check(s) passed${skipped ? ` (${skipped} on the unmounted shared disk, checked when mounted)` : ''}`
    : `group ${group.name} could NOT start on ${node}: ${failed.map((c) => `${c.resource} ${c.check}: ${c.detail}`).join('; ')}`;
  return { ok: failed.length === 0, group: group.name, node, checks, reason };
}

// ── the real environment ──────────────────────────────────────────────────────────────────

function run(argv: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, out: `${stdout}${stderr}`.trim() });
    });
  });
}

export const realDrillEnv: DrillEnv = {
  stat(p) {
    try {
      const st = fs.statSync(p);
      const can = (mode: number): boolean => { try { fs.accessSync(p, mode); return true; } catch { return false; } };
      return { dir: st.isDirectory(), file: st.isFile(), block: st.isBlockDevice(), readable: can(fs.constants.R_OK), executable: can(fs.constants.X_OK) };
    } catch {
      return undefined;
    }
  },
  portFree(port) {
    return new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'EADDRINUSE' ? 'in use on this node' : `cannot test (${e.code ?? e.message})`));
      srv.listen({ port, host: '0.0.0.0', exclusive: true }, () => srv.close(() => resolve(true)));
    });
  },
  localAddresses() {
    const out: string[] = [];
    for (const list of Object.values(require('node:os').networkInterfaces() as Record<string, Array<{ family: string | number; address: string }>>)) {
      for (const a of list ?? []) if (a.family === 'IPv4' || a.family === 4) out.push(a.address);
    }
    return out;
  },
  deviceExists(device) {
    return !!device && /^[A-Za-z0-9_.:@-]+$/.test(device) && fs.existsSync(`/sys/class/net/${device}`);
  },
  async addressAnswers(address, device) {
    const d = await run(['arping', '-D', '-c', '2', '-w', '2', '-I', device, address], 4000);
    if (d.code === 0) return 'silent';
    if (d.code === 1) return 'answers';
    const p = await run(['ping', '-c', '1', '-W', '1', address], 3000);
    if (p.code === 0) return 'answers';
    if (p.code === 1) return 'silent';
    return `cannot check (arping: ${d.out.split('\n')[0] ?? d.code}; ping: ${p.out.split('\n')[0] ?? p.code})`;
  },
  mounts() {
    try {
      return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').flatMap((line) => {
        const f = line.split(' ');
        const dash = f.indexOf('-');
        if (f.length < 10 || dash < 6) return [];
        const un = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
        return [{ mountPoint: un(f[4]!), source: un(f[dash + 2]!) }];
      });
    } catch {
      return [];
    }
  },
};
