/**
 * `defineCluster`: what an ecosystem file calls. It returns the PM2 ecosystem object (one app,
 * the coordinator, which registers the agent apps itself) and keeps the raw definition on it
 * for loadCluster. When PM2 loads the file, an invalid definition throws with every problem;
 * while loadCluster loads it, it never throws (loadCluster reports the problems itself).
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../core/package-root';
import { GENERIC_ATTRIBUTES } from '../model/attributes';
import { isPlainObject } from '../model/check-context';
import { ClusterConfigError, formatProblem } from '../model/problems';
import { validateDefinition } from './validate';

/** Where the raw definition hides on the returned object (shared across module copies). */
export const CLUSTER_SYMBOL = Symbol.for('msgha.cluster');
/** Set (as a depth counter) on globalThis while loadCluster requires a file. */
export const LOADING_SYMBOL = Symbol.for('msgha.loading');

export interface CoordinatorApp {
  name: 'msgha';
  script: string;
  pmx: false;
  treekill: false;
  kill_timeout: number;
  autorestart: true;
  env: Record<string, string>;
}

export interface EcosystemExport {
  apps: CoordinatorApp[];
}

export function isLoadingCluster(): boolean {
  return ((globalThis as Record<symbol, unknown>)[LOADING_SYMBOL] as number | undefined ?? 0) > 0;
}

/** Runs `fn` with the loading flag set, so defineCluster inside it does not throw. */
export function whileLoading<T>(fn: () => T): T {
  const g = globalThis as Record<symbol, unknown>;
  g[LOADING_SYMBOL] = ((g[LOADING_SYMBOL] as number | undefined) ?? 0) + 1;
  try {
    return fn();
  } finally {
    g[LOADING_SYMBOL] = (g[LOADING_SYMBOL] as number) - 1;
  }
}

export function coordinatorScript(): string {
  return path.join(packageRoot(), 'dist', 'plugin', 'main.js');
}

/** The file that called defineCluster: the first stack frame outside this package's plugin code. */
function callerFile(): string | undefined {
  const saved = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_e, frames) => frames;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, defineCluster);
    const frames = holder.stack ?? [];
    const pluginDir = path.resolve(__dirname, '..');
    for (const f of frames) {
      let name = f.getFileName();
      if (!name) continue;
      if (name.startsWith('file://')) name = fileURLToPath(name);
      if (!path.isAbsolute(name) || name.startsWith(pluginDir + path.sep)) continue;
      return name;
    }
    return undefined;
  } finally {
    Error.prepareStackTrace = saved;
  }
}

function seconds(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback;
}

/** Longest offline + clean of any resource: PM2 must let the coordinator finish them on stop. */
export function coordinatorKillTimeout(def: unknown): number {
  const dflt = (name: string): number => seconds(GENERIC_ATTRIBUTES.find((a) => a.name === name)?.default, 0);
  let longest = dflt('OfflineTimeout') + dflt('CleanTimeout');
  const groups = isPlainObject(def) && isPlainObject(def.groups) ? Object.values(def.groups) : [];
  for (const g of groups) {
    if (!isPlainObject(g) || !isPlainObject(g.resources)) continue;
    for (const r of Object.values(g.resources)) {
      if (!isPlainObject(r)) continue;
      const t = seconds(r.OfflineTimeout, dflt('OfflineTimeout')) + seconds(r.CleanTimeout, dflt('CleanTimeout'));
      longest = Math.max(longest, t);
    }
  }
  return longest * 1000 + 10_000;
}

export function defineCluster(def: unknown): EcosystemExport {
  const file = callerFile();
  if (!isLoadingCluster()) {
    const result = validateDefinition(def, file ?? '<defineCluster>');
    if (result.errors > 0) throw new ClusterConfigError(result.problems);
    for (const p of result.problems) process.stderr.write(`msgha: ${formatProblem(p)}\n`);
  }
  const env: Record<string, string> = {};
  if (file) env.MSGHA_CLUSTER_FILE = file;
  if (process.env.MSGHA_NODE) env.MSGHA_NODE = process.env.MSGHA_NODE;
  // Per-node runtime dir (fence socket, guard files) when several nodes share one machine.
  if (process.env.MSGHA_RUN_DIR) env.MSGHA_RUN_DIR = process.env.MSGHA_RUN_DIR;
  const app: CoordinatorApp = {
    name: 'msgha',
    script: coordinatorScript(),
    pmx: false,
    treekill: false,
    kill_timeout: coordinatorKillTimeout(def),
    autorestart: true,
    env,
  };
  const out: EcosystemExport = { apps: [app] };
  Object.defineProperty(out, CLUSTER_SYMBOL, { value: def, enumerable: false });
  return out;
}
