/**
 * THE list of resource types (plugin/resource-types/index.ts) is complete: every type has a
 * name, a summary, attribute declarations (each declared once, the generic ones included), the
 * four functions, a contract case (test/contract/cases.ts) and its section in `msgha explain`;
 * every rule names only declared attributes. The checks are tried on broken definitions too,
 * so a check that stopped looking would fail here.
 */
import { describe, expect, it } from 'vitest';
import { GENERIC_ATTRIBUTES } from '../../../plugin/model/attributes';
import { RESOURCE_TYPES, TYPE_NAMES, getResourceType } from '../../../plugin/resource-types';
import type { ResourceTypeDefinition } from '../../../plugin/resource-types/contract';
import { explainMarkdown, explainType, explainTypeList } from '../../../plugin/config/explain';
import { contractCases } from '../../contract/cases';

const FUNCTIONS = ['online', 'offline', 'monitor', 'clean'] as const;
const CONTRACT_TYPES = new Set(contractCases({ conf: '', masterPid: '' }, () => '').map((c) => c.type));

/** What `t` lacks or says twice; [] when it is whole. */
function gaps(t: ResourceTypeDefinition, contractTypes: ReadonlySet<string> = CONTRACT_TYPES): string[] {
  const out: string[] = [];
  if (!t.name) out.push('no name');
  if (!t.summary?.trim()) out.push('no summary');
  for (const fn of FUNCTIONS) if (typeof t[fn] !== 'function') out.push(`no ${fn} function`);
  const names = (t.attributes ?? []).map((a) => a.name);
  if (names.length <= GENERIC_ATTRIBUTES.length) out.push('no attribute of its own');
  for (const a of t.attributes ?? []) if (!a.kind || !a.doc?.trim()) out.push(`attribute ${a.name} without kind or doc`);
  for (const name of new Set(names.filter((n, i) => names.indexOf(n) !== i))) out.push(`attribute ${name} declared twice`);
  for (const g of GENERIC_ATTRIBUTES) if (!names.includes(g.name)) out.push(`generic attribute ${g.name} missing`);
  for (const [i, rule] of (t.rules ?? []).entries()) {
    if (rule.attributes.length === 0) out.push(`rule ${i} names no attribute`);
    for (const a of rule.attributes) if (!names.includes(a)) out.push(`rule ${i} names undeclared attribute ${a}`);
  }
  if (!contractTypes.has(t.name)) out.push('no contract case in test/contract/cases.ts');
  const list = explainTypeList();
  if (!list.includes(`  ${t.name}`) || !list.includes(t.summary)) out.push('not in the msgha explain list');
  if (t.attributes && !explainType(t).startsWith(`${t.name} — ${t.summary}`)) out.push('no msgha explain <type> page');
  if (!explainMarkdown().includes(`## ${t.name}\n\n${t.summary}`)) out.push('no section in msgha explain --markdown');
  return out;
}

describe('the list of resource types', () => {
  it('holds the eight types, each once, found by name', () => {
    expect([...TYPE_NAMES].sort()).toEqual(['Application', 'IP', 'Mount', 'NIC', 'NetscapeMsg', 'SunJESAdm', 'SunJESLDAP', 'SunJESMsg']);
    expect(new Set(TYPE_NAMES).size).toBe(RESOURCE_TYPES.length);
    for (const t of RESOURCE_TYPES) expect(getResourceType(t.name)).toBe(t);
  });

  it.each(RESOURCE_TYPES.map((t) => [t.name, t] as const))('%s is whole', (_name, t) => {
    expect(gaps(t)).toEqual([]);
  });

  it('the checks see a missing part, a second declaration and a rule on an undeclared attribute', () => {
    const good = getResourceType('SunJESLDAP')!;
    const broken: ResourceTypeDefinition = {
      ...good,
      name: 'Broken',
      summary: '',
      attributes: [...good.attributes, good.attributes[0]!],
      rules: [{ attributes: ['LDAPPort', 'NoSuchAttribute'], check: () => undefined }],
      clean: undefined as unknown as ResourceTypeDefinition['clean'],
    };
    expect(gaps(broken, new Set())).toEqual(expect.arrayContaining([
      'no summary', 'no clean function', 'attribute InstanceRoot declared twice', 'rule 0 names undeclared attribute NoSuchAttribute',
      'no contract case in test/contract/cases.ts', 'not in the msgha explain list', 'no section in msgha explain --markdown',
    ]));
    const generic = { ...good, attributes: good.attributes.filter((a) => a.name !== 'OnlineTimeout') };
    expect(gaps(generic)).toEqual(['generic attribute OnlineTimeout missing']);
  });
});
