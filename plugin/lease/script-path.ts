/**
 * Finds the compiled JavaScript of a script that must run as its own process (the I/O helper,
 * the fence). From dist/ it sits next to the caller; when the caller runs from TypeScript
 * sources (tests), the compiled copy under dist/ is used, so `npm run build` must have run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function compiledScript(dirOfCaller: string, base: string): string {
  const here = path.join(dirOfCaller, `${base}.js`);
  if (fs.existsSync(here)) return here;
  const root = path.resolve(dirOfCaller, '..', '..');
  const rel = path.relative(root, dirOfCaller);
  const dist = path.join(root, 'dist', rel, `${base}.js`);
  if (fs.existsSync(dist)) return dist;
  throw new Error(`${base}.js not found next to ${dirOfCaller} nor in ${path.dirname(dist)}: run npm run build`);
}
