/**
 * Our own processes: never an instance's, never to be matched, trusted from a pid file or killed.
 * Decided from the kernel's view (/proc exe, status, cmdline), never from a pid file.
 */
import { readlinkSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../core/package-root';
import { isUnder } from './paths';
import { protectedPidsSync, readCmdlineSync, readStatusSync } from './table';

const PM2_DAEMON_TITLE = /^PM2 v[\d.]+: God Daemon/;
let ownCode: { root: string; nodeExe: string } | undefined;

function ownCodeInfo(): { root: string; nodeExe: string } {
  if (!ownCode) {
    let nodeExe = process.execPath;
    try { nodeExe = realpathSync(process.execPath); } catch { /* keep the path as given */ }
    ownCode = { root: packageRoot(), nodeExe };
  }
  return ownCode;
}

/** The script a Node process runs: its first non-option argument (a retitled process has one argv word). */
function scriptOf(argv: string[]): string | undefined {
  const words = argv.length === 1 ? argv[0]!.split(/\s+/).filter(Boolean) : argv;
  return words.slice(1).find((w) => !w.startsWith('-'));
}

/**
 * Why `pid` is one of our own processes, or undefined. Ours: this process and its ancestors
 * (the agent, PM2's daemon, init); of our uid only: a process titled as PM2's God Daemon, and
 * any Node process whose script is under this package's directory (agents, coordinator, fence,
 * the CLI, and PM2 or test runners installed there) or in a `pm2` package (PM2's fork containers).
 * `argv` and `uid` (the real uid) when the caller has read them already.
 */
export function ownProcess(pid: number, argv?: string[], uid?: number): string | undefined {
  if (protectedPidsSync().has(pid)) return pid === process.pid ? 'this agent process itself' : 'an ancestor of this agent (PM2 or init)';
  const args = argv ?? readCmdlineSync(pid);
  if (!args || args.length === 0) return undefined;
  // Only processes of our own user count: anybody can give a process PM2's title or our paths.
  const realUid = uid ?? readStatusSync(pid)?.uid;
  if (realUid === undefined || realUid !== (process.getuid?.() ?? 0)) return undefined;
  if (PM2_DAEMON_TITLE.test(args[0]!)) return "PM2's daemon";
  // The script first (no read), the executable only for a script of ours: most processes stop here.
  const script = scriptOf(args);
  if (!script || !path.isAbsolute(script)) return undefined;
  const own = ownCodeInfo();
  const what = isUnder(path.resolve(script), own.root) ? `our own Node process (${script})`
    : path.resolve(script).includes('/node_modules/pm2/') ? `a PM2 process (${script})` : undefined;
  if (!what) return undefined;
  let exe: string;
  try { exe = readlinkSync(`/proc/${pid}/exe`); } catch { return undefined; }
  if (exe !== own.nodeExe && !/^node(js)?[\d.]*$/.test(path.basename(exe))) return undefined;
  return what;
}
