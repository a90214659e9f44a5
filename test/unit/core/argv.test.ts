/** The one command-line splitter: quotes group words, nothing is expanded, an unclosed quote is refused. */
import { describe, expect, it } from 'vitest';
import { parseArgv, toArgv } from '../../../plugin/core/argv';

describe('parseArgv', () => {
  it.each([
    ['/usr/bin/x -c "/a b/c" \'$HOME\'', ['/usr/bin/x', '-c', '/a b/c', '$HOME']],
    ['  /bin/a\t b  ', ['/bin/a', 'b']],
    ['/bin/a "" x', ['/bin/a', '', 'x']],
    ['/bin/a pre"fix suf"fix', ['/bin/a', 'prefix suffix']],
    ['', []],
  ])('%j → %j', (value, argv) => {
    expect(parseArgv(value)).toEqual({ ok: true, argv });
  });

  it('refuses an unclosed quote instead of guessing', () => {
    expect(parseArgv('/bin/a "b c')).toEqual({ ok: false, why: 'unclosed quote' });
    expect(parseArgv("/bin/a 'b")).toEqual({ ok: false, why: 'unclosed quote' });
    expect(toArgv('/bin/a "b c')).toBeUndefined();
  });

  it('takes a list of strings as argv already, and nothing else', () => {
    expect(parseArgv(['/bin/a', 'b c'])).toEqual({ ok: true, argv: ['/bin/a', 'b c'] });
    expect(parseArgv(['/bin/a', 3])).toEqual({ ok: false, why: 'not a command' });
    expect(parseArgv(42)).toEqual({ ok: false, why: 'not a command' });
    expect(parseArgv(undefined)).toEqual({ ok: false, why: 'not a command' });
  });

  it('toArgv: undefined for nothing to run', () => {
    expect(toArgv('   ')).toBeUndefined();
    expect(toArgv([])).toBeUndefined();
    expect(toArgv(null)).toBeUndefined();
  });
});
