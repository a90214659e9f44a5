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

/**
 * Characters a terminal or a log reader would act on, or that reorder text on screen: control
 * characters, DEL, line and paragraph separators, bidirectional overrides, the BOM.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** `text` with every unprintable character written as an escape (\x1b, \u202e): never echoed raw. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A problem whose texts are printable (user values in them are escaped). */
export function problem(severity: Problem['severity'], file: string, where: string, attribute: string, message: string, hint?: string): Problem {
  return {
    severity, file: printable(file), where: printable(where), attribute: printable(attribute), message: printable(message),
    ...(hint ? { hint: printable(hint) } : {}),
  };
}

export function formatProblem(p: Problem): string {
  const attr = p.attribute ? `${p.attribute}: ` : '';
  const hint = p.hint ? ` (${p.hint})` : '';
  const tag = p.severity === 'warning' ? 'warning: ' : '';
  return printable(`${p.file}: ${p.where}: ${attr}${tag}${p.message}${hint}`);
}

/** Thrown by defineCluster/loadClusterOrThrow: every problem, not only the first. */
export class ClusterConfigError extends Error {
  constructor(readonly problems: Problem[]) {
    super(`invalid cluster file:\n${problems.filter((p) => p.severity === 'error').map(formatProblem).join('\n')}`);
    this.name = 'ClusterConfigError';
  }
}
