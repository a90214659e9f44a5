/**
 * Loading a cluster file: `.json` (parsed) or `.js`/`.cjs` (required afresh; usually an
 * ecosystem file calling defineCluster). Never throws: a missing file, a syntax error or a
 * wrong shape becomes a Problem naming the file. The resolved cluster is returned only when
 * there is no error (warnings allowed).
 */
import * as fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import * as path from 'node:path';
import { isPlainObject } from '../model/check-context';
import type { ClusterDefinition, ResolvedCluster } from '../model/cluster-types';
import { CLUSTER_SYMBOL, whileLoading } from './define-cluster';
import { packageRoot } from '../core/package-root';
import { ClusterConfigError, type Problem } from '../model/problems';
import { resolveCluster } from './resolve';
import { validateDefinition, type ValidationResult } from './validate';

export { resolveCluster } from './resolve';

export interface LoadResult {
  cluster?: ResolvedCluster;
  problems: Problem[];
  /** Counts for a summary line (0 when the file could not be read). */
  summary: Omit<ValidationResult, 'problems'>;
}

const fileProblem = (file: string, message: string, hint?: string): Problem =>
  ({ severity: 'error', file, where: 'file', attribute: '', message, ...(hint ? { hint } : {}) });

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!;
}

const PACKAGE_NAME = 'pm2-messaging-ha';

type Resolve = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;

/**
 * Runs `fn` with `require('pm2-messaging-ha')` resolving to this very package when Node's own
 * resolution fails. Why: a cluster file usually lives outside any node_modules tree (e.g.
 * /etc/msgha/cluster.config.js) and must still validate and load. Node's own answer wins
 * whenever it has one.
 */
function withPackageFallback<T>(fn: () => T): T {
  const mod = Module as unknown as { _resolveFilename: Resolve };
  const original = mod._resolveFilename;
  const self = path.join(packageRoot(), 'dist', 'plugin', 'index.js');
  mod._resolveFilename = function resolveWithFallback(this: unknown, request, ...rest) {
    try {
      return original.call(this, request, ...rest);
    } catch (err) {
      if (request === PACKAGE_NAME && fs.existsSync(self)) return self;
      throw err;
    }
  };
  try {
    return fn();
  } finally {
    mod._resolveFilename = original;
  }
}

/** The raw definition in a file, or a Problem saying why there is none. */
function readDefinition(file: string, abs: string): { def?: unknown; problem?: Problem } {
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: fileProblem(file, code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? firstLine(err)}`) };
  }
  if (!st.isFile()) return { problem: fileProblem(file, 'is not a regular file') };
  const ext = path.extname(abs);
  if (ext === '.json') {
    try {
      return { def: JSON.parse(fs.readFileSync(abs, 'utf8')) };
    } catch (err) {
      return { problem: fileProblem(file, `cannot parse JSON: ${firstLine(err)}`) };
    }
  }
  if (ext !== '.js' && ext !== '.cjs') {
    return { problem: fileProblem(file, `unsupported file type "${ext}"`, 'use a .js/.cjs ecosystem file or a .json file') };
  }
  const req = createRequire(abs);
  let exported: unknown;
  try {
    exported = whileLoading(() => withPackageFallback(() => {
      delete req.cache[abs];
      try {
        return req(abs) as unknown;
      } finally {
        // Fresh on every load: the coordinator reloads the file after an edit.
        delete req.cache[abs];
      }
    }));
  } catch (err) {
    const hint = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String(err).includes(PACKAGE_NAME)
      ? 'is the package built (npm run build)?' : undefined;
    return { problem: fileProblem(file, `cannot load: ${firstLine(err)}`, hint) };
  }
  if (isPlainObject(exported) && CLUSTER_SYMBOL in exported) return { def: (exported as Record<symbol, unknown>)[CLUSTER_SYMBOL] };
  if (isPlainObject(exported) && ('cluster' in exported || 'groups' in exported)) return { def: exported };
  if (isPlainObject(exported) && 'apps' in exported) {
    return { problem: fileProblem(file, 'is a PM2 ecosystem file without a cluster definition', 'module.exports = defineCluster({ cluster, groups })') };
  }
  return { problem: fileProblem(file, 'does not export a cluster definition', 'module.exports = defineCluster({ cluster: {…}, groups: {…} })') };
}

export async function loadCluster(file: string): Promise<LoadResult> {
  const abs = path.resolve(file);
  const { def, problem } = readDefinition(file, abs);
  if (problem) return { problems: [problem], summary: { errors: 1, warnings: 0, groups: 0, resources: 0 } };
  const { problems, ...summary } = validateDefinition(def, file);
  if (summary.errors > 0) return { problems, summary };
  try {
    return { cluster: resolveCluster(def as ClusterDefinition, abs), problems, summary };
  } catch (err) {
    const p = fileProblem(file, `internal error while resolving: ${firstLine(err)}`, 'please report this');
    return { problems: [...problems, p], summary: { ...summary, errors: summary.errors + 1 } };
  }
}

export async function loadClusterOrThrow(file: string): Promise<ResolvedCluster> {
  const { cluster, problems } = await loadCluster(file);
  if (!cluster) throw new ClusterConfigError(problems);
  return cluster;
}
