/**
 * Where each group's daemons keep their data, found from the cluster file: Dovecot configs,
 * Postfix config directories and slapd configs named on a resource's command lines, or lying
 * under its ServerRoot/InstanceRoot/ProcessRoot (`config/…`, two levels deep), and the group's
 * shared disks (its Mount resources' MountPoint).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { toArgv } from '../core/argv';
import type { ResolvedGroup, ResolvedResource } from '../model/cluster-types';

export interface GroupDaemons {
  group: string;
  /** Mount points of the group's Mount resources. */
  disks: string[];
  /** Resource ids → Dovecot config files. */
  dovecot: Array<{ resource: string; config: string }>;
  postfix: Array<{ resource: string; configDir: string }>;
  slapd: Array<{ resource: string; config: string }>;
  /** Users the group's resources run as (User, DaemonUser). */
  users: string[];
}

const COMMAND_ATTRS = ['StartProgram', 'StopProgram', 'CleanProgram', 'MonitorProgram'];
const ROOT_ATTRS = ['ServerRoot', 'InstanceRoot'];

function commandLines(r: ResolvedResource): string[][] {
  const out: string[][] = [];
  for (const a of COMMAND_ATTRS) { const v = toArgv(r.attrs[a]); if (v) out.push(v); }
  for (const m of (r.attrs.MonitorProcesses as unknown[] | undefined) ?? []) { const v = toArgv(m); if (v) out.push(v); }
  return out;
}

const optionValue = (argv: readonly string[], flag: string): string | undefined => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
};

/** Files named `want` under `dir`, at most `depth` levels down; skips links. */
function findUnder(dir: string, want: string, depth: number): string[] {
  let entries: fs.Dirent[];
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return []; }
  const out: string[] = [];
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isFile() && e.name === want) out.push(p);
    else if (e.isDirectory() && depth > 0) out.push(...findUnder(p, want, depth - 1));
  }
  return out.sort();
}

export function groupDaemons(g: ResolvedGroup): GroupDaemons {
  const d: GroupDaemons = { group: g.name, disks: [], dovecot: [], postfix: [], slapd: [], users: [] };
  const add = <T extends { resource: string }>(list: T[], item: T, key: keyof T): void => {
    if (!list.some((x) => x[key] === item[key])) list.push(item);
  };
  for (const r of g.resources) {
    if (r.type === 'Mount' && typeof r.attrs.MountPoint === 'string') d.disks.push(path.resolve(r.attrs.MountPoint));
    for (const u of [r.attrs.User, r.attrs.DaemonUser]) if (typeof u === 'string' && u && !d.users.includes(u)) d.users.push(u);
    for (const argv of commandLines(r)) {
      const base = path.basename(argv[0]!);
      if (base === 'dovecot') add(d.dovecot, { resource: r.id, config: optionValue(argv, '-c') ?? '/etc/dovecot/dovecot.conf' }, 'config');
      else if (base === 'postfix' || (base === 'master' && argv[0]!.includes('postfix'))) add(d.postfix, { resource: r.id, configDir: optionValue(argv, '-c') ?? '/etc/postfix' }, 'configDir');
      else if (base === 'slapd' || base === 'ns-slapd') {
        const f = optionValue(argv, '-f');
        if (f) add(d.slapd, { resource: r.id, config: f }, 'config');
      }
    }
    const roots = [...ROOT_ATTRS.map((a) => r.attrs[a]), ...((r.attrs.ProcessRoot as unknown[] | undefined) ?? [])].filter((x): x is string => typeof x === 'string');
    for (const root of roots) {
      const conf = path.join(root, 'config');
      for (const f of findUnder(conf, 'dovecot.conf', 2)) add(d.dovecot, { resource: r.id, config: f }, 'config');
      for (const f of findUnder(conf, 'main.cf', 2)) add(d.postfix, { resource: r.id, configDir: path.dirname(f) }, 'configDir');
      for (const f of findUnder(conf, 'slapd.conf', 2)) add(d.slapd, { resource: r.id, config: f }, 'config');
    }
  }
  return d;
}

/** The daemons (by distribution name) the cluster manages, for the unit check. */
export function managedDaemons(all: readonly GroupDaemons[], groups: readonly ResolvedGroup[]): string[] {
  const out = new Set<string>();
  for (const d of all) {
    if (d.dovecot.length) out.add('dovecot');
    if (d.postfix.length) out.add('postfix');
    if (d.slapd.length) out.add('slapd');
  }
  for (const g of groups) for (const r of g.resources) if (r.type === 'SunJESLDAP') out.add('slapd');
  return [...out].sort();
}

/** True when `p` is one of the disks or inside one. */
export const onDisk = (disks: readonly string[], p: string): string | undefined =>
  disks.find((d) => p === d || p.startsWith(d.endsWith('/') ? d : d + '/'));
