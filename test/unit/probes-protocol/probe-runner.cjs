/**
 * Runs one `msgha probe` (the compiled command from dist/) in this process and reports what it
 * cost, so a test can measure the probe's own memory rather than the test runner's heap:
 * `node probe-runner.cjs DIST_DIR ARGS…` prints the probe's JSON on stdout and, last on stderr,
 * a line `MEM {"hwmKb":…,"ms":…,"code":…}` (VmHWM of this process at the end, wall time of the
 * probe, exit code of the command).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [dist, ...args] = process.argv.slice(2);
const { run } = require(path.join(dist, 'plugin', 'cli', 'commands', 'probe.js'));

function statusKb(field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : -1;
}

const t0 = performance.now();
run(args).then((code) => {
  const ms = Math.round(performance.now() - t0);
  process.stderr.write(`MEM ${JSON.stringify({ hwmKb: statusKb('VmHWM'), ms, code })}\n`);
  process.exitCode = code;
}, (err) => {
  process.stderr.write(`runner: ${err && err.message}\n`);
  process.exitCode = 99;
});
