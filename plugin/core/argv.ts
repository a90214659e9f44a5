/**
 * The one command-line splitter: a `command` attribute (string or string[]) becomes an argv
 * array without a shell. Words split on white space, '…' and "…" group words, nothing else is
 * interpreted or expanded. An unclosed quote is rejected, never guessed at: validation reports
 * it, and the agents never run such a command.
 */

export type ParsedArgv = { ok: true; argv: string[] } | { ok: false; why: 'not a command' | 'unclosed quote' };

/** Splits `value`; an empty string (or list) gives an empty argv, which is the caller's to judge. */
export function parseArgv(value: unknown): ParsedArgv {
  if (Array.isArray(value)) return value.every((v) => typeof v === 'string') ? { ok: true, argv: [...value] } : { ok: false, why: 'not a command' };
  if (typeof value !== 'string') return { ok: false, why: 'not a command' };
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (const ch of value) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) return { ok: false, why: 'unclosed quote' };
  if (inWord) argv.push(word);
  return { ok: true, argv };
}

/** The argv of a command to run: undefined when unset, empty, not a command, or a quote is not closed. */
export function toArgv(value: unknown): string[] | undefined {
  const parsed = parseArgv(value);
  return parsed.ok && parsed.argv.length > 0 ? parsed.argv : undefined;
}
