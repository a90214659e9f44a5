/**
 * What the validation passes share: a problem collector and the resources as seen after the
 * per-attribute pass (only values of the right kind, defaults applied), so multi-attribute
 * rules can rely on types without re-checking them.
 */
import type { TypeDescriptor } from './attributes';
import { problem, type Problem } from './problems';

export interface CheckedResource {
  group: string;
  name: string;
  /** `group/resource`, as printed. */
  where: string;
  type: TypeDescriptor;
  /** Valid attribute values plus defaults; an attribute with a wrong value is absent. */
  attrs: Record<string, unknown>;
  /** Attributes the user actually wrote (defaults not included). */
  given: Set<string>;
  /** Valid `requires` entries (names of resources of the same group). */
  requires: string[];
}

export class Report {
  readonly problems: Problem[] = [];
  constructor(readonly file: string) {}

  // Messages quote user values (names, keys, strings): problem() escapes what a terminal would act on.
  error(where: string, attribute: string, message: string, hint?: string): void {
    this.problems.push(problem('error', this.file, where, attribute, message, hint));
  }

  warn(where: string, attribute: string, message: string, hint?: string): void {
    this.problems.push(problem('warning', this.file, where, attribute, message, hint));
  }
}

/** A `{ … }` literal (or a JSON object, or an object without prototype): not a list, a Map, a Date or a class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
export const portMap = (v: unknown): Record<string, number> =>
  (isPlainObject(v) ? (v as Record<string, number>) : {});
