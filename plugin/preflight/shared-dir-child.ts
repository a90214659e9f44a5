/**
 * Runs as its own process (shared-dir.ts gives it a deadline), because a hung NFS call cannot
 * be interrupted: the coordinator's start-up check of the shared directory (lease/file-ops.ts
 * checkTree), then ~3 s of 512-byte O_DSYNC rewrites of one temp file under the shared
 * directory, removed afterwards. argv: storeRoot, groups (comma-separated), temp file, ms.
 * Prints one JSON line: { tree: TreeCheck | { error }, latency?: Latency, ioError? }.
 */
import * as fs from 'node:fs';
import { FileOps } from '../lease/file-ops';
import { latencyOf } from './latency';

const RECORD = 512;

function main(): void {
  const [root, groupList, tmp, msText] = process.argv.slice(2);
  const out: { tree?: unknown; latency?: unknown; ioError?: string } = {};
  const samplesMs: number[] = [];
  try {
    out.tree = new FileOps(root!, false).checkTree(groupList ? groupList.split(',') : []);
  } catch (err) {
    out.tree = { error: (err as Error).message };
  }
  const flags = fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW | fs.constants.O_DSYNC;
  const buf = Buffer.alloc(RECORD, 0x2e);
  try {
    const fd = fs.openSync(tmp!, flags, 0o600);
    try {
      const end = process.hrtime.bigint() + BigInt(Number(msText)) * 1_000_000n;
      for (let i = 0; process.hrtime.bigint() < end; i++) {
        buf.writeUInt32LE(i, 0);
        const t0 = process.hrtime.bigint();
        fs.writeSync(fd, buf, 0, RECORD, 0);
        samplesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    } finally {
      fs.closeSync(fd);
      fs.rmSync(tmp!, { force: true });
    }
  } catch (err) {
    out.ioError = `${tmp}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  out.latency = latencyOf(samplesMs);
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();
