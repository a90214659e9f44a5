/**
 * Loading a cluster file: `.json` (parsed) or `.js`/`.cjs` (required afresh; usually an
 * ecosystem file calling defineCluster). Never throws: a missing file, a syntax error or a
 * wrong shape becomes a Problem naming the file. The resolved cluster is returned only when
 * there is no error (warnings allowed).
 *
 * A `.js` file is executed, as root, by `msgha validate`, the coordinator and every agent: the
 * file must pass the trusted-path rule (core/trusted-path.ts) before it is read, else it is
 * neither run nor parsed. Its bytes must be UTF-8 (the offset of the first bad byte is named),
 * and in a `.json` file no object may give a key twice.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { isPlainObject } from '../model/check-context';
import type { ClusterDefinition, ResolvedCluster } from '../model/cluster-types';
import { CLUSTER_SYMBOL, whileLoading } from './define-cluster';
import { packageRoot } from '../core/package-root';
import { checkTrustedPath, describeBreach } from '../core/trusted-path';
import { ClusterConfigError, problem, type Problem } from '../model/problems';
import { duplicateKeys, firstInvalidUtf8, lineOfOffset } from './file-text';
import { locate } from './plain-data';
import { resolveCluster } from './resolve';
import { validateSnapshot, type ValidationResult } from './validate';

export { resolveCluster } from './resolve';

export interface LoadResult {
  cluster?: ResolvedCluster;
  problems: Problem[];
  /** Counts for a summary line (0 when the file could not be read). */
  summary: Omit<ValidationResult, 'problems'>;
}

const fileProblem = (file: string, message: string, hint?: string): Problem => problem('error', file, 'file', '', message, hint);

/** Why 16 MiB: a cluster of 32 nodes and hundreds of resources is a few hundred KiB. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!;
}

const PACKAGE_NAME = 'pm2-messaging-ha';

/**
 * The fix for a cluster file whose `require('pm2-messaging-ha')` Node cannot resolve. The file
 * is required with Node's own resolution, exactly as `pm2 start FILE` requires it, so validate
 * fails where PM2 would: a file in /etc/msgha has no node_modules above it, and a global
 * install is not on Node's search path. The fix names this very package by its real path.
 */
function unresolvedPackageHint(): string {
  const root = fs.realpathSync(packageRoot());
  return `require the installed package by its path: require(${JSON.stringify(root)}) — \`msgha init\` writes a cluster file that does`;
}

/** The raw definition in a file, with the problems found on the way; no `def` when it could not be had. */
function readDefinition(file: string, abs: string): { def?: unknown; problems: Problem[] } {
  const problems: Problem[] = [];
  const stop = (message: string, hint?: string): { problems: Problem[] } => ({ problems: [...problems, fileProblem(file, message, hint)] });
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return stop(code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? firstLine(err)}`);
  }
  if (!st.isFile()) return stop('is not a regular file');
  const ext = path.extname(abs);
  if (ext !== '.json' && ext !== '.js' && ext !== '.cjs') {
    return stop(`unsupported file type "${ext}"`, 'use a .js/.cjs ecosystem file or a .json file');
  }
  // Root reads the file, and runs a .js one: only root (or whoever runs this) may be able to change it.
  const uid = process.geteuid?.() ?? 0;
  const trust = checkTrustedPath(abs, { owners: uid === 0 ? [] : [uid] });
  if (!trust.ok) {
    const p = fileProblem(file, `${describeBreach('cluster file', abs, trust.breach)}${ext === '.json' ? '' : ': it was not executed'}`, trust.breach.fix);
    if (ext !== '.json') return { problems: [...problems, p] };
    problems.push(p);
  }
  if (st.size > MAX_FILE_BYTES) return stop(`is ${st.size} bytes, more than ${MAX_FILE_BYTES}: not a cluster file`);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(abs);
  } catch (err) {
    return stop(`cannot read: ${(err as NodeJS.ErrnoException).code ?? firstLine(err)}`);
  }
  const bad = firstInvalidUtf8(bytes);
  if (bad !== undefined) {
    problems.push(fileProblem(file, `is not valid UTF-8: byte 0x${bytes[bad]!.toString(16).padStart(2, '0')} at byte offset ${bad} (line ${lineOfOffset(bytes, bad)})`,
      'save the file as UTF-8; Node would silently turn such bytes into U+FFFD'));
  }
  if (ext === '.json') {
    const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
    let def: unknown;
    try {
      def = JSON.parse(text);
    } catch (err) {
      return stop(`cannot parse JSON: ${firstLine(err)}`);
    }
    let dups: ReturnType<typeof duplicateKeys> = [];
    try { dups = duplicateKeys(text); } catch { /* nested too deep to scan: validation reports the depth */ }
    for (const d of dups) {
      const { where, attribute } = locate(d.path);
      problems.push(problem('error', file, where, attribute, `is given twice in one JSON object (lines ${d.firstLine} and ${d.line}): JSON keeps only the last one`, 'remove one of them'));
    }
    return { def, problems };
  }
  const req = createRequire(abs);
  let exported: unknown;
  try {
    exported = whileLoading(() => {
      delete req.cache[abs];
      try {
        return req(abs) as unknown;
      } finally {
        // Fresh on every load: the coordinator reloads the file after an edit.
        delete req.cache[abs];
      }
    });
  } catch (err) {
    const hint = (err as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND' && firstLine(err).includes(PACKAGE_NAME)
      ? unresolvedPackageHint() : undefined;
    return stop(`cannot load: ${firstLine(err)}`, hint);
  }
  try {
    if (isPlainObject(exported) && CLUSTER_SYMBOL in exported) return { def: (exported as Record<symbol, unknown>)[CLUSTER_SYMBOL], problems };
    if (isPlainObject(exported) && ('cluster' in exported || 'groups' in exported)) return { def: exported, problems };
    if (isPlainObject(exported) && 'apps' in exported) {
      return stop('is a PM2 ecosystem file without a cluster definition', 'module.exports = defineCluster({ cluster, groups })');
    }
  } catch (err) {
    return stop(`its export cannot be read: ${firstLine(err)}`);
  }
  return stop('does not export a cluster definition', 'module.exports = defineCluster({ cluster: {…}, groups: {…} })');
}

export async function loadCluster(file: string): Promise<LoadResult> {
  const abs = path.resolve(file);
  const read = readDefinition(file, abs);
  const fileErrors = read.problems.filter((p) => p.severity === 'error').length;
  if (read.def === undefined) return { problems: read.problems, summary: { errors: fileErrors, warnings: 0, groups: 0, resources: 0 } };
  const { result, definition } = validateSnapshot(read.def, file);
  const { problems: found, ...counts } = result;
  const problems = [...read.problems, ...found];
  const summary = { ...counts, errors: counts.errors + fileErrors };
  if (summary.errors > 0) return { problems, summary };
  try {
    return { cluster: resolveCluster(definition as ClusterDefinition, abs), problems, summary };
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
