/**
 * `npm run bench [-- NAME …]`: runs the named benchmarks (all when none is named) and writes
 * bench/results/NAME.json plus a Markdown summary. Benchmarks report; they never fail a build.
 */
import * as path from 'node:path';

const BENCHMARKS = ['recovery', 'probes', 'metrics', 'lease', 'failover', 'thaw', 'footprint'] as const;

async function main(names: string[]): Promise<void> {
  const chosen = names.length ? names : [...BENCHMARKS];
  for (const name of chosen) {
    if (!(BENCHMARKS as readonly string[]).includes(name)) {
      process.stderr.write(`unknown benchmark '${name}' (known: ${BENCHMARKS.join(', ')})\n`);
      process.exitCode = 2;
      return;
    }
    const mod = require(path.join(__dirname, name)) as { run(): Promise<void> };
    process.stdout.write(`== ${name}\n`);
    await mod.run();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
