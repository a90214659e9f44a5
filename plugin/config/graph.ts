/**
 * Dependency graphs of resources (`requires`) and groups (`dependsOn`): a stable topological
 * order and cycle detection. Edges naming unknown nodes are ignored here (validation reports
 * them separately), so both functions are total.
 */

/**
 * Every name after the names it depends on; otherwise declaration order. Names caught in a
 * cycle are appended at the end in declaration order (validation refuses such files anyway).
 */
export function stableOrder(names: readonly string[], deps: (name: string) => readonly string[]): string[] {
  const known = new Set(names);
  const placed = new Set<string>();
  const order: string[] = [];
  let progress = true;
  while (progress && order.length < names.length) {
    progress = false;
    for (const name of names) {
      if (placed.has(name)) continue;
      if (deps(name).every((d) => !known.has(d) || placed.has(d) || d === name)) {
        placed.add(name);
        order.push(name);
        progress = true;
        break; // restart from the top so earlier-declared names keep priority
      }
    }
  }
  for (const name of names) if (!placed.has(name)) order.push(name);
  return order;
}

/** Each elementary cycle found by depth-first search, once, as [a, b, …, a]. */
export function findCycles(names: readonly string[], deps: (name: string) => readonly string[]): string[][] {
  const known = new Set(names);
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    state.set(name, 'visiting');
    stack.push(name);
    for (const d of deps(name)) {
      if (!known.has(d)) continue;
      if (state.get(d) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(d)), d];
        const key = [...cycle.slice(0, -1)].sort().join('\0');
        if (!seen.has(key)) { seen.add(key); cycles.push(cycle); }
      } else if (!state.has(d)) {
        visit(d);
      }
    }
    stack.pop();
    state.set(name, 'done');
  };
  for (const name of names) if (!state.has(name)) visit(name);
  return cycles;
}

/** Every name reachable from `start` through deps (not including start unless in a cycle). */
export function reachable(start: string, deps: (name: string) => readonly string[]): Set<string> {
  const out = new Set<string>();
  const todo = [...deps(start)];
  while (todo.length > 0) {
    const n = todo.pop()!;
    if (out.has(n)) continue;
    out.add(n);
    todo.push(...deps(n));
  }
  return out;
}
