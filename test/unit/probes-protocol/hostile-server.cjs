/**
 * Hostile servers for the probes' memory tests, run as their own process (as user nobody: any
 * local user can listen on a port above 1023). `node hostile-server.cjs SPEC…`, each SPEC being
 * `KIND:PORT` or `KIND:PORT:GREETING`: listens on 127.0.0.1:PORT for each, prints "ready" once
 * all listen, and serves every connection until killed.
 *
 * Kinds (each streams for as long as the client reads, 64 KiB at a time):
 *   ber2g         after the client's first bytes: an LDAP message header announcing 2 GiB − 1, then its "body"
 *   ldap-entries  answers a bind with success and a search with tiny search entries, forever
 *   imap-literal  an IMAP greeting; after the first command, a literal {2147483647}, then its "bytes"
 *   http-chunked  after the request: 200 with Transfer-Encoding: chunked, then chunks forever
 *   endless-line  at once: bytes without a line end, forever
 *   endless-lines GREETING (when given, e.g. "220 hi"), then short lines ("* OK x", "+OK x", "250-x"), forever
 *   ber-trickle   after the client's first bytes: an LDAP message of 262143 bytes (under the cap), 1 KiB every 20 ms
 *   http-trickle  after the request: 200, chunked, a 1 KiB chunk every 20 ms (under the cap until long past any deadline)
 *   close         accepts and closes at once (the baseline: same probe, no hostile bytes)
 */
'use strict';
const net = require('node:net');

const CHUNK = Buffer.alloc(64 * 1024, 'A');
const LINES = Buffer.from('* OK x\r\n+OK x\r\n250-x\r\n'.repeat(2048));
const CHUNKED = Buffer.concat([Buffer.from(`${CHUNK.length.toString(16)}\r\n`), CHUNK, Buffer.from('\r\n')]);

/** Writes `chunk` over and over, respecting back-pressure, until the connection goes. */
async function stream(socket, chunk) {
  while (!socket.destroyed) {
    if (!socket.write(chunk)) {
      await new Promise((resolve) => {
        const done = () => { socket.removeListener('drain', done); socket.removeListener('close', done); resolve(); };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
}

/** Writes `chunk` every `everyMs` until the connection goes: a stream that stays under the caps. */
async function trickle(socket, chunk, everyMs) {
  while (!socket.destroyed) {
    socket.write(chunk);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Resolves once the client sent something matching `pattern` (its first bytes by default). */
function heard(socket, pattern = /[\s\S]/) {
  return new Promise((resolve) => {
    let seen = '';
    const onData = (b) => {
      seen += b.toString('latin1');
      if (pattern.test(seen)) { socket.removeListener('data', onData); resolve(); }
    };
    socket.on('data', onData);
  });
}

/** One BER element: tag, definite length (short or 2-octet long form), content. */
function ber(tag, content) {
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

/** LDAPMessage { messageID, protocolOp } with the message id of the request it answers. */
function ldapMessage(id, op) {
  return ber(0x30, Buffer.concat([ber(0x02, Buffer.from([id])), op]));
}

async function ldapEntries(socket) {
  let pending = Buffer.alloc(0);
  socket.on('data', (b) => {
    pending = Buffer.concat([pending, b]);
    // Requests are small: short-form lengths; messageID is one octet.
    while (pending.length >= 2 && pending.length >= 2 + pending[1]) {
      const msg = pending.subarray(0, 2 + pending[1]);
      pending = pending.subarray(2 + pending[1]);
      const id = msg[4];
      const op = msg[5];
      if (op === 0x60) {
        const ok = Buffer.concat([ber(0x0a, Buffer.from([0])), ber(0x04, Buffer.alloc(0)), ber(0x04, Buffer.alloc(0))]);
        socket.write(ldapMessage(id, ber(0x61, ok)));
      } else if (op === 0x63) {
        // The smallest entries cost the client most per byte: an object for every 13 bytes.
        const entry = ldapMessage(id, ber(0x64, Buffer.concat([ber(0x04, Buffer.from('c=x')), ber(0x30, Buffer.alloc(0))])));
        stream(socket, Buffer.concat(Array.from({ length: 4096 }, () => entry))).catch(() => undefined);
      }
    }
  });
}

async function serve(socket, kind, greeting) {
  switch (kind) {
    case 'ber2g':
      await heard(socket);
      // SEQUENCE, long form with 4 length octets: 0x7fffffff = 2 GiB − 1.
      socket.write(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01, 0x61, 0x84, 0x7f, 0xff, 0xff, 0xf0]));
      return stream(socket, CHUNK);
    case 'ber-trickle':
      await heard(socket);
      socket.write(Buffer.from([0x30, 0x83, 0x03, 0xff, 0xff]));
      return trickle(socket, Buffer.alloc(1024, 0x04), 20);
    case 'http-trickle':
      await heard(socket, /\r\n\r\n/);
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n');
      return trickle(socket, Buffer.from(`400\r\n${'x'.repeat(1024)}\r\n`), 20);
    case 'ldap-entries':
      return ldapEntries(socket);
    case 'imap-literal':
      socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n');
      await heard(socket, /\n/);
      socket.write('* 1 FETCH (BODY[] {2147483647}\r\n');
      return stream(socket, CHUNK);
    case 'http-chunked':
      await heard(socket, /\r\n\r\n/);
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n');
      return stream(socket, CHUNKED);
    case 'endless-line':
      return stream(socket, CHUNK);
    case 'endless-lines':
      if (greeting) socket.write(`${greeting}\r\n`);
      return stream(socket, LINES);
    case 'close':
      socket.destroy();
      return undefined;
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

const specs = process.argv.slice(2).map((spec) => {
  const [kind, port, greeting] = spec.split(':');
  return { kind, port: Number(port), greeting };
});
let listening = 0;
for (const { kind, port, greeting } of specs) {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    serve(socket, kind, greeting).catch(() => socket.destroy());
  });
  server.listen(port, '127.0.0.1', () => { if (++listening === specs.length) process.stdout.write('ready\n'); });
}
process.on('SIGTERM', () => process.exit(0));
