/**
 * The secret attributes of a loaded cluster file, each with its place (for `msgha encrypt
 * --cluster` and `msgha secrets upgrade`). Which attributes are secrets: the types' declarations.
 */
import { loadCluster } from '../../config/load';
import { formatProblem } from '../../model/problems';
import type { ResolvedCluster } from '../../model/cluster-types';
import { getResourceType } from '../../resource-types';
import type { SecretPlace } from '../../secrets';

export interface SecretSlot {
  place: SecretPlace;
  /** The value written in the file; undefined when the attribute is not set. */
  value: unknown;
}

/** The loaded cluster, or the lines that say why it did not load (its errors, from validate). */
export async function loadForSecrets(file: string): Promise<{ cluster?: ResolvedCluster; why: string[] }> {
  const { cluster, problems } = await loadCluster(file);
  if (cluster) return { cluster, why: [] };
  return { why: [...problems.filter((p) => p.severity === 'error').map(formatProblem), `${file} does not load; fix the errors above first (msgha validate ${file})`] };
}

/** Every declared secret attribute of every resource, set or not, in file order. */
export function secretSlots(cluster: ResolvedCluster): SecretSlot[] {
  return cluster.groups.flatMap((g) => g.resources.flatMap((r) =>
    (getResourceType(r.type)?.attributes ?? []).filter((a) => a.kind === 'secret').map((a) => ({
      place: { cluster: cluster.settings.name, group: g.name, resource: r.name, attribute: a.name },
      value: r.attrs[a.name],
    }))));
}
