import { describe, expect, it } from 'vitest';
import { replaceJsonStrings } from '../../../plugin/secrets';

const TEXT = `{
  "cluster": { "name": "c1", "nodes": ["n1"] },
  "groups": {
    "mail": {   "resources": {
        "imap": { "type": "Application", "ProbePasswd": "enc:v1:AAA", "x": [1, 2.50, true, null, "enc:v1:AAA"] },
        "pop":  {"ProbePasswd":"enc:v1:AAA",
                 "note": "quote \\" and \\\\ and \\u00e9"}
  } } }
}
`;

describe('replaceJsonStrings', () => {
  it('changes only the values at the given paths, keeping every other byte', () => {
    const out = replaceJsonStrings(TEXT, [
      { path: ['groups', 'mail', 'resources', 'imap', 'ProbePasswd'], from: 'enc:v1:AAA', to: 'enc:v2:IMAP' },
      { path: ['groups', 'mail', 'resources', 'pop', 'ProbePasswd'], from: 'enc:v1:AAA', to: 'enc:v2:POP' },
    ]);
    expect(out).toBe(TEXT.replace('"ProbePasswd": "enc:v1:AAA"', '"ProbePasswd": "enc:v2:IMAP"').replace('"ProbePasswd":"enc:v1:AAA"', '"ProbePasswd":"enc:v2:POP"'));
    const parsed = JSON.parse(out) as { groups: { mail: { resources: Record<string, Record<string, unknown>> } } };
    expect(parsed.groups.mail.resources.imap!.x).toEqual([1, 2.5, true, null, 'enc:v1:AAA']);
    expect(parsed.groups.mail.resources.pop!.note).toBe('quote " and \\ and é');
  });

  it('refuses a missing path, a value that changed meanwhile, and a duplicate key', () => {
    expect(() => replaceJsonStrings(TEXT, [{ path: ['groups', 'mail', 'resources', 'smtp', 'ProbePasswd'], from: 'a', to: 'b' }]))
      .toThrow('no string value at groups.mail.resources.smtp.ProbePasswd');
    expect(() => replaceJsonStrings(TEXT, [{ path: ['groups', 'mail', 'resources', 'imap', 'ProbePasswd'], from: 'enc:v1:BBB', to: 'b' }]))
      .toThrow(/is not the one expected/);
    const dup = '{"a": {"P": "enc:v1:X", "P": "enc:v1:Y"}}';
    expect(() => replaceJsonStrings(dup, [{ path: ['a', 'P'], from: 'enc:v1:Y', to: 'z' }])).toThrow('a.P occurs 2 times (duplicate key)');
  });
});
