/** Loop-mounted ext4 images for the Mount agent tests (needs root). */
import { execFileSync } from 'node:child_process';

/** A fresh ext4 file system in the image file `img` of `size` (e.g. '16M'). */
export function makeExt4Image(img: string, size: string): void {
  execFileSync('truncate', ['-s', size, img]);
  execFileSync('mkfs.ext4', ['-q', '-F', img]);
}

/** The loop devices attached to `file` (for cleanup, and to check none is left). */
export function loopsOf(file: string): string[] {
  try { return execFileSync('losetup', ['-j', file], { encoding: 'utf8' }).split('\n').filter(Boolean).map((l) => l.split(':')[0]!); } catch { return []; }
}
