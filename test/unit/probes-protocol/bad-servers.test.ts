/**
 * Every protocol probe against scriptable misbehaving servers: it must end with a clean `fail`
 * or `timeout` (never `ok`, never a throw), within its deadline + 10 %, and leave no socket open.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SCRIPTS, startBadServer, type BadServer, type Step } from '../../fixtures/bad-servers';
import { portBlock } from '../../helpers/ports';
import { getProbe } from '../../../probes/registry';
import type { ProtocolOptions } from '../../../probes/transport/options';

const BASE = portBlock('probes', 0);
const TIMEOUT_MS = 1200;
let nextPort = BASE;

function socketHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => /TCP|TLS/.test(r)).length;
}
const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Case { service: string; greeting: string; options: Partial<ProtocolOptions> }
const CASES: Case[] = [
  { service: 'pop', greeting: '+OK ready\r\n', options: { user: 'u', password: 'p' } },
  { service: 'imap', greeting: '* OK ready\r\n', options: {} },
  { service: 'imap', greeting: '* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n', options: { user: 'u', password: 'p' } },
  { service: 'smtp', greeting: '220 hi ESMTP\r\n', options: { recipient: 'u@example.com' } },
  { service: 'lmtp', greeting: '220 hi LMTP\r\n', options: { recipient: 'u@example.com' } },
  { service: 'http', greeting: '', options: { user: 'u', password: 'p' } },
  { service: 'admin', greeting: '', options: { user: 'admin', password: 'p' } },
  { service: 'ldap', greeting: '', options: { bindDn: 'cn=x', password: 'p' } },
];

const BEHAVIOURS: Record<string, (c: Case) => Step[]> = {
  silent: () => SCRIPTS.silent(),
  acceptClose: () => SCRIPTS.acceptClose(),
  garbage: () => SCRIPTS.garbage(),
  hugeLine: () => SCRIPTS.hugeLine(2_000_000),
  endlessLines: () => SCRIPTS.endlessLines(200_000),
  slowDrip: (c) => SCRIPTS.slowDrip(c.greeting || 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 150),
  greetThenSilent: (c) => c.greeting ? SCRIPTS.greetThenSilent(c.greeting) : [{ expect: /./ }, 'hang'],
  halfCloseMidLogin: (c) => c.greeting ? SCRIPTS.halfCloseAfter(c.greeting, c.service === 'imap' ? 0 : 1, c.service.startsWith('imap') ? '* OK\r\n' : c.service === 'pop' ? '+OK\r\n' : '250 ok\r\n') : [{ expect: /./ }, 'end', 'hang'],
  closeMidLogin: (c) => c.greeting ? SCRIPTS.closeAfter(c.greeting, 1, c.service === 'pop' ? '+OK\r\n' : '250-x\r\n250 ok\r\n') : [{ expect: /./ }, 'close'],
};

let baseline = 0;
beforeAll(async () => { await tick(); baseline = socketHandles(); });

describe.each(CASES)('$service probe (user: $options.user) against bad servers', (c) => {
  let server: BadServer | undefined;
  afterEach(async () => { await server?.close(); server = undefined; });

  it('fails in phase connect on a closed port', async () => {
    const port = nextPort++;
    const r = await getProbe(c.service)!({ host: '127.0.0.1', port }, { timeoutMs: TIMEOUT_MS, ...c.options });
    expect(r.outcome).toBe('fail');
    expect(r.failedPhase).toBe('connect');
    expect(r.reason).toBeTruthy();
  });

  it.each(Object.keys(BEHAVIOURS))('ends cleanly against %s', async (behaviour) => {
    const port = nextPort++;
    await tick();
    const before = socketHandles();
    server = await startBadServer(port, BEHAVIOURS[behaviour]!(c));
    const t0 = performance.now();
    const r = await getProbe(c.service)!({ host: '127.0.0.1', port }, { timeoutMs: TIMEOUT_MS, ...c.options });
    const elapsed = performance.now() - t0;
    expect(r.outcome, JSON.stringify(r)).not.toBe('ok');
    expect(['fail', 'timeout']).toContain(r.outcome);
    expect(r.reason).toBeTruthy();
    expect(r.phases.total).toBeGreaterThanOrEqual(0);
    // Deadline + 10 %, plus room for a loaded machine's event loop (CI runs suites side by side).
    expect(elapsed).toBeLessThanOrEqual(TIMEOUT_MS * 1.1 + 400);
    // A slow drip of a valid greeting (LDAP has none: its drip is garbage) must time out.
    if (behaviour === 'silent' || (behaviour === 'slowDrip' && c.service !== 'ldap') || behaviour === 'greetThenSilent') expect(r.outcome).toBe('timeout');
    if (behaviour === 'silent') expect(r.failedPhase).not.toBe('connect');
    await server.close();
    server = undefined;
    await tick(30);
    expect(process.getActiveResourcesInfo().filter((x) => /TCP|TLS/.test(x))).toHaveLength(before);
  });
});

afterAll(async () => {
  await tick(50);
  expect(socketHandles()).toBe(baseline);
});
