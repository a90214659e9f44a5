/**
 * `msgha package [OUTDIR]`: builds the PM2 module tarball (`pm2 install <tarball>` works
 * offline). A clean staging copy of the package — package.json, dist (without test and bench
 * code), production node_modules, ecosystem, dashboards, README — is packed by `pm2 package`,
 * which names it `pm2-messaging-ha-v<version>.tar.gz` with the top folder renamed `module/`.
 * `pm2 package` needs a PM2 daemon: it runs with a throwaway PM2_HOME that is killed afterwards,
 * so the operator's daemon is never touched. Exit 0 = built, 1 = failed, 2 = usage.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const usage = 'package [OUTDIR]                build the PM2 module tarball (pm2 install <tarball>)';

const PACKAGE_NAME = 'pm2-messaging-ha';
const COPIED = ['package.json', 'README.md', 'LICENSE', 'ecosystem', 'dashboards'];
/** Compiled code that is not product code. */
const DIST_EXCLUDED = ['test', 'bench'];

function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === PACKAGE_NAME && path.basename(dir) !== 'dist') return dir;
    } catch { /* keep climbing */ }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package folder above ${__dirname}`);
    dir = up;
  }
}

function exec(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { ...opts, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Top-level node_modules entries needed at run time (npm's own view, offline). */
async function productionModules(root: string): Promise<string[] | undefined> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = await exec(npm, ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root });
  const nm = path.join(root, 'node_modules') + path.sep;
  const top = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith(nm)) continue;
    const parts = line.slice(nm.length).split(path.sep);
    const name = parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
    if (name && !name.startsWith('.')) top.add(name);
  }
  return top.size > 0 ? [...top] : undefined;
}

export async function run(args: string[]): Promise<number> {
  if (args.length > 1 || args.some((a) => a.startsWith('-'))) {
    process.stderr.write(`usage: msgha ${usage}\n`);
    return 2;
  }
  const outDir = path.resolve(args[0] ?? '.');
  const root = packageRoot();
  if (!fs.existsSync(path.join(root, 'dist', 'plugin', 'main.js'))) {
    process.stderr.write(`msgha package: ${root}/dist is not built (run npm run build)\n`);
    return 1;
  }
  fs.mkdirSync(outDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'msgha-pkg-'));
  // pm2 package names the tarball after the folder, so the staging folder has the package's name.
  const stage = path.join(work, PACKAGE_NAME);
  const home = path.join(work, 'pm2home');
  const pm2Bin = require.resolve('pm2/bin/pm2', { paths: [root] });
  try {
    fs.mkdirSync(stage);
    for (const entry of COPIED) {
      const src = path.join(root, entry);
      if (fs.existsSync(src)) fs.cpSync(src, path.join(stage, entry), { recursive: true });
    }
    fs.cpSync(path.join(root, 'dist'), path.join(stage, 'dist'), {
      recursive: true,
      filter: (src) => !DIST_EXCLUDED.some((d) => src === path.join(root, 'dist', d) || src.startsWith(path.join(root, 'dist', d) + path.sep)),
    });
    const modules = await productionModules(root);
    if (modules) {
      for (const m of modules) fs.cpSync(path.join(root, 'node_modules', m), path.join(stage, 'node_modules', m), { recursive: true });
    } else {
      process.stderr.write('msgha package: npm ls gave no production list; copying all of node_modules\n');
      fs.cpSync(path.join(root, 'node_modules'), path.join(stage, 'node_modules'), { recursive: true });
    }
    const env = { ...process.env, PM2_HOME: home };
    const r = await exec(process.execPath, [pm2Bin, 'package', stage], { cwd: outDir, env });
    await exec(process.execPath, [pm2Bin, 'kill'], { cwd: outDir, env });
    const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
    const tarball = path.join(outDir, `${PACKAGE_NAME}-v${version.replace(/\./g, '-')}.tar.gz`);
    if (r.code !== 0 || !fs.existsSync(tarball)) {
      process.stderr.write(`msgha package: pm2 package failed (exit ${r.code}):\n${r.stderr || r.stdout}\n`);
      return 1;
    }
    process.stdout.write(`${tarball}\ninstall with: pm2 install ${tarball}\nthen: pm2 set ${PACKAGE_NAME}:cluster_file /path/to/cluster.config.js\n`);
    return 0;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
