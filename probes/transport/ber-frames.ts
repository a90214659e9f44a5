/**
 * The framing of an LDAP stream, read header by header before ldapts sees the bytes. ldapts
 * concatenates everything received until a whole message has arrived, so a server that
 * announces a 2 GiB message and streams made the probe hold all of it (the audit: 254 MB), and
 * one that trickles a message under any cap made it copy the growing buffer on every chunk.
 * Here the stream is cut into whole messages, and ldapts is handed only those.
 *
 * Guarantees: a message announced longer than `maxMessageBytes` is refused from its header, at
 * once, without reading its body; so are an element that is not a SEQUENCE (every LDAPMessage
 * is one, RFC 4511 §4.2), an indefinite length and a length of more than 4 octets (both
 * forbidden in LDAP's BER, RFC 4511 §5.1), and more than `maxMessages` messages (ldapts keeps an
 * object per search entry: 1 MiB of 13-byte entries cost it 43 MB). Holds at most the message
 * being received, in one buffer of its announced size (≤ maxMessageBytes) that each chunk is
 * copied into: no object per chunk, however finely a server splits its bytes.
 */

/** An LDAP entry a probe reads (cn=monitor, a few attributes) is far below this. */
export const MAX_BER_MESSAGE_BYTES = 256 * 1024;
/** A probe's exchange is a handful of messages: StartTLS, bind, one entry (sizeLimit 1), search done. */
export const MAX_BER_MESSAGES = 100;

const SEQUENCE = 0x30;

export type Framed = { messages: Buffer[] } | { problem: string };

export class BerFrames {
  /** Header octets of the message being received, until its length is known. */
  private header: number[] = [];
  /** The message being received, once its header is known, and how much of it has arrived. */
  private message: Buffer | undefined;
  private filled = 0;
  private messages = 0;

  constructor(private readonly maxMessageBytes = MAX_BER_MESSAGE_BYTES, private readonly maxMessages = MAX_BER_MESSAGES) {}

  /** Follows `chunk`: the messages it completes, or the reason to refuse the stream. */
  feed(chunk: Buffer): Framed {
    const complete: Buffer[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.message) {
        const take = Math.min(this.message.length - this.filled, chunk.length - i);
        chunk.copy(this.message, this.filled, i, i + take);
        this.filled += take;
        i += take;
      } else {
        this.header.push(chunk[i]!);
        i += 1;
        const problem = this.readHeader();
        if (problem !== undefined) return { problem };
      }
      if (this.message && this.filled === this.message.length) {
        complete.push(this.message);
        this.message = undefined;
      }
    }
    return { messages: complete };
  }

  /** Reads the header so far: a problem, or undefined (then complete, or more octets needed). */
  private readHeader(): string | undefined {
    const h = this.header;
    if (h[0] !== SEQUENCE) return `not an LDAP message: it starts with 0x${h[0]!.toString(16).padStart(2, '0')}, not a SEQUENCE (0x30)`;
    if (h.length < 2) return undefined;
    const first = h[1]!;
    let length: number;
    if (first < 0x80) {
      length = first;
    } else {
      const octets = first & 0x7f;
      if (octets === 0) return 'an LDAP message with an indefinite length (forbidden in LDAP)';
      if (octets > 4) return `an LDAP message whose length takes ${octets} octets (at most 4)`;
      if (h.length < 2 + octets) return undefined;
      length = 0;
      for (let k = 0; k < octets; k++) length = length * 256 + h[2 + k]!;
    }
    if (length > this.maxMessageBytes) return `the server announced an LDAP message of ${length} bytes, over the cap of ${this.maxMessageBytes}`;
    this.messages += 1;
    if (this.messages > this.maxMessages) return `the server sent more than ${this.maxMessages} LDAP messages, the cap of one probe`;
    this.message = Buffer.alloc(h.length + length);
    this.message.set(h);
    this.filled = h.length;
    this.header = [];
    return undefined;
  }
}
