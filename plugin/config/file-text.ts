/**
 * Checks on the bytes and text of a cluster file that its parsed value can no longer show:
 * bytes that are not UTF-8 (Node would turn them into U+FFFD without a word), and keys given
 * twice in one JSON object (JSON.parse keeps the last one without a word).
 */
import type { DataPath } from './plain-data';

/** Byte offset of the first byte that does not belong to a well-formed UTF-8 sequence, or undefined. */
export function firstInvalidUtf8(buf: Uint8Array): number | undefined {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    if (b < 0x80) { i++; continue; }
    // Lead byte → sequence length and the allowed range of the second byte (no overlongs, no surrogates, ≤ U+10FFFF).
    let n: number; let lo = 0x80; let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 2;
    else if (b >= 0xe0 && b <= 0xef) { n = 3; if (b === 0xe0) lo = 0xa0; if (b === 0xed) hi = 0x9f; }
    else if (b >= 0xf0 && b <= 0xf4) { n = 4; if (b === 0xf0) lo = 0x90; if (b === 0xf4) hi = 0x8f; }
    else return i;
    for (let k = 1; k < n; k++) {
      const c = buf[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n;
  }
  return undefined;
}

/** 1-based line of a byte offset. */
export function lineOfOffset(buf: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < buf.length; i++) if (buf[i] === 0x0a) line++;
  return line;
}

export interface DuplicateKey { path: DataPath; line: number; firstLine: number }

/**
 * Every key given twice in the same object of `text`, which must be valid JSON (parse it
 * first): its path (as JSON.parse reads the key, so "\u0061" and "a" are the same key), the
 * line of the repetition and of the first one.
 */
export function duplicateKeys(text: string): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  let i = 0;
  let line = 1;
  const skipSpace = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) { if (text[i] === '\n') line++; i++; }
  };
  const readString = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (at: DataPath): void => {
    skipSpace();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Map<string, number>();
      skipSpace();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        skipSpace();
        const keyLine = line;
        const key = readString();
        const first = seen.get(key);
        if (first !== undefined) found.push({ path: [...at, key], line: keyLine, firstLine: first });
        else seen.set(key, keyLine);
        skipSpace();
        i++; // ':'
        value([...at, key]);
        skipSpace();
        if (text[i++] === '}') return;
      }
    }
    if (c === '[') {
      i++;
      skipSpace();
      if (text[i] === ']') { i++; return; }
      for (let n = 0; ; n++) {
        value([...at, n]);
        skipSpace();
        if (text[i++] === ']') return;
      }
    }
    if (c === '"') { readString(); return; }
    while (i < text.length && !',]} \t\r\n'.includes(text[i]!)) i++; // number, true, false, null
  };
  value([]);
  return found;
}
