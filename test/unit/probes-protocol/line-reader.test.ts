/**
 * The bounded line reader over a real socket: a complete line that arrives with the bytes that
 * break a cap is still served to the read waiting for it (it used to wait for the deadline),
 * then the failure; lines count against a cap as well as bytes.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineReader } from '../../../probes/transport/line-reader';
import { portBlock } from '../../helpers/ports';

const PORT = portBlock('spare', 8) + 40;
let server: net.Server;
const sockets = new Set<net.Socket>();
/** What the server sends to the next connection, in one write. */
let next = Buffer.alloc(0);

beforeAll(async () => {
  server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write(next);
  });
  await new Promise<void>((resolve) => server.listen(PORT, '127.0.0.1', () => resolve()));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

async function reader(send: Buffer, limits: ConstructorParameters<typeof LineReader>[1] = {}): Promise<{ r: LineReader; socket: net.Socket }> {
  next = send as typeof next;
  const socket = net.connect(PORT, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  // The read waits before the bytes arrive, as a probe's does.
  return { r: new LineReader(socket, limits), socket };
}

describe('LineReader', () => {
  it('serves the line that came with an over-long one to the waiting read, then fails', async () => {
    const { r, socket } = await reader(Buffer.from(`+OK ready\r\n${'A'.repeat(20_000)}`));
    try {
      expect(await r.readLine()).toBe('+OK ready');
      await expect(r.readLine()).rejects.toThrow(/line longer than 8192 bytes/);
    } finally { socket.destroy(); }
  }, 10_000);

  it('fails past its line cap, however short the lines', async () => {
    const { r, socket } = await reader(Buffer.from('+OK x\r\n'.repeat(50)), { maxLines: 10 });
    try {
      for (let i = 0; i < 10; i++) expect(await r.readLine()).toBe('+OK x');
      await expect(r.readLine()).rejects.toThrow(/more than 10 lines/);
    } finally { socket.destroy(); }
  });

  it('fails past its byte cap', async () => {
    const { r, socket } = await reader(Buffer.from('x'.repeat(100) + '\r\n'), { maxTotalBytes: 50 });
    try {
      await expect(r.readLine()).rejects.toThrow(/more than 50 bytes/);
    } finally { socket.destroy(); }
  });
});
