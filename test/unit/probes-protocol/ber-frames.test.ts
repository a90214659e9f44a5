/**
 * BerFrames, the LDAP stream's framing read before ldapts buffers anything: a length over the
 * cap is refused from the header alone, whatever way the bytes are split into chunks; well-framed
 * streams pass, however they are split.
 */
import { describe, expect, it } from 'vitest';
import { BerFrames, MAX_BER_MESSAGE_BYTES, MAX_BER_MESSAGES } from '../../../probes/transport/ber-frames';

/** An LDAPMessage-shaped SEQUENCE with `n` content octets (long form when needed). */
function message(n: number): Buffer {
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from([0x30, ...len]), Buffer.alloc(n, 0x04)]);
}

/** Feeds `bytes` in chunks of `size`: the first problem, or the whole messages handed on. */
function feed(bytes: Buffer, size: number, frames = new BerFrames()): string | Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    const framed = frames.feed(bytes.subarray(at, at + size));
    if ('problem' in framed) return framed.problem;
    out.push(...framed.messages);
  }
  return out;
}

describe('BerFrames', () => {
  it.each([1, 2, 3, 7, 4096, 1 << 20])('hands on each whole message of a stream split into %i-byte chunks', (size) => {
    const messages = [message(0), message(5), message(127), message(128), message(300), message(70_000), message(MAX_BER_MESSAGE_BYTES)];
    const out = feed(Buffer.concat(messages), size);
    expect(typeof out === 'string' ? out : out.map((m) => m.length)).toEqual(messages.map((m) => m.length));
    expect((out as Buffer[]).every((m, i) => m.equals(messages[i]!))).toBe(true);
  });

  it('hands on nothing of a message until it is whole', () => {
    const frames = new BerFrames();
    const m = message(1000);
    expect(frames.feed(m.subarray(0, 999))).toEqual({ messages: [] });
    expect(frames.feed(m.subarray(999))).toEqual({ messages: [m] });
  });

  it.each([
    ['2 GiB − 1 (the audit)', [0x30, 0x84, 0x7f, 0xff, 0xff, 0xff], /2147483647 bytes, over the cap of 262144/],
    ['2 GiB (negative as a 32-bit int)', [0x30, 0x84, 0x80, 0x00, 0x00, 0x00], /2147483648 bytes/],
    ['4 GiB − 1', [0x30, 0x84, 0xff, 0xff, 0xff, 0xff], /4294967295 bytes/],
    ['one byte over the cap', [0x30, 0x83, 0x04, 0x00, 0x01], /262145 bytes/],
    ['a 5-octet length', [0x30, 0x85, 0, 0, 0, 0, 1], /takes 5 octets/],
    ['an indefinite length', [0x30, 0x80], /indefinite length/],
    ['not a SEQUENCE', [0x41, 0x41], /starts with 0x41/],
  ])('refuses %s from the header alone, byte by byte', (_name, header, reason) => {
    // Only the header is fed: nothing of the body is needed (or read) to refuse.
    expect(feed(Buffer.from(header), 1)).toEqual(expect.stringMatching(reason));
  });

  it('refuses an element that is not a SEQUENCE after a good message', () => {
    expect(feed(Buffer.concat([message(10), Buffer.from('garbage')]), 3)).toEqual(expect.stringMatching(/0x67/));
  });

  it(`refuses message number ${MAX_BER_MESSAGES + 1} (endless search entries)`, () => {
    const frames = new BerFrames();
    const many = Buffer.concat(Array.from({ length: MAX_BER_MESSAGES }, () => message(11)));
    expect(feed(many, 65_536, frames)).toHaveLength(MAX_BER_MESSAGES);
    expect(frames.feed(message(11))).toEqual({ problem: expect.stringMatching(/more than 100 LDAP messages/) });
  });
});
