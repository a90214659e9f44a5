/** Where this package is installed, found from its own files (src or dist). */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The directory of this package's package.json (found from src or dist). */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      // A package.json that tsc copied into dist/ is not the root.
      if (pkg.name === 'pm2-messaging-ha' && path.basename(dir) !== 'dist') return dir;
    } catch { /* no package.json here: keep climbing */ }
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(__dirname, '..', '..');
    dir = up;
  }
}
