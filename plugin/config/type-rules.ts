/**
 * Runs the validation rules each resource type declares (plugin/resource-types, `rules`) on one
 * resource. A rule sees only the attributes it names, as they passed their kind check
 * (CheckedResource.attrs), so a wrong value is reported once, by its kind checker, and not
 * again here; a rule that reports on an attribute it does not name is a bug and throws
 * (validate.ts turns that into an internal validation error).
 */
import type { CheckedResource, Report } from '../model/check-context';
import { getResourceType } from '../resource-types';
import type { RuleInput, TypeRule } from '../resource-types/contract';
import { suggestion } from './did-you-mean';

function inputFor(report: Report, r: CheckedResource, rule: TypeRule): RuleInput {
  const named = new Set(rule.attributes);
  const own = (attribute: string): string => {
    if (!named.has(attribute)) throw new Error(`a rule of type ${r.type.name} reports on ${attribute}, which it does not name`);
    return attribute;
  };
  return {
    attrs: Object.fromEntries(Object.entries(r.attrs).filter(([k]) => named.has(k))),
    given: new Set([...r.given].filter((k) => named.has(k))),
    error: (attribute, message, hint) => report.error(r.where, own(attribute), message, hint),
    warn: (attribute, message, hint) => report.warn(r.where, own(attribute), message, hint),
    suggest: suggestion,
  };
}

export function checkTypeRules(report: Report, r: CheckedResource): void {
  const type = getResourceType(r.type.name);
  if (type) for (const rule of type.rules) rule.check(inputFor(report, r, rule));
}
