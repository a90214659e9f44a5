/**
 * A cluster definition as plain data, read exactly once. A `.js` cluster file can hand us
 * anything: lists with holes (`['a', , 'b']`), getters that throw or answer differently on each
 * read, proxies, cycles, BigInts. Validation and resolution both work on this one copy, so a
 * value is judged and used as the same value, and what cannot be copied becomes a problem naming
 * the attribute instead of an internal error that hides every other problem.
 *
 * The copy keeps objects and lists (holes dropped, each reported), own enumerable string keys
 * only (a JSON "__proto__" key stays a plain key, never a prototype), and every other value as
 * it is for the kind checkers to judge.
 */
import { isPlainObject } from '../model/check-context';

/** Where a value sits in the definition: object keys and list indexes, from the top. */
export type DataPath = readonly (string | number)[];

export interface DataProblem { path: DataPath; message: string }

/** Why 32 levels: the deepest legitimate value (a resource's port map) is 5 levels down. */
const MAX_DEPTH = 32;
/** Why 4096: far above 32 nodes or any list of pid files, far below a list that stalls validation. */
const MAX_ENTRIES = 4096;

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/** `value` copied as plain data, with a problem for each part that could not be. */
export function plainDefinition(value: unknown): { value: unknown; problems: DataProblem[] } {
  const problems: DataProblem[] = [];
  const onPath = new Set<object>();
  const copy = (v: unknown, at: DataPath): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (onPath.has(v)) {
      problems.push({ path: at, message: 'refers to itself (a cycle): a cluster file holds plain values only' });
      return undefined;
    }
    if (at.length >= MAX_DEPTH) {
      problems.push({ path: at, message: `is nested more than ${MAX_DEPTH} levels deep` });
      return undefined;
    }
    onPath.add(v);
    try {
      return Array.isArray(v) ? copyList(v, at) : isPlainObject(v) ? copyObject(v, at) : v;
    } catch (err) {
      problems.push({ path: at, message: `cannot be read: ${firstLine(err)}` });
      return undefined;
    } finally {
      onPath.delete(v);
    }
  };
  const copyList = (list: unknown[], at: DataPath): unknown[] | undefined => {
    if (list.length > MAX_ENTRIES) {
      problems.push({ path: at, message: `has ${list.length} entries, more than ${MAX_ENTRIES}` });
      return undefined;
    }
    const out: unknown[] = [];
    const holes: number[] = [];
    for (let i = 0; i < list.length; i++) {
      if (!Object.hasOwn(list, i)) holes.push(i);
      else out.push(copy(list[i], [...at, i]));
    }
    if (holes.length > 0) {
      problems.push({ path: at, message: `has ${holes.length === 1 ? 'a hole' : 'holes'} at [${holes.slice(0, 5).join(', ')}${holes.length > 5 ? ', …' : ''}] (two commas in a row): remove the extra comma${holes.length === 1 ? '' : 's'}` });
    }
    return out;
  };
  const copyObject = (obj: Record<string, unknown>, at: DataPath): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    const keys = Object.keys(obj);
    if (keys.length > MAX_ENTRIES) {
      problems.push({ path: at, message: `has ${keys.length} keys, more than ${MAX_ENTRIES}` });
      return out;
    }
    for (const key of keys) {
      let v: unknown;
      try {
        v = obj[key];
      } catch (err) {
        problems.push({ path: [...at, key], message: `cannot be read: ${firstLine(err)}` });
        continue;
      }
      // defineProperty: assigning "__proto__" would set the copy's prototype instead of a key.
      Object.defineProperty(out, key, { value: copy(v, [...at, key]), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  return { value: copy(value, []), problems };
}

/**
 * Where a path points, as validation names it: `where` is 'file', 'cluster', a group or
 * `group/resource`; `attribute` the key under it (dotted below the first level, list indexes in
 * brackets).
 */
export function locate(at: DataPath): { where: string; attribute: string } {
  const rest = (parts: DataPath): string => parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  const [top, group, section, resource, ...attr] = at;
  if (top === 'cluster') return { where: 'cluster', attribute: rest(at.slice(1)) };
  if (top !== 'groups' || group === undefined) return { where: 'file', attribute: rest(at) };
  if (section !== 'resources' || resource === undefined) return { where: String(group), attribute: rest(at.slice(2)) };
  return { where: `${String(group)}/${String(resource)}`, attribute: rest(attr) };
}
