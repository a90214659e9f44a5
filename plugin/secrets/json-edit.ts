/**
 * Replaces string values at given paths of a JSON text and keeps every other byte (layout,
 * order, comments-free formatting of the administrator's file). Used to rewrite a .json cluster
 * file's secrets in place. Refuses, naming the path, a value that is not where or what the edit
 * says, and a path that occurs twice (a duplicate key).
 */

export interface JsonStringEdit {
  /** Keys from the top, e.g. ['groups', 'mail', 'resources', 'imap', 'ProbePasswd']. */
  path: string[];
  from: string;
  to: string;
}

interface Found { start: number; end: number }

/** Positions of the string values whose paths are wanted; the text must be valid JSON. */
function locate(text: string, wanted: Set<string>): Map<string, Found[]> {
  const found = new Map<string, Found[]>();
  let i = 0;
  const ws = (): void => { while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++; };
  const fail = (): never => { throw new Error(`unexpected JSON at offset ${i}`); };
  const string = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail();
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string[]): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++; ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        const key = string();
        ws();
        if (text[i++] !== ':') fail();
        value([...path, key]);
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i++] !== '}') fail();
        return;
      }
    }
    if (c === '[') {
      i++; ws();
      if (text[i] === ']') { i++; return; }
      for (let n = 0; ; n++) {
        value([...path, String(n)]);
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i++] !== ']') fail();
        return;
      }
    }
    if (c === '"') {
      const start = i;
      string();
      const key = JSON.stringify(path);
      if (wanted.has(key)) found.set(key, [...(found.get(key) ?? []), { start, end: i }]);
      return;
    }
    const start = i;
    while (i < text.length && !',]} \t\r\n'.includes(text[i]!)) i++;
    if (i === start) fail();
  };
  value([]);
  ws();
  if (i !== text.length) fail();
  return found;
}

export function replaceJsonStrings(text: string, edits: readonly JsonStringEdit[]): string {
  const found = locate(text, new Set(edits.map((e) => JSON.stringify(e.path))));
  const cuts = edits.map((e) => {
    const at = found.get(JSON.stringify(e.path)) ?? [];
    const name = e.path.join('.');
    if (at.length !== 1) throw new Error(at.length === 0 ? `no string value at ${name}` : `${name} occurs ${at.length} times (duplicate key)`);
    if (JSON.parse(text.slice(at[0]!.start, at[0]!.end)) !== e.from) throw new Error(`the value at ${name} is not the one expected (was the file changed meanwhile?)`);
    return { ...at[0]!, to: JSON.stringify(e.to) };
  }).sort((a, b) => b.start - a.start);
  let out = text;
  for (const c of cuts) out = out.slice(0, c.start) + c.to + out.slice(c.end);
  return out;
}
