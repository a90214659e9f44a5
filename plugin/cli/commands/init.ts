/**
 * `msgha init [NAME] [--dir DIR] [--node NODE] [--force]`: writes a starter cluster file,
 * DIR/NAME.config.js (default /etc/msgha/mail.config.js), that requires this installed package
 * by its real path.
 *
 * Why a path and not `require('pm2-messaging-ha')`: `pm2 start FILE` (and the coordinator and
 * every agent) require the file with Node's own resolution, which searches node_modules folders
 * above the file and never the global prefix of `npm i -g`. /etc/msgha has none, so the bare
 * name fails there. The real path works in every process that runs the file, whatever its
 * environment (no NODE_PATH to keep in step between a shell, PM2's daemon and `pm2 startup`).
 * Exit 0 = written, 1 = not written, 2 = usage.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../core/package-root';
import { checkTrustedPath, describeBreach } from '../../core/trusted-path';

export const usage = 'init [NAME] [--dir DIR] [--node NODE] [--force]  write DIR/NAME.config.js (default /etc/msgha/mail.config.js) requiring this installed package';

const DEFAULT_DIR = '/etc/msgha';
/** Cluster names become file names, PM2 app names and lease paths: keep them plain. */
const NAME_RULE = /^[a-z0-9][a-z0-9_-]{0,62}$/i;

interface InitArgs { name: string; dir: string; node: string; force: boolean; bad?: string }

function parseArgs(args: string[]): InitArgs {
  const out: InitArgs = { name: 'mail', dir: DEFAULT_DIR, node: os.hostname(), force: false };
  const rest: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i]!;
    if (a === '--force') out.force = true;
    else if (a === '--dir' || a === '--node') {
      const v = args[i + 1];
      if (!v) return { ...out, bad: `${a} needs a value` };
      if (a === '--dir') out.dir = v; else out.node = v;
      i += 1;
    } else if (a.startsWith('-')) return { ...out, bad: `unknown option ${a}` };
    else rest.push(a);
  }
  if (rest.length > 1) return { ...out, bad: 'at most one NAME' };
  if (rest[0] !== undefined) out.name = rest[0];
  if (!NAME_RULE.test(out.name)) return { ...out, bad: `NAME "${out.name}" must be letters, digits, _ and - (at most 63)` };
  return out;
}

/** The text of the starter file; `pkg` is the package's real path. */
export function starterText(pkg: string, name: string, node: string): string {
  return `// Cluster file of the msgha cluster "${name}", written by \`msgha init\`. Every node uses the same file.
// pm2 start runs it with Node's own module resolution, which does not look in the global
// node_modules: the package is therefore required by its real path. If Node or the package
// moves, \`msgha validate\` fails and names the new path.
const { defineCluster } = require(${JSON.stringify(pkg)});

module.exports = defineCluster({
  cluster: { name: ${JSON.stringify(name)}, nodes: [${JSON.stringify(node)}] },
  groups: {
    // Add your service groups here (\`msgha explain\` lists every type and attribute), e.g.
    // mail: {
    //   systemList: [${JSON.stringify(node)}],
    //   resources: {
    //     imap: { type: 'Application', StartProgram: '/usr/sbin/dovecot -c /srv/mail/dovecot.conf',
    //             StopProgram: '/usr/sbin/dovecot -c /srv/mail/dovecot.conf stop',
    //             MonitorProcesses: ['/usr/sbin/dovecot -c /srv/mail/dovecot.conf'] },
    //   },
    // },
  },
});
`;
}

/** Writes `text` to `file` atomically (mode 0600); refuses an existing file unless `force`. */
function writeFileAtomic(file: string, text: string, force: boolean): string | undefined {
  if (!force && fs.existsSync(file)) return `${file} exists: not overwritten (use --force to replace it)`;
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
    return undefined;
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    return `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args);
  if (a.bad) {
    process.stderr.write(`msgha init: ${a.bad}\nusage: msgha ${usage}\n`);
    return 2;
  }
  const pkg = fs.realpathSync(packageRoot());
  const dir = path.resolve(a.dir);
  const file = path.join(dir, `${a.name}.config.js`);
  try {
    // 0700 as docs/security.md asks of /etc/msgha (the cluster key lives there); an existing folder is left as it is.
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    process.stderr.write(`msgha init: cannot create ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
    return 1;
  }
  const failed = writeFileAtomic(file, starterText(pkg, a.name, a.node), a.force);
  if (failed) {
    process.stderr.write(`msgha init: ${failed}\n`);
    return 1;
  }
  process.stdout.write(`${file}: written (requires ${pkg})\nnext: add your groups, then\n  msgha validate ${file}\n  pm2 start ${file}\n`);
  // The file runs the package's code as root: whoever can change the package can become root.
  const uid = process.geteuid?.() ?? 0;
  const trust = checkTrustedPath(path.join(pkg, 'package.json'), { owners: uid === 0 ? [] : [uid] });
  if (!trust.ok) {
    process.stderr.write(`msgha init: warning: ${describeBreach('package', pkg, trust.breach)}; fix: ${trust.breach.fix}\n`);
  }
  return 0;
}
