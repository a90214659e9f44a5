/**
 * The sandbox messaging suite against real daemons: build, start every service through the
 * layout's own scripts, speak each protocol with raw clients, check process names, stop with
 * the -k/stop scripts and check nothing of the dir is left running.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import http from 'node:http';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Client } from 'ldapts';
import { portBlock } from '../helpers/ports';
import { buildSandbox, startAll, stopAllByScripts, runScript, type Sandbox } from '../fixtures/sandbox/index';
import { LineClient } from '../fixtures/sandbox/line-client';
import { processesUnder, cmdlineOf, isAlive } from '../fixtures/sandbox/proc-scan';

interface HttpReply { status: number; body: string }

function request(port: number, opts: { path: string; method?: string; tls?: boolean; auth?: string; body?: string; type?: string }): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    if (opts.body !== undefined) { headers['content-type'] = opts.type ?? 'application/x-www-form-urlencoded'; headers['content-length'] = String(Buffer.byteLength(opts.body)); }
    const mod = opts.tls ? https : http;
    const req = mod.request({ host: '127.0.0.1', port, path: opts.path, method: opts.method ?? 'GET', headers, rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('http timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function imapLogin(port: number, user: string, password: string, tls = false): Promise<string> {
  const c = await LineClient.connect(port, { tls });
  try {
    expect(await c.line()).toMatch(/^\* OK/);
    const r = await c.cmd(`a1 LOGIN "${user}" "${password}"`, /^a1 /);
    if (r.startsWith('a1 OK')) await c.cmd('a2 LOGOUT', /^a2 /);
    return r;
  } finally { c.close(); }
}

async function imapCount(port: number, user: string, password: string): Promise<number> {
  const c = await LineClient.connect(port);
  try {
    await c.line();
    expect(await c.cmd(`a1 LOGIN "${user}" "${password}"`, /^a1 /)).toMatch(/^a1 OK/);
    c.send('a2 STATUS INBOX (MESSAGES)');
    const lines = await c.until(/^a2 /);
    const m = lines.map((l) => /MESSAGES (\d+)/.exec(l)).find((x) => x);
    return m ? Number(m[1]) : -1;
  } finally { c.close(); }
}

async function popLogin(port: number, user: string, password: string, tls = false): Promise<string> {
  const c = await LineClient.connect(port, { tls });
  try {
    expect(await c.line()).toMatch(/^\+OK/);
    expect(await c.cmd(`USER ${user}`, /^[+-]/)).toMatch(/^\+OK/);
    const r = await c.cmd(`PASS ${password}`, /^[+-]/);
    if (r.startsWith('+OK')) await c.cmd('QUIT', /^[+-]/);
    return r;
  } finally { c.close(); }
}

/** Send one message over SMTP; resolves the final reply of DATA. */
async function smtpSend(port: number, to: string, subject: string, messageId?: string): Promise<string> {
  const c = await LineClient.connect(port);
  try {
    expect(await c.line()).toMatch(/^220 /);
    expect(await c.cmd('EHLO client.example.org', /^\d{3} /)).toMatch(/^250 /);
    expect(await c.cmd('MAIL FROM:<sender@example.org>', /^\d{3} /)).toMatch(/^250 /);
    expect(await c.cmd(`RCPT TO:<${to}>`, /^\d{3} /)).toMatch(/^250 /);
    expect(await c.cmd('DATA', /^\d{3} /)).toMatch(/^354 /);
    c.send(`Subject: ${subject}`);
    if (messageId) c.send(`Message-ID: <${messageId}>`);
    c.send('');
    c.send('sandbox test message');
    const r = await c.cmd('.', /^\d{3} /);
    await c.cmd('QUIT', /^\d{3} /);
    return r;
  } finally { c.close(); }
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let v: T | undefined;
    try { v = await fn(); } catch { v = undefined; }
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function maildirCount(storeDir: string, user: string): number {
  let n = 0;
  for (const sub of ['new', 'cur']) {
    try { n += fs.readdirSync(path.join(storeDir, user, 'Maildir', sub)).length; } catch { /* not yet created */ }
  }
  return n;
}

/** Live processes whose argv contains root (as a path prefix) and an element naming the daemon. */
function procsOf(root: string, name: string): number[] {
  return processesUnder(root).filter((pid) => {
    const argv = cmdlineOf(pid) ?? [];
    return argv.some((a) => a.includes(`${root}/`)) && argv.some((a) => a.split('/').includes(name) || a.includes(`/${name}/`));
  });
}

async function bannerOf(port: number): Promise<string> {
  const c = await LineClient.connect(port);
  try { return await c.line(); } finally { c.close(); }
}

// Two sandboxes side by side: A (passwd-file auth) and B (LDAP auth, SSL db password, HTTPS
// admin server), built and started at the same time.
const baseA = portBlock('sandbox', 0);
const baseB = portBlock('sandbox', 1);
let sb: Sandbox;
let sbB: Sandbox;
const SSLDB = 'sekrit-db-pw';

async function buildAndStart(label: string, make: () => Promise<Sandbox>, before?: (s: Sandbox) => Promise<void>): Promise<Sandbox> {
  const t0 = Date.now();
  const s = await make();
  const built = Date.now() - t0;
  if (before) await before(s);
  const t1 = Date.now();
  const steps = await startAll(s);
  console.log(`sandbox ${label} ${s.dir}: build ${built} ms, start ${Date.now() - t1} ms`, steps);
  expect(built).toBeLessThan(2000);
  return s;
}

beforeAll(async () => {
  [sb, sbB] = await Promise.all([
    buildAndStart('A', () => buildSandbox({ dir: `/tmp/msgha-sbx-${baseA}`, basePort: baseA })),
    buildAndStart('B', () => buildSandbox({ dir: `/tmp/msgha-sbx-${baseB}`, basePort: baseB, auth: 'ldap', sslDbPassword: SSLDB, adminSSL: true }),
      async (s) => {
        // The SSL database password is checked before anything starts.
        for (const stdin of ['wrong', undefined]) {
          const r = await runScript(path.join(s.ldapRoot, 'start-slapd'), [], { stdin });
          expect(r.code).toBe(1);
          expect(r.stderr).toMatch(/password/);
          const a = await runScript(path.join(s.adminRoot, 'start-admin'), [], { stdin });
          expect(a.code).toBe(1);
        }
        expect(processesUnder(s.dir)).toEqual([]);
      }),
  ]);
});

afterAll(async () => { await Promise.all([sb?.destroy(), sbB?.destroy()]); });

describe('sandbox A (passwd-file auth)', () => {

  it('runs every daemon under its name, with the root on its command line', () => {
    const expectByRoot: Array<[string, string[]]> = [
      [sb.msgRoot, ['stored', 'sched', 'watcher', 'imapd', 'popd', 'dispatcher', 'tcp_lmtp_server', 'mshttpd', 'enpd', 'snmpproxy', 'smsgateway']],
      [sb.mmpRoot, ['AService']],
      [sb.netscapeRoot, ['smtpd', 'popd', 'imapd', 'mshttpd', 'stored']],
    ];
    for (const [root, names] of expectByRoot) {
      for (const name of names) {
        const pids = procsOf(root, name);
        expect(pids.length, `${name} under ${root}`).toBeGreaterThan(0);
        const pidFile = path.join(root, 'config', 'pid', `${name}.pid`);
        const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
        expect(pids, `${pidFile} names a live ${name}`).toContain(pid);
      }
    }
    const slapdPid = Number(fs.readFileSync(path.join(sb.ldapRoot, 'logs', 'pid'), 'utf8').trim());
    const slapdArgv = cmdlineOf(slapdPid) ?? [];
    expect(slapdArgv[0]).toBe(path.join(sb.ldapRoot, 'bin', 'ns-slapd'));
    expect(slapdArgv.join(' ')).toContain(sb.ldapRoot);
    const wdPid = Number(fs.readFileSync(path.join(sb.adminRoot, 'admin-serv', 'logs', 'pid'), 'utf8').trim());
    expect((cmdlineOf(wdPid) ?? []).join(' ')).toContain('uxwdog');
    const httpd = procsOf(path.join(sb.adminRoot, 'admin-serv'), 'ns-httpd');
    expect(httpd.length).toBe(1);
    const ppid = Number(fs.readFileSync(`/proc/${httpd[0]}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
    expect(ppid).toBe(wdPid);
    expect((cmdlineOf(httpd[0] ?? 0) ?? []).join(' ')).toContain(path.join(sb.adminRoot, 'admin-serv', 'config'));
  });

  it('stored -tv says healthy; msstart is idempotent and rejects unknown services', async () => {
    const tv = await runScript(path.join(sb.msgRoot, 'lib', 'stored'), ['-tv']);
    expect(tv.code, tv.stdout).toBe(0);
    const again = await runScript(path.join(sb.msgRoot, 'lib', 'msstart'), ['imap', 'store', 'sched']);
    expect(again.code, again.stderr).toBe(0);
    const bad = await runScript(path.join(sb.msgRoot, 'lib', 'msstart'), ['nosuch']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unknown service/);
  });

  it('IMAP and IMAPS: greeting and LOGIN', async () => {
    expect(await imapLogin(sb.ports.imap, sb.testUser.name, sb.testUser.password)).toMatch(/^a1 OK/);
    expect(await imapLogin(sb.ports.imaps, sb.testUser.email, sb.testUser.password, true)).toMatch(/^a1 OK/);
  });

  it('POP and POPS: USER/PASS', async () => {
    expect(await popLogin(sb.ports.pop, sb.testUser.name, sb.testUser.password)).toMatch(/^\+OK/);
    expect(await popLogin(sb.ports.pops, sb.testUser.name, sb.testUser.password, true)).toMatch(/^\+OK/);
  });

  it('SMTP accepts the test user, refuses relaying, and delivers by LMTP into the store', async () => {
    const c = await LineClient.connect(sb.ports.smtp);
    try {
      expect(await c.line()).toMatch(/^220 /);
      expect(await c.cmd('EHLO probe.example.org', /^\d{3} /)).toMatch(/^250 /);
      expect(await c.cmd('MAIL FROM:<>', /^\d{3} /)).toMatch(/^250 /);
      expect(await c.cmd('RCPT TO:<someone@elsewhere.org>', /^\d{3} /)).toMatch(/^554 /);
      expect(await c.cmd(`RCPT TO:<${sb.testUser.email}>`, /^\d{3} /)).toMatch(/^250 /);
      await c.cmd('QUIT', /^\d{3} /);
    } finally { c.close(); }
    const store = path.join(sb.msgRoot, 'store');
    const before = maildirCount(store, sb.testUser.name);
    const t0 = Date.now();
    expect(await smtpSend(sb.ports.smtp, sb.testUser.email, 'delivery check')).toMatch(/^250 /);
    await waitFor('delivery', () => (maildirCount(store, sb.testUser.name) > before ? true : undefined), 10_000);
    console.log(`SMTP → LMTP → maildir in ${Date.now() - t0} ms`);
    expect(await imapCount(sb.ports.imap, sb.testUser.name, sb.testUser.password)).toBeGreaterThan(0);
  });

  it('a message handed over again with its Message-ID (an MTA that crashed before recording the first 250) is delivered once', async () => {
    // The chaos campaign found such duplicates after kills of the MTA or of LMTP mid-delivery; the
    // sandbox's Dovecot runs RFC 7352 duplicate suppression before each LMTP delivery (dovecot-sieve).
    const store = path.join(sb.msgRoot, 'store');
    const id = `twice-${process.pid}@client.example.org`;
    const before = maildirCount(store, sb.testUser.name);
    expect(await smtpSend(sb.ports.smtp, sb.testUser.email, 'twice', id)).toMatch(/^250 /);
    await waitFor('first delivery', () => (maildirCount(store, sb.testUser.name) > before ? true : undefined), 10_000);
    expect(await smtpSend(sb.ports.smtp, sb.testUser.email, 'twice', id)).toMatch(/^250 /);
    await waitFor('the second copy discarded', () => (fs.readFileSync(path.join(sb.msgRoot, 'log', 'lmtp.log'), 'utf8').includes(`msgid=<${id}>: discard action`) ? true : undefined), 10_000);
    expect(maildirCount(store, sb.testUser.name)).toBe(before + 1);
  });

  it('a copy the duplicate database never recorded (a holder that died before syncing it) is removed by doveadm deduplicate -m, as docs/deploy.md says', async () => {
    const store = path.join(sb.msgRoot, 'store');
    const conf = path.join(sb.msgRoot, 'config', 'tcp_lmtp_server', 'dovecot.conf');
    const id = `unrecorded-${process.pid}@client.example.org`;
    const message = `From: a@example.localhost\r\nMessage-ID: <${id}>\r\nSubject: delivered twice\r\n\r\nbody\r\n`;
    const before = maildirCount(store, sb.testUser.name);
    // Saved directly (no Sieve, no duplicate database): the two deliveries of a failover.
    for (let i = 0; i < 2; i++) execFileSync('doveadm', ['-c', conf, 'save', '-u', sb.testUser.name], { input: message });
    expect(maildirCount(store, sb.testUser.name)).toBe(before + 2);
    execFileSync('doveadm', ['-c', conf, 'deduplicate', '-u', sb.testUser.name, '-m', 'mailbox', 'INBOX', 'savedsince', '1h']);
    expect(maildirCount(store, sb.testUser.name)).toBe(before + 1);
  });

  it('LMTP answers LHLO', async () => {
    const c = await LineClient.connect(sb.ports.lmtp);
    try {
      expect(await c.line()).toMatch(/^220 /);
      expect(await c.cmd('LHLO probe.example.org', /^\d{3} /)).toMatch(/^250 /);
      expect(await c.cmd('MAIL FROM:<>', /^\d{3} /)).toMatch(/^250 /);
      expect(await c.cmd(`RCPT TO:<${sb.testUser.email}>`, /^\d{3} /)).toMatch(/^250 /);
      await c.cmd('QUIT', /^\d{3} /);
    } finally { c.close(); }
  });

  it('webmail: login page, login over IMAP (http and https)', async () => {
    expect((await request(sb.ports.http, { path: '/' })).status).toBe(200);
    const form = new URLSearchParams({ user: sb.testUser.name, password: sb.testUser.password }).toString();
    const ok = await request(sb.ports.http, { path: '/login', method: 'POST', body: form });
    expect(ok.status, ok.body).toBe(200);
    expect(JSON.parse(ok.body).inbox).toEqual(expect.any(Number));
    const basic = await request(sb.ports.https, { path: '/login', tls: true, auth: `${sb.testUser.name}:${sb.testUser.password}` });
    expect(basic.status, basic.body).toBe(200);
    const json = await request(sb.ports.http, { path: '/login', method: 'POST', type: 'application/json', body: JSON.stringify({ user: sb.testUser.name, password: sb.testUser.password }) });
    expect(json.status, json.body).toBe(200);
  });

  it('LDAP: the test user binds, cn=monitor is readable, ldaps works', async () => {
    for (const url of [`ldap://127.0.0.1:${sb.ports.ldap}`, `ldaps://127.0.0.1:${sb.ports.ldaps}`]) {
      const client = new Client({ url, timeout: 5000, connectTimeout: 5000, ...(url.startsWith('ldaps:') ? { tlsOptions: { rejectUnauthorized: false } } : {}) });
      try {
        await client.bind(sb.testUser.dn, sb.testUser.password);
        const { searchEntries } = await client.search('cn=monitor', { scope: 'base', attributes: ['version', 'monitoredInfo'] });
        expect(searchEntries.length).toBe(1);
        expect(String(searchEntries[0]?.monitoredInfo)).toMatch(/slapd/);
      } finally { await client.unbind(); }
    }
    const anon = new Client({ url: `ldap://127.0.0.1:${sb.ports.ldap}`, timeout: 5000 });
    try {
      const { searchEntries } = await anon.search('cn=monitor', { scope: 'base', attributes: ['monitoredInfo'] });
      expect(searchEntries.length).toBe(1);
    } finally { await anon.unbind(); }
  });

  it('admin server: getPort with the administrator, 401 without', async () => {
    const p = '/admin-serv/tasks/configuration/getPort';
    const ok = await request(sb.ports.admin, { path: p, auth: `${sb.admin.user}:${sb.admin.password}` });
    expect(ok.status).toBe(200);
    expect(ok.body.trim()).toBe(`configuration.nsserverport = ${sb.ports.admin}`);
    expect((await request(sb.ports.admin, { path: p, auth: `${sb.admin.user}:wrong` })).status).toBe(401);
    expect((await request(sb.ports.admin, { path: p })).status).toBe(401);
  });

  it('watcher, ens, snmp and sms answer a line', async () => {
    for (const port of [sb.ports.core, sb.ports.ens, sb.ports.snmp, sb.ports.sms]) {
      expect(await bannerOf(port)).toMatch(/^\* \w+ ready/);
    }
  });

  it('MMP: IMAP and POP logins through the proxy, TLS terminated at the proxy', async () => {
    expect(await imapLogin(sb.ports.mmpImap, sb.testUser.name, sb.testUser.password)).toMatch(/^a1 OK/);
    expect(await imapLogin(sb.ports.mmpImaps, sb.testUser.name, sb.testUser.password, true)).toMatch(/^a1 OK/);
    expect(await popLogin(sb.ports.mmpPop, sb.testUser.name, sb.testUser.password)).toMatch(/^\+OK/);
    expect(await popLogin(sb.ports.mmpPops, sb.testUser.name, sb.testUser.password, true)).toMatch(/^\+OK/);
  });

  it('Netscape root: smtpd delivers into its store, imapd/popd/mshttpd log in', async () => {
    const store = path.join(sb.netscapeRoot, 'store');
    const before = maildirCount(store, sb.testUser.name);
    expect(await smtpSend(sb.ports.nsSmtp, sb.testUser.email, 'netscape delivery')).toMatch(/^250 /);
    await waitFor('netscape delivery', () => (maildirCount(store, sb.testUser.name) > before ? true : undefined), 10_000);
    expect(await imapLogin(sb.ports.nsImap, sb.testUser.name, sb.testUser.password)).toMatch(/^a1 OK/);
    expect(await popLogin(sb.ports.nsPop, sb.testUser.name, sb.testUser.password)).toMatch(/^\+OK/);
    const web = await request(sb.ports.nsHttp, { path: '/login', auth: `${sb.testUser.name}:${sb.testUser.password}` });
    expect(web.status, web.body).toBe(200);
    expect(JSON.parse(web.body).inbox).toBeGreaterThan(0);
    const tv = await runScript(path.join(sb.netscapeRoot, 'lib', 'stored'), ['-tv']);
    expect(tv.code, tv.stdout).toBe(0);
  });

  it('negative logins: IMAP NO, POP -ERR, webmail 401, LDAP invalid credentials', async () => {
    expect(await imapLogin(sb.ports.imap, sb.testUser.name, 'wrong')).toMatch(/^a1 NO/);
    expect(await popLogin(sb.ports.pop, sb.testUser.name, 'wrong')).toMatch(/^-ERR/);
    const t0 = Date.now();
    const bad = await request(sb.ports.http, { path: '/login', auth: `${sb.testUser.name}:wrong` });
    expect(bad.status).toBe(401);
    // No auth penalty: a good login right after a bad one is fast.
    expect(await imapLogin(sb.ports.imap, sb.testUser.name, sb.testUser.password)).toMatch(/^a1 OK/);
    expect(Date.now() - t0).toBeLessThan(1500);
    const client = new Client({ url: `ldap://127.0.0.1:${sb.ports.ldap}`, timeout: 5000 });
    await expect(client.bind(sb.testUser.dn, 'wrong')).rejects.toMatchObject({ code: 49 });
    await client.unbind();
  });

  it('stops everything with the -k / stop scripts, leaving nothing of the dir running', async () => {
    const t0 = Date.now();
    const results = await stopAllByScripts(sb);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    console.log(`stop by scripts: ${Date.now() - t0} ms`);
    const left = processesUnder(sb.dir).filter(isAlive);
    expect(left.map((p) => (cmdlineOf(p) ?? []).join(' '))).toEqual([]);
    // Stopping what is stopped is a success too.
    const again = await runScript(path.join(sb.msgRoot, 'lib', 'msstart'), ['-k', 'imap', 'store', 'sched']);
    expect(again.code, again.stderr).toBe(0);
    // The webmail says 502 when IMAP is unreachable.
    expect((await runScript(path.join(sb.msgRoot, 'lib', 'msstart'), ['http'])).code).toBe(0);
    expect((await request(sb.ports.http, { path: '/login', auth: `${sb.testUser.name}:${sb.testUser.password}` })).status).toBe(502);
    expect((await runScript(path.join(sb.msgRoot, 'lib', 'msstart'), ['-k', 'http'])).code).toBe(0);
    const tv = await runScript(path.join(sb.msgRoot, 'lib', 'stored'), ['-tv']);
    expect(tv.code).not.toBe(0);
    // The other sandbox was not touched.
    expect(procsOf(sbB.msgRoot, 'imapd').length).toBeGreaterThan(0);
  });
});

describe('sandbox B (LDAP auth, SSL db password, HTTPS admin)', () => {
  it('logs in through the directory; LMTP knows the user and refuses strangers', async () => {
    expect(await imapLogin(sbB.ports.imap, sbB.testUser.name, sbB.testUser.password)).toMatch(/^a1 OK/);
    expect(await popLogin(sbB.ports.pop, sbB.testUser.name, sbB.testUser.password)).toMatch(/^\+OK/);
    const c = await LineClient.connect(sbB.ports.lmtp);
    try {
      await c.line();
      expect(await c.cmd('LHLO probe.example.org', /^\d{3} /)).toMatch(/^250 /);
      expect(await c.cmd('MAIL FROM:<>', /^\d{3} /)).toMatch(/^250 /);
      expect(await c.cmd('RCPT TO:<nobody@example.com>', /^\d{3} /)).toMatch(/^550 /);
      expect(await c.cmd(`RCPT TO:<${sbB.testUser.email}>`, /^\d{3} /)).toMatch(/^250 /);
    } finally { c.close(); }
    const store = path.join(sbB.msgRoot, 'store');
    expect(await smtpSend(sbB.ports.smtp, sbB.testUser.email, 'ldap delivery')).toMatch(/^250 /);
    await waitFor('delivery', () => (maildirCount(store, sbB.testUser.name) > 0 ? true : undefined), 10_000);
  });

  it('admin server speaks HTTPS; uxwdog restarts a killed ns-httpd', async () => {
    const p = '/admin-serv/tasks/configuration/getPort';
    const auth = `${sbB.admin.user}:${sbB.admin.password}`;
    expect((await request(sbB.ports.admin, { path: p, tls: true, auth })).status).toBe(200);
    const serv = path.join(sbB.adminRoot, 'admin-serv');
    const [old] = procsOf(serv, 'ns-httpd');
    expect(old).toBeGreaterThan(0);
    process.kill(old ?? 0, 'SIGKILL');
    const fresh = await waitFor('ns-httpd restart', async () => {
      const [pid] = procsOf(serv, 'ns-httpd');
      if (!pid || pid === old) return undefined;
      return (await request(sbB.ports.admin, { path: p, tls: true, auth })).status === 200 ? pid : undefined;
    }, 5000);
    expect(fresh).not.toBe(old);
  });

  it('start scripts treat stale pid files (dead, zombie or foreign pids) as stale', async () => {
    const msstart = path.join(sbB.msgRoot, 'lib', 'msstart');
    const cfg = JSON.parse(fs.readFileSync(path.join(sbB.msgRoot, 'config', 'sandbox.json'), 'utf8'));
    // Dovecot master killed hard, pid file and master.pid left behind (the master may linger as a zombie).
    const imapPid = Number(fs.readFileSync(cfg.daemons.imapd.pidFile, 'utf8'));
    process.kill(imapPid, 'SIGKILL');
    let r = await runScript(msstart, ['imap']);
    expect(r.code, r.stderr).toBe(0);
    expect(await imapLogin(sbB.ports.imap, sbB.testUser.name, sbB.testUser.password)).toMatch(/^a1 OK/);
    // master.pid and imapd.pid naming a live process that is not ours.
    expect((await runScript(msstart, ['-k', 'imap'])).code).toBe(0);
    fs.writeFileSync(cfg.daemons.imapd.pidFile, `${process.pid}\n`);
    fs.writeFileSync(cfg.daemons.imapd.masterPid, `${process.pid}\n`);
    r = await runScript(msstart, ['imap']);
    expect(r.code, r.stderr).toBe(0);
    expect(await imapLogin(sbB.ports.imap, sbB.testUser.name, sbB.testUser.password)).toMatch(/^a1 OK/);
    // A Node daemon killed hard: its pid file is stale, msstart starts a new one.
    const enpd = Number(fs.readFileSync(cfg.daemons.enpd.pidFile, 'utf8'));
    process.kill(enpd, 'SIGKILL');
    r = await runScript(msstart, ['ens']);
    expect(r.code, r.stderr).toBe(0);
    expect(Number(fs.readFileSync(cfg.daemons.enpd.pidFile, 'utf8'))).not.toBe(enpd);
    expect(await bannerOf(sbB.ports.ens)).toMatch(/enpd ready/);
    // Postfix master killed hard: msstart smtp brings it back.
    const mta = Number(fs.readFileSync(cfg.daemons.dispatcher.pidFile, 'utf8'));
    process.kill(mta, 'SIGKILL');
    r = await runScript(msstart, ['smtp']);
    expect(r.code, r.stderr).toBe(0);
    expect(await bannerOf(sbB.ports.smtp)).toMatch(/^220 /);
  });

  it('stopAll kills every process of the dir; destroy removes it', async () => {
    await sbB.stopAll();
    expect(processesUnder(sbB.dir).filter(isAlive)).toEqual([]);
    await sbB.destroy();
    expect(fs.existsSync(sbB.dir)).toBe(false);
  });
});
