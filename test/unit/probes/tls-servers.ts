/**
 * Small self-signed servers for the TLS trust tests: IMAP, POP3, SMTP (implicit TLS and
 * STARTTLS), HTTPS (the webmail login and the admin read-back) and LDAP (ldaps and StartTLS),
 * each speaking just enough of its protocol for a probe's whole transaction to succeed, and each
 * recording the credentials it was sent — what a server impersonating the real one would
 * harvest. Bound to 127.0.0.1; `close()` destroys every connection and listener.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';

export interface SelfSigned { certFile: string; keyFile: string; certPem: string; keyPem: string }

/** A self-signed certificate (EC P-256) for `name` and 127.0.0.1. */
export function selfSigned(dir: string, name: string): SelfSigned {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-days', '30', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name},IP:127.0.0.1`, '-keyout', keyFile, '-out', certFile],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  return { certFile, keyFile, certPem: fs.readFileSync(certFile, 'utf8'), keyPem: fs.readFileSync(keyFile, 'utf8') };
}

export interface TlsServer {
  port: number;
  /** Credentials received, in the order they came ("user:password" or a bind DN and password). */
  harvested: string[];
  close(): Promise<void>;
}

type Mode = 'implicit' | 'starttls';

/** A line-protocol session: `reply` writes to whichever socket is current, `upgrade` starts server-side TLS. */
interface Session { reply(text: string): void; upgrade(): void; harvest(what: string): void }
type LineHandler = (line: string, s: Session) => void;

function track(server: net.Server, sockets: Set<net.Socket>, harvested: string[], port: number): TlsServer {
  return {
    port,
    harvested,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

async function listen(server: net.Server, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.removeListener('error', reject); resolve(); });
  });
}

/** A CRLF line server; with mode 'implicit' TLS from the first byte, else plain until `upgrade`. */
async function lineServer(port: number, cert: SelfSigned, mode: Mode, greeting: string, handle: LineHandler): Promise<TlsServer> {
  const sockets = new Set<net.Socket>();
  const harvested: string[] = [];
  const context = tls.createSecureContext({ cert: cert.certPem, key: cert.keyPem });
  const serve = (raw: net.Socket): void => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => undefined);
    let current: net.Socket = mode === 'implicit' ? new tls.TLSSocket(raw, { isServer: true, secureContext: context }) : raw;
    let buffer = '';
    const onData = (b: Buffer): void => {
      buffer += b.toString('latin1');
      let at: number;
      while ((at = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, at).replace(/\r$/, '');
        buffer = buffer.slice(at + 1);
        handle(line, session);
      }
    };
    const session: Session = {
      reply: (text) => { current.write(text); },
      upgrade: () => {
        current.removeListener('data', onData);
        buffer = '';
        current = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
        current.on('error', () => undefined);
        current.on('data', onData);
      },
      harvest: (what) => { harvested.push(what); },
    };
    current.on('error', () => undefined);
    current.on('data', onData);
    current.write(greeting);
  };
  const server = net.createServer(serve);
  await listen(server, port);
  return track(server, sockets, harvested, port);
}

/** IMAP: LOGIN, EXAMINE/SELECT INBOX, LOGOUT (and STARTTLS); every other command is just OK. */
export function imapServer(port: number, cert: SelfSigned, mode: Mode): Promise<TlsServer> {
  const caps = `IMAP4rev1 AUTH=PLAIN${mode === 'starttls' ? ' STARTTLS' : ''}`;
  return lineServer(port, cert, mode, `* OK [CAPABILITY ${caps}] ready\r\n`, (line, s) => {
    const [tag, command = '', ...rest] = line.split(' ');
    switch (command.toUpperCase()) {
      case 'STARTTLS': s.reply(`${tag} OK begin TLS\r\n`); s.upgrade(); return;
      case 'CAPABILITY': s.reply(`* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK done\r\n`); return;
      case 'LOGIN': s.harvest(rest.join(' ')); s.reply(`${tag} OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] logged in\r\n`); return;
      case 'NAMESPACE': s.reply(`* NAMESPACE (("" "/")) NIL NIL\r\n${tag} OK done\r\n`); return;
      case 'LIST': s.reply(`* LIST () "/" INBOX\r\n${tag} OK done\r\n`); return;
      case 'EXAMINE': case 'SELECT':
        s.reply(`* FLAGS (\\Seen)\r\n* 0 EXISTS\r\n* OK [UIDVALIDITY 1] ok\r\n* OK [UIDNEXT 1] ok\r\n${tag} OK [READ-ONLY] done\r\n`); return;
      case 'LOGOUT': s.reply(`* BYE bye\r\n${tag} OK done\r\n`); return;
      default: s.reply(`${tag} OK done\r\n`);
    }
  });
}

/** POP3: USER/PASS, STAT, QUIT (and STLS). */
export function popServer(port: number, cert: SelfSigned, mode: Mode): Promise<TlsServer> {
  let user = '';
  return lineServer(port, cert, mode, '+OK ready\r\n', (line, s) => {
    const [command = '', ...rest] = line.split(' ');
    switch (command.toUpperCase()) {
      case 'STLS': s.reply('+OK begin TLS\r\n'); s.upgrade(); return;
      case 'USER': user = rest.join(' '); s.reply('+OK\r\n'); return;
      case 'PASS': s.harvest(`${user}:${rest.join(' ')}`); s.reply('+OK logged in\r\n'); return;
      case 'STAT': s.reply('+OK 0 0\r\n'); return;
      default: s.reply('+OK\r\n');
    }
  });
}

/** SMTP: EHLO (with STARTTLS when plain), AUTH PLAIN, MAIL, RCPT, RSET, QUIT. */
export function smtpServer(port: number, cert: SelfSigned, mode: Mode): Promise<TlsServer> {
  let secured = mode === 'implicit';
  return lineServer(port, cert, mode, '220 mx.example.localhost ESMTP\r\n', (line, s) => {
    const [command = '', ...rest] = line.split(' ');
    switch (command.toUpperCase()) {
      case 'EHLO': case 'LHLO': s.reply(secured ? '250-mx\r\n250 AUTH PLAIN LOGIN\r\n' : '250-mx\r\n250 STARTTLS\r\n'); return;
      case 'STARTTLS': s.reply('220 go ahead\r\n'); s.upgrade(); secured = true; return;
      case 'AUTH': s.harvest(Buffer.from(rest[1] ?? '', 'base64').toString('utf8').split('\0').slice(1).join(':')); s.reply('235 ok\r\n'); return;
      case 'QUIT': s.reply('221 bye\r\n'); return;
      default: s.reply('250 ok\r\n');
    }
  });
}

/** HTTPS: `/` and `/login` (Basic) for the webmail probe; the admin read-back answering `port`. */
export async function httpsServer(port: number, cert: SelfSigned): Promise<TlsServer> {
  const harvested: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const auth = req.headers.authorization;
    if (auth) harvested.push(Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString('utf8'));
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(req.url?.startsWith('/admin-serv/') ? `configuration.nsserverport = ${port}\n` : 'ok\n');
  });
  server.on('connection', (s: net.Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('tlsClientError', () => undefined);
  await listen(server, port);
  return track(server, sockets, harvested, port);
}

/** BER of one element: tag, definite length, content. */
function ber(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const ldapResult = (op: number, id: number, extra: Buffer = Buffer.alloc(0)): Buffer =>
  ber(0x30, Buffer.concat([ber(0x02, Buffer.from([id])), ber(op, Buffer.concat([ber(0x0a, Buffer.from([0])), ber(0x04, Buffer.alloc(0)), ber(0x04, Buffer.alloc(0)), extra]))]));

/** Reads one BER header at `at`: [content offset, content length], or undefined while incomplete. */
function header(buf: Buffer, at: number): [number, number] | undefined {
  if (buf.length < at + 2) return undefined;
  const first = buf[at + 1]!;
  if (first < 0x80) return [at + 2, first];
  const octets = first & 0x7f;
  if (buf.length < at + 2 + octets) return undefined;
  return [at + 2 + octets, buf.readUIntBE(at + 2, octets)];
}

/** LDAP: bind (harvested: DN and password), search (no entry, success), StartTLS, unbind. */
export async function ldapServer(port: number, cert: SelfSigned, mode: Mode): Promise<TlsServer> {
  const harvested: string[] = [];
  const sockets = new Set<net.Socket>();
  const context = tls.createSecureContext({ cert: cert.certPem, key: cert.keyPem });
  const server = net.createServer((raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => undefined);
    let current: net.Socket = mode === 'implicit' ? new tls.TLSSocket(raw, { isServer: true, secureContext: context }) : raw;
    let pending = Buffer.alloc(0);
    const onData = (b: Buffer): void => {
      pending = Buffer.concat([pending, b]);
      for (;;) {
        const outer = header(pending, 0);
        if (!outer || pending.length < outer[0] + outer[1]) return;
        const msg = pending.subarray(outer[0], outer[0] + outer[1]);
        pending = pending.subarray(outer[0] + outer[1]);
        const idHead = header(msg, 0)!;
        const id = msg.readUIntBE(idHead[0], idHead[1]);
        const opAt = idHead[0] + idHead[1];
        const op = msg[opAt]!;
        if (op === 0x60) {
          // BindRequest: version INTEGER, name OCTET STRING, simple [0] password.
          const body = header(msg, opAt)!;
          const version = header(msg, body[0])!;
          const name = header(msg, version[0] + version[1])!;
          const password = header(msg, name[0] + name[1])!;
          harvested.push(`${msg.subarray(name[0], name[0] + name[1]).toString()}:${msg.subarray(password[0], password[0] + password[1]).toString()}`);
          current.write(ldapResult(0x61, id));
        } else if (op === 0x63) {
          current.write(ldapResult(0x65, id));
        } else if (op === 0x77) {
          current.write(ldapResult(0x78, id));
          current.removeListener('data', onData);
          current = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
          current.on('error', () => undefined);
          current.on('data', onData);
          pending = Buffer.alloc(0);
          return;
        } else if (op === 0x42) {
          current.end();
          return;
        }
      }
    };
    current.on('error', () => undefined);
    current.on('data', onData);
  });
  await listen(server, port);
  return track(server, sockets, harvested, port);
}
