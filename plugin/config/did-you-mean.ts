/**
 * "Did you mean …?" for misspelt names (types, attributes, services, keys). Guarantees: a
 * suggestion is only offered when it is close (a case-only difference, or a small edit
 * distance relative to the length), so a wild name gets no misleading hint.
 */

/**
 * Edit distance: insert, delete, substitute and swap two neighbours each cost 1 (optimal string
 * alignment), so the common typo "nsf" for "nfs" is one edit.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, cur[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      cur[j] = d;
    }
    rows.push(cur);
  }
  return rows[a.length]![b.length]!;
}

/** The known name closest to `name`, or undefined when none is close enough. */
export function closest(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const exactCase = known.find((k) => k.toLowerCase() === lower);
  if (exactCase) return exactCase;
  // Why this bound: one typo per ~4 characters, at least 1 and at most 3 edits; names of one or
  // two characters get no guess (any other short name would be "close").
  const limit = name.length <= 2 ? 0 : Math.min(3, Math.max(1, Math.floor(name.length / 4)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) { best = k; bestDistance = d; }
  }
  return bestDistance <= limit ? best : undefined;
}

/**
 * "did you mean X?" when a known name is close; otherwise, with `list`, the known names (when
 * there are few enough to show), else ''.
 */
export function suggestion(name: string, known: readonly string[], list = false): string {
  const near = closest(name, known);
  if (near) return `did you mean ${near}?`;
  return list && known.length > 0 && known.length <= 16 ? `known: ${known.join(', ')}` : '';
}
