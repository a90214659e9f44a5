/**
 * Path tests on command lines and directories, compared as strings (no symlink resolution):
 * a root matches only as a whole path, so `/srv/msg` never matches `/srv/msg2`.
 */

/** True when `text` contains `root` as a whole path: followed by '/', a separator or the end. */
export function containsPath(text: string, root: string): boolean {
  const r = root.length > 1 && root.endsWith('/') ? root.slice(0, -1) : root;
  let from = 0;
  for (;;) {
    const i = text.indexOf(r, from);
    if (i < 0) return false;
    const next = text.charAt(i + r.length);
    if (next === '' || next === '/' || !/[A-Za-z0-9_.-]/.test(next)) return true;
    from = i + 1;
  }
}

/** True when `file` is `dir` or inside it. */
export function isUnder(file: string, dir: string): boolean {
  const d = dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
  return file === d || file.startsWith(d + '/');
}
