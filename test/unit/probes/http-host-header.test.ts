/**
 * The HTTP probe's Host header carries the name the resource is configured with (its
 * servername), not the address that name resolved to: a virtual-hosted webmail answers only
 * for its name. Through the registry, as agents call it (`.localhost` names resolve to 127.0.0.1).
 */
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getProbe } from '../../../probes/registry';
import { hostHeader } from '../../../probes/transport/http-request';
import { portBlock } from '../../helpers/ports';

const PORT = portBlock('pm2', 9) + 60;
let server: http.Server;
const seen: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(String(req.headers.host));
    res.writeHead(req.headers.host === `mail.example.localhost:${PORT}` ? 200 : 421);
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(PORT, '127.0.0.1', () => r()));
});
afterAll(async () => { await new Promise((r) => server.close(r)); });

describe('HTTP Host header', () => {
  it('is the configured name, not the resolved address', async () => {
    const r = await getProbe('http')!({ host: 'mail.example.localhost', port: PORT }, { timeoutMs: 2000 });
    expect(r.outcome, r.reason).toBe('ok');
    expect(seen).toEqual([`mail.example.localhost:${PORT}`]);
  });

  it('is the address when an address was configured; IPv6 is bracketed', async () => {
    seen.length = 0;
    await getProbe('http')!({ host: '127.0.0.1', port: PORT }, { timeoutMs: 2000 });
    expect(seen).toEqual([`127.0.0.1:${PORT}`]);
    expect(hostHeader('::1', 80)).toBe('[::1]:80');
  });
});
