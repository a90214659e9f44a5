import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESOURCE_TYPES, TYPE_NAMES } from '../../../plugin/resource-types';
import { explainMarkdown, explainType, explainTypeList, findType } from '../../../plugin/config/explain';
import { CLUSTER_KEYS, GROUP_KEYS } from '../../../plugin/config/keys';
import { closest, editDistance } from '../../../plugin/config/did-you-mean';

const CLI = path.resolve(__dirname, '../../../dist/plugin/cli/main.js');

describe('msgha explain', () => {
  it('lists every type', () => {
    const text = explainTypeList();
    for (const t of TYPE_NAMES) expect(text).toContain(t);
  });

  it.each(RESOURCE_TYPES)('$name: every attribute with kind, default and doc', (type) => {
    const text = explainType(type);
    for (const a of type.attributes) {
      expect(text).toContain(`  ${a.name}  (`);
      expect(text).toContain(a.doc);
      if (a.derivedDefault) expect(text).toContain(`default ${a.derivedDefault.rule}`);
      else if (a.default !== undefined) expect(text).toContain(`default ${typeof a.default === 'string' ? a.default : JSON.stringify(a.default)}`);
      if (a.required) expect(text).toMatch(new RegExp(`^  ${a.name}  \\(.*; required`, 'm'));
      for (const v of a.values ?? []) expect(text).toContain(v);
    }
  });

  it('markdown holds every attribute of every type and every cluster and group key', () => {
    const md = explainMarkdown();
    for (const t of RESOURCE_TYPES) {
      expect(md).toContain(`## ${t.name}`);
      for (const a of t.attributes) expect(md).toContain(`| \`${a.name}\` |`);
    }
    for (const k of [...CLUSTER_KEYS, ...GROUP_KEYS]) expect(md).toContain(`| \`${k.name}\` |`);
  });

  it('finds types case-insensitively', () => {
    expect(findType('sunjesmsg')?.name).toBe('SunJESMsg');
    expect(findType('nope')).toBeUndefined();
  });

  it('runs from the compiled CLI', () => {
    const ok = spawnSync(process.execPath, [CLI, 'explain', 'SunJESAdm'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('AdminPasswd');
    const lease = spawnSync(process.execPath, [CLI, 'explain', 'lease'], { encoding: 'utf8' });
    expect(lease.stdout).toMatch(/nfs/);
    expect(lease.stdout).toMatch(/failover/i);
    const bad = spawnSync(process.execPath, [CLI, 'explain', 'SunJESMgs'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/did you mean SunJESMsg\?/);
    const md = spawnSync(process.execPath, [CLI, 'explain', '--markdown'], { encoding: 'utf8' });
    expect(md.stdout).toMatch(/^# Cluster file reference/);
  });
});

describe('did you mean', () => {
  it.each([
    ['kitten', 'sitting', 3], ['nfs', 'nsf', 1], ['', 'abc', 3], ['same', 'same', 0],
  ])('editDistance(%s, %s) = %i', (a, b, d) => expect(editDistance(a, b)).toBe(d));

  it.each([
    ['msghost', ['MsgHost', 'ServerRoot'], 'MsgHost'],
    ['ServerRot', ['MsgHost', 'ServerRoot'], 'ServerRoot'],
    ['imapp', ['imap', 'pop'], 'imap'],
    ['zzzzzz', ['imap', 'pop'], undefined],
    ['c', ['a', 'b'], undefined],
  ])('closest(%s) = %s', (name, known, want) => expect(closest(name, known)).toBe(want));
});
