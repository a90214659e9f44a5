/**
 * Validation of a cluster definition: returns every problem at once (never only the first),
 * each naming the file, `group/resource`, the attribute, what is wrong and a hint. Never
 * throws, whatever the input; never decrypts a secret; looks at the file system only for the
 * programs and the EnvFile (the trusted-path rule, see generic-rules.ts). The definition is
 * first copied as plain data (plain-data.ts), and only that copy is judged.
 */
import { getResourceType, TYPE_NAMES } from '../resource-types';
import { RESOURCE_META_KEYS } from '../model/attributes';
import { isPlainObject, Report, type CheckedResource } from '../model/check-context';
import { checkCrossResource } from './cluster-rules';
import { suggestion } from './did-you-mean';
import { checkGroupTimings, checkTimings, checkTrustedFiles } from './generic-rules';
import { findCycles } from './graph';
import { NAME_PATTERN, TOP_LEVEL_KEYS } from './keys';
import type { Problem } from '../model/problems';
import { locate, plainDefinition } from './plain-data';
import { applyDefaults } from './resolve';
import { checkClusterSettings, checkGroupCycles, checkGroupKeys } from './settings-rules';
import { checkTypeRules } from './type-rules';
import { checkAttribute } from './validate-attribute';
import { isUnboundSecret, unboundSecretWarning } from '../secrets/format';

export interface ValidationResult {
  problems: Problem[];
  errors: number;
  warnings: number;
  groups: number;
  resources: number;
}

/** Checks one resource's own keys; returns it for the multi-attribute rules, or undefined. */
function checkResource(report: Report, group: string, name: string, raw: unknown, siblings: readonly string[], owners: Map<string, string>): CheckedResource | undefined {
  const where = `${group}/${name}`;
  if (!NAME_PATTERN.test(name)) {
    report.error(where, '', `resource name "${name}" must be letters, digits, - and _ (it becomes the PM2 app name ${group}.${name})`);
  }
  if (!isPlainObject(raw)) {
    report.error(where, '', 'must be an object { type, requires, …attributes }');
    return undefined;
  }

  const requires: string[] = [];
  if (raw.requires !== undefined) {
    if (!Array.isArray(raw.requires)) report.error(where, 'requires', 'must be a list of resource names of the same group');
    else {
      for (const dep of raw.requires) {
        if (typeof dep !== 'string') report.error(where, 'requires', `${JSON.stringify(dep)} is not a resource name`);
        else if (dep === name) report.error(where, 'requires', 'a resource cannot require itself');
        else if (siblings.includes(dep)) {
          if (requires.includes(dep)) report.warn(where, 'requires', `${dep} is listed twice`);
          else requires.push(dep);
        } else if (owners.has(dep)) {
          report.error(where, 'requires', `${dep} is a resource of group ${owners.get(dep)}, not of ${group}`,
            `a resource can only require resources of its own group; use dependsOn: [{ group: "${owners.get(dep)}", kind: "online-global-soft" }] on the group`);
        } else {
          report.error(where, 'requires', `no resource ${dep} in group ${group}`, suggestion(dep, siblings, true) || undefined);
        }
      }
    }
  }

  if (raw.type === undefined) {
    report.error(where, 'type', 'is required', `one of ${TYPE_NAMES.join(', ')}`);
    return undefined;
  }
  const type = typeof raw.type === 'string' ? getResourceType(raw.type) : undefined;
  if (!type) {
    report.error(where, 'type', `unknown resource type ${JSON.stringify(raw.type)}`,
      (typeof raw.type === 'string' && suggestion(raw.type, TYPE_NAMES)) || `one of ${TYPE_NAMES.join(', ')}`);
    return undefined;
  }

  const names = type.attributes.map((a) => a.name);
  const valid: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const [key, value] of Object.entries(raw)) {
    if (RESOURCE_META_KEYS.includes(key)) continue;
    const decl = type.attributes.find((a) => a.name === key);
    if (!decl) {
      report.error(where, key, `unknown attribute for type ${type.name}`, suggestion(key, names) || `see \`msgha explain ${type.name}\``);
      continue;
    }
    if (value === undefined || value === null) continue;
    given.add(key);
    const issues = checkAttribute(decl, value);
    for (const i of issues) (i.severity === 'error' ? report.error : report.warn).call(report, where, key, i.message, i.hint);
    if (decl.kind === 'secret' && isUnboundSecret(value) && issues.length === 0) { const w = unboundSecretWarning(report.file); report.warn(where, key, w.message, w.hint); }
    // A port map with one bad port still names its services: keep it for the service rules.
    if (!issues.some((i) => i.severity === 'error') || (decl.kind === 'portMap' && isPlainObject(value))) valid[key] = value;
  }
  for (const decl of type.attributes) {
    if (decl.required && !given.has(decl.name)) {
      report.error(where, decl.name, `is required for type ${type.name}`, decl.example !== undefined ? `e.g. ${decl.name}: ${JSON.stringify(decl.example)}` : undefined);
    }
  }
  // Defaults fill only attributes that were not given: a wrong value is not replaced by its
  // default, so later rules do not report on a value the user did not write.
  const attrs = applyDefaults(type.attributes.filter((d) => !given.has(d.name) || d.name in valid), valid);
  return { group, name, where, type, attrs, given, requires };
}

/** Problems sorted as the file reads (file, cluster, then each group and its resources); stable. */
function inDeclarationOrder(problems: Problem[], def: unknown): Problem[] {
  const rank = new Map<string, number>([['file', 0], ['cluster', 1]]);
  if (isPlainObject(def) && isPlainObject(def.groups)) {
    for (const [g, raw] of Object.entries(def.groups)) {
      rank.set(g, rank.size);
      if (isPlainObject(raw) && isPlainObject(raw.resources)) for (const r of Object.keys(raw.resources)) rank.set(`${g}/${r}`, rank.size);
    }
  }
  const at = (p: Problem): number => rank.get(p.where) ?? rank.size;
  return problems.map((p, i) => ({ p, i })).sort((a, b) => at(a.p) - at(b.p) || a.i - b.i).map((x) => x.p);
}

export function validateDefinition(def: unknown, file: string): ValidationResult {
  return validateSnapshot(def, file).result;
}

/** Validation, and the plain copy it judged: the one to resolve (a .js file's getters are not read twice). */
export function validateSnapshot(raw: unknown, file: string): { result: ValidationResult; definition: unknown } {
  const plain = plainDefinition(raw);
  const def = plain.value;
  const report = new Report(file);
  for (const p of plain.problems) {
    const { where, attribute } = locate(p.path);
    report.error(where, attribute, p.message);
  }
  return { result: judge(report, def), definition: def };
}

function judge(report: Report, def: unknown): ValidationResult {
  const result = (groups = 0, resources = 0): ValidationResult => ({
    problems: inDeclarationOrder(report.problems, def),
    errors: report.problems.filter((p) => p.severity === 'error').length,
    warnings: report.problems.filter((p) => p.severity === 'warning').length,
    groups,
    resources,
  });
  try {
    if (!isPlainObject(def)) {
      report.error('file', '', 'must define an object { cluster, groups }', 'module.exports = defineCluster({ cluster: {…}, groups: {…} })');
      return result();
    }
    for (const key of Object.keys(def)) {
      if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key)) report.error('file', key, 'unknown top-level key', suggestion(key, TOP_LEVEL_KEYS) || undefined);
    }
    const nodes = checkClusterSettings(report, def.cluster);
    if (!isPlainObject(def.groups)) {
      report.error('file', 'groups', def.groups === undefined ? 'the "groups" section is missing' : 'must be an object { groupName: { resources: {…} } }');
      return result();
    }
    const groupNames = Object.keys(def.groups);
    if (groupNames.length === 0) report.error('file', 'groups', 'defines no group');

    // Which group owns each resource name, to explain a `requires` that crosses groups.
    const owners = new Map<string, string>();
    for (const [g, raw] of Object.entries(def.groups)) {
      if (isPlainObject(raw) && isPlainObject(raw.resources)) for (const r of Object.keys(raw.resources)) if (!owners.has(r)) owners.set(r, g);
    }

    const all: CheckedResource[] = [];
    let resourceCount = 0;
    for (const [g, raw] of Object.entries(def.groups)) {
      if (!NAME_PATTERN.test(g)) report.error(g, '', `group name "${g}" must be letters, digits, - and _ (at most 63 characters)`);
      if (!isPlainObject(raw)) {
        report.error(g, '', 'must be an object { systemList, resources: {…} }');
        continue;
      }
      checkGroupKeys(report, g, raw, nodes, groupNames);
      if (!isPlainObject(raw.resources)) {
        report.error(g, 'resources', raw.resources === undefined ? 'is required' : 'must be an object { name: { type, … } }');
        continue;
      }
      const names = Object.keys(raw.resources);
      if (names.length === 0) report.error(g, 'resources', 'the group has no resource', 'remove the group or add resources');
      resourceCount += names.length;
      const checked: CheckedResource[] = [];
      for (const name of names) {
        const r = checkResource(report, g, name, raw.resources[name], names, owners);
        if (r) checked.push(r);
      }
      const reqs = (n: string): string[] => {
        const entry = raw.resources as Record<string, unknown>;
        const rr = entry[n];
        return isPlainObject(rr) && Array.isArray(rr.requires) ? rr.requires.filter((x): x is string => typeof x === 'string' && x !== n) : [];
      };
      for (const cycle of findCycles(names, reqs)) {
        report.error(`${g}/${cycle[0]}`, 'requires', `dependency cycle: ${cycle.join(' → ')}`, 'no resource of a cycle could ever start; remove one entry');
      }
      for (const r of checked) {
        checkTypeRules(report, r);
        checkTimings(report, r);
        checkTrustedFiles(report, r);
      }
      checkGroupTimings(report, g, checked);
      all.push(...checked);
    }
    checkGroupCycles(report, def.groups);
    checkCrossResource(report, all, def.cluster);
    return result(groupNames.length, resourceCount);
  } catch (err) {
    // A bug in a rule must not hide the other problems nor crash `msgha validate`.
    report.error('file', '', `internal validation error: ${err instanceof Error ? err.message : String(err)}`, 'please report this');
    return result();
  }
}
