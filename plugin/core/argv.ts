/**
 * Turns a `command` attribute (string or string[]) into an argv array without a shell: words
 * split on whitespace, single or double quotes group words, nothing is expanded.
 */
export function toArgv(value: unknown): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string') return undefined;
  const argv: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let inWord = false;
  for (const ch of value) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) argv.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) argv.push(cur);
  return argv.length > 0 ? argv : undefined;
}
