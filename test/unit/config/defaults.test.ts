/**
 * Defaults that follow other attributes (attributes.ts derivedDefault): MonitorTimeout follows
 * MonitorInterval unless set, so lowering MonitorInterval alone resolves, validates without a
 * single problem and is documented by its rule; OnlineRetryLimit is declared (default 1, ≥ 0).
 */
import { describe, expect, it } from 'vitest';
import { RESOURCE_TYPES, getResourceType } from '../../../plugin/resource-types';
import { GENERIC_ATTRIBUTES, defaultMonitorTimeout } from '../../../plugin/model/attributes';
import type { ClusterDefinition } from '../../../plugin/model/cluster-types';
import { explainMarkdown, explainType } from '../../../plugin/config/explain';
import { formatProblem } from '../../../plugin/model/problems';
import { applyDefaults, resolveCluster } from '../../../plugin/config/resolve';
import { validateDefinition } from '../../../plugin/config/validate';
import { baseDefinition } from './base-definition';

const FILE = '/etc/msgha/test.config.js';

describe('MonitorTimeout follows MonitorInterval unless set', () => {
  it('is 80 % of MonitorInterval in whole seconds, at least 1, at most the declared 8', () => {
    expect([1, 2, 3, 5, 9, 10, 11, 60].map(defaultMonitorTimeout)).toEqual([1, 1, 2, 4, 7, 8, 8, 8]);
    expect(defaultMonitorTimeout(undefined)).toBe(8);
  });

  it('resolves from the resource\'s MonitorInterval; a MonitorTimeout that is set is kept', () => {
    const attrs = getResourceType('Application')!.attributes;
    expect(applyDefaults(attrs, {}).MonitorTimeout).toBe(8);
    expect(applyDefaults(attrs, { MonitorInterval: 3 }).MonitorTimeout).toBe(2);
    expect(applyDefaults(attrs, { MonitorInterval: 3, MonitorTimeout: 3 }).MonitorTimeout).toBe(3);
    const def = baseDefinition();
    def.groups.mail!.resources.imap!.MonitorInterval = 5;
    const imap = resolveCluster(def, FILE).groups[1]!.resources.find((r) => r.name === 'imap')!;
    expect(imap.attrs).toMatchObject({ MonitorInterval: 5, MonitorTimeout: 4 });
  });

  it('lowering MonitorInterval alone raises no problem at all (NetscapeMsg\'s default ProbeTimeout included)', () => {
    const def = baseDefinition() as ClusterDefinition;
    for (const g of Object.values(def.groups)) for (const r of Object.values(g.resources)) r.MonitorInterval = 2;
    expect(validateDefinition(def, FILE).problems.map(formatProblem)).toEqual([]);
  });

  it('a MonitorTimeout set longer than MonitorInterval still warns, and says it may be left unset', () => {
    const def = baseDefinition();
    Object.assign(def.groups.mail!.resources.imap!, { MonitorInterval: 5, MonitorTimeout: 8 });
    const p = validateDefinition(def, FILE).problems.find((x) => x.attribute === 'MonitorTimeout');
    expect(p).toMatchObject({ severity: 'warning', where: 'mail/imap', message: expect.stringMatching(/8 s\) is longer than MonitorInterval \(5 s\)/), hint: expect.stringMatching(/leave it unset/) });
  });

  it('msgha explain states the rule, not a fixed number', () => {
    const text = explainType(getResourceType('SunJESMsg')!);
    expect(text).toMatch(/MonitorTimeout {2}\(seconds; default 80 % of MonitorInterval \(whole seconds, at least 1\), at most 8 s; ≥ 1\)/);
    expect(explainMarkdown()).toMatch(/\| `MonitorTimeout` \| [^|]+ \| {2}\| 80 % of MonitorInterval/);
  });
});

describe('OnlineRetryLimit', () => {
  it('is a generic attribute of every type: integer ≥ 0, default 1, explained', () => {
    const decl = GENERIC_ATTRIBUTES.find((a) => a.name === 'OnlineRetryLimit');
    expect(decl).toMatchObject({ kind: 'int', default: 1, min: 0 });
    for (const t of RESOURCE_TYPES) {
      expect(applyDefaults(t.attributes, {}).OnlineRetryLimit).toBe(1);
      expect(explainType(t)).toMatch(/OnlineRetryLimit {2}\(integer; default 1; ≥ 0\)/);
    }
  });

  it('a bad value is an error naming the file, the resource and the attribute', () => {
    for (const [value, message] of [[-1, /must be ≥ 0, got -1/], ['2', /must be an integer/], [1.5, /must be an integer/]] as const) {
      const def = baseDefinition() as ClusterDefinition;
      def.groups.mail!.resources.dovecot!.OnlineRetryLimit = value;
      const errors = validateDefinition(def, FILE).problems.filter((p) => p.severity === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ file: FILE, where: 'mail/dovecot', attribute: 'OnlineRetryLimit' });
      expect(errors[0]!.message).toMatch(message);
    }
    const ok = baseDefinition() as ClusterDefinition;
    ok.groups.mail!.resources.dovecot!.OnlineRetryLimit = 0;
    expect(validateDefinition(ok, FILE).errors).toBe(0);
  });
});
