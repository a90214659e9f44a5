/**
 * A validation problem. `msgha validate` prints one per line as
 * `FILE: group/resource: Attribute: message (hint)`.
 */
export interface Problem {
  severity: 'error' | 'warning';
  file: string;
  /** `group/resource`, `group`, or 'cluster' for cluster-wide settings. */
  where: string;
  /** The attribute (or key) concerned, '' when the whole entry is concerned. */
  attribute: string;
  message: string;
  hint?: string;
}

export function formatProblem(p: Problem): string {
  const attr = p.attribute ? `${p.attribute}: ` : '';
  const hint = p.hint ? ` (${p.hint})` : '';
  const tag = p.severity === 'warning' ? 'warning: ' : '';
  return `${p.file}: ${p.where}: ${attr}${tag}${p.message}${hint}`;
}

/** Thrown by defineCluster/loadClusterOrThrow: every problem, not only the first. */
export class ClusterConfigError extends Error {
  constructor(readonly problems: Problem[]) {
    super(`invalid cluster file:\n${problems.filter((p) => p.severity === 'error').map(formatProblem).join('\n')}`);
    this.name = 'ClusterConfigError';
  }
}
