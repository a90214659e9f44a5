/**
 * The mount table as the kernel shows it to this process (/proc/self/mountinfo): one parser for
 * the Mount type (is the device mounted, where) and preflight (on what storage, with which
 * options). Pure parsing, so callers check recorded lines as well as the live table.
 */
import * as fs from 'node:fs';

export interface MountEntry {
  /** major:minor of the file system's device. */
  majmin: string;
  /** The directory of the file system that is mounted here (not '/' for a bind mount). */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  /** Per-mount and super-block options together (`rw`, `hard`, `vers=4.2`, …). */
  options: string[];
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (dash < 6 || f.length < dash + 3) continue;
    out.push({
      majmin: f[2]!, root: unescape(f[3]!), mountPoint: unescape(f[4]!), fsType: f[dash + 1]!, source: unescape(f[dash + 2]!),
      options: [...f[5]!.split(','), ...(f[dash + 3] ?? '').split(',')].filter(Boolean),
    });
  }
  return out;
}

export function readMountinfo(file = '/proc/self/mountinfo'): MountEntry[] {
  return parseMountinfo(fs.readFileSync(file, 'utf8'));
}
