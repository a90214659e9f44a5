/**
 * Attributes read through their declarations: the resource's value when it is set and valid,
 * else the declared (or derived) default — never a default restated by the caller.
 */
import { describe, expect, it } from 'vitest';
import type { AttrDecl } from '../../../plugin/model/attributes';
import { attrReader, genericAttr } from '../../../plugin/resource-types/attr-access';
import type { AgentContext } from '../../../plugin/resource-types/contract';

const DECLS = [
  { name: 'Port', kind: 'port', default: 390, doc: 'p' },
  { name: 'Wait', kind: 'int', default: 400, min: 50, max: 5000, doc: 'w' },
  { name: 'On', kind: 'bool', default: true, doc: 'o' },
  { name: 'Mode', kind: 'enum', values: ['a', 'b'], default: 'a', doc: 'm' },
  { name: 'Root', kind: 'path', required: true, doc: 'r' },
  { name: 'Host', kind: 'host', required: true, doc: 'h' },
  { name: 'Ports', kind: 'portMap', default: { smtp: 25, imap: 143 }, doc: 'ps' },
  { name: 'Files', kind: 'stringList', doc: 'f' },
  { name: 'Start', kind: 'command', doc: 's' },
] as const satisfies readonly AttrDecl[];
const attr = attrReader(DECLS);
const ctx = (attrs: Record<string, unknown>): AgentContext => ({ attrs } as unknown as AgentContext);

describe('attrReader', () => {
  it('gives the value when it is valid', () => {
    const c = ctx({ Port: 4390, Wait: 60, On: false, Mode: 'b', Root: '/srv', Ports: { pop: 110 }, Files: ['/a', '/b'], Start: '/bin/x "a b"' });
    expect([attr.number(c, 'Port'), attr.number(c, 'Wait'), attr.bool(c, 'On'), attr.text(c, 'Mode'), attr.text(c, 'Root')]).toEqual([4390, 60, false, 'b', '/srv']);
    expect(attr.portMap(c, 'Ports')).toEqual({ pop: 110 });
    expect(attr.list(c, 'Files')).toEqual(['/a', '/b']);
    expect(attr.command(c, 'Start')).toEqual(['/bin/x', 'a b']);
  });

  it('gives the declared default when unset or invalid', () => {
    const unset = ctx({});
    expect([attr.number(unset, 'Port'), attr.number(unset, 'Wait'), attr.bool(unset, 'On'), attr.text(unset, 'Mode')]).toEqual([390, 400, true, 'a']);
    expect(attr.portMap(unset, 'Ports')).toEqual({ smtp: 25, imap: 143 });
    expect(attr.list(unset, 'Files')).toEqual([]);
    expect(attr.command(unset, 'Start')).toBeUndefined();
    expect(attr.text(unset, 'Root')).toBeUndefined();
    const bad = ctx({ Wait: 10, Mode: 'c', On: 'maybe' });
    expect([attr.number(bad, 'Wait'), attr.text(bad, 'Mode'), attr.bool(bad, 'On')]).toEqual([400, 'a', true]);
  });

  it('reads the generic attributes too, derived defaults included', () => {
    expect(genericAttr.ms(ctx({}), 'OnlineTimeout')).toBe(120_000);
    expect(genericAttr.ms(ctx({ MonitorInterval: 5 }), 'MonitorTimeout')).toBe(4000);
    expect(attr.ms(ctx({ CleanTimeout: 7 }), 'CleanTimeout')).toBe(7000);
  });

  it('names the required attributes that are missing', () => {
    expect(attr.missing(ctx({ Root: '/srv', Host: 'h' }))).toBeUndefined();
    expect(attr.missing(ctx({ Root: '/srv' }))).toBe('Host is not set');
    expect(attr.missing(ctx({ Root: '' }))).toBe('Root and Host are not set');
    expect(() => attr.required(ctx({}), 'Root')).toThrow(/Root is not set/);
  });

  it('throws on a name that is not declared or not of the reader\'s kind (a bug in our code)', () => {
    const untyped = attr as unknown as { number(c: AgentContext, n: string): number };
    expect(() => untyped.number(ctx({}), 'Nope')).toThrow(/not declared/);
    expect(() => untyped.number(ctx({}), 'Mode')).toThrow(/of kind enum/);
  });
});
