/**
 * The I/O helper process: performs shared-directory operations (file-ops.ts) one at a time,
 * synchronously, for its parent over IPC. If a call hangs (NFS server gone), only this process
 * blocks; the parent times the request out and, if the hang lasts, SIGKILLs and respawns it.
 * Guarantees: one request at a time, in arrival order; every error becomes a reply value; it
 * exits when its parent disconnects.
 */
import { FileOps } from './file-ops';

interface Request { id: number; op: string; args: unknown[] }

const root = process.env.MSGHA_LEASE_ROOT ?? '';
const ops = new FileOps(root, process.env.MSGHA_LEASE_DIRECT === '1');

function perform(req: Request): unknown {
  const a = req.args;
  switch (req.op) {
    case 'ping': return 'pong';
    case 'listEpochs': return ops.listEpochs(a[0] as string);
    case 'readEpoch': return ops.readEpoch(a[0] as string, a[1] as number);
    case 'createEpoch': return ops.createEpoch(a[0] as string, a[1] as number, Buffer.from(a[2] as Uint8Array), a[3] as string);
    case 'writeEpoch': return ops.writeEpoch(a[0] as string, a[1] as number, Buffer.from(a[2] as Uint8Array));
    case 'readAdmin': return ops.readAdmin(a[0] as string);
    case 'writeAdmin': return ops.writeAdmin(a[0] as string, a[1] as string);
    case 'gc': return ops.gc(a[0] as string, a[1] as number, a[2] as number);
    case 'readMeta': return ops.readMeta(a[0] as string);
    case 'createMeta': return ops.createMeta(a[0] as string, a[1] as string, a[2] as string);
    case 'writeMeta': return ops.writeMeta(a[0] as string, a[1] as string);
    case 'checkTree': return ops.checkTree(a[0] as string[]);
    default: throw Object.assign(new Error(`unknown op ${req.op}`), { code: 'EINVAL' });
  }
}

process.on('message', (req: Request) => {
  try {
    process.send?.({ id: req.id, ok: true, value: perform(req) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.send?.({ id: req.id, ok: false, code: e.code ?? 'OTHER', message: e.message });
  }
});
process.on('disconnect', () => process.exit(0));
