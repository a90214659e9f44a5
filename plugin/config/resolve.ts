/**
 * Turns a validated cluster definition into the resolved form the coordinator and agents use:
 * defaults from the declarations applied, systemList and autoStart filled in, and each group's
 * resources in online order. Call it only on a definition that validated without errors.
 */
import * as path from 'node:path';
import { getResourceType } from '../resource-types';
import { defaultFor, type AttrDecl } from '../model/attributes';
import type { ClusterDefinition, ResolvedCluster, ResolvedGroup, ResolvedResource, ResourceConfig } from '../model/cluster-types';
import { stableOrder } from './graph';
import { CLUSTER_KEYS, GROUP_KEYS, keyDefault } from './keys';

type LeaseProfile = NonNullable<NonNullable<ClusterDefinition['cluster']['lease']>['profile']>;
const DEFAULT_PROFILE = keyDefault<LeaseProfile>(CLUSTER_KEYS, 'lease.profile');
const DEFAULT_LISTEN = keyDefault<string>(CLUSTER_KEYS, 'metrics.listen');
const DEFAULT_AUTO_START = keyDefault<boolean>(GROUP_KEYS, 'autoStart');
const DEFAULT_FROZEN = keyDefault<boolean>(GROUP_KEYS, 'frozen');

function cloneDefault(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? structuredClone(value) : value;
}

/**
 * Declared defaults overlaid with the given values (only declared attributes are kept); derived
 * defaults (attributes.ts derivedDefault) last, from the values resolved so far.
 */
export function applyDefaults(attributes: readonly AttrDecl[], given: Record<string, unknown>): Record<string, unknown> {
  const attrs: Record<string, unknown> = {};
  for (const decl of attributes) {
    const v = given[decl.name];
    if (v !== undefined && v !== null) attrs[decl.name] = v;
    else if (decl.default !== undefined && !decl.derivedDefault) attrs[decl.name] = cloneDefault(decl.default);
  }
  for (const decl of attributes) {
    if (decl.derivedDefault && !(decl.name in attrs)) attrs[decl.name] = cloneDefault(defaultFor(decl, attrs));
  }
  return attrs;
}

/** Resource names of one group in online order: each after those it requires, else declaration order. */
export function onlineOrder(resources: Record<string, Pick<ResourceConfig, 'requires'>>): string[] {
  return stableOrder(Object.keys(resources), (n) => resources[n]?.requires ?? []);
}

export function resolveCluster(def: ClusterDefinition, file: string): ResolvedCluster {
  const groups: ResolvedGroup[] = Object.entries(def.groups).map(([name, g]) => {
    const resources: ResolvedResource[] = onlineOrder(g.resources).map((rname) => {
      const raw = g.resources[rname]!;
      const type = getResourceType(raw.type)!;
      return {
        id: `${name}.${rname}`,
        group: name,
        name: rname,
        type: raw.type,
        requires: [...(raw.requires ?? [])],
        attrs: applyDefaults(type.attributes, raw),
      };
    });
    return {
      name,
      systemList: [...(g.systemList ?? def.cluster.nodes)],
      autoStart: g.autoStart ?? DEFAULT_AUTO_START,
      dependsOn: (g.dependsOn ?? []).map((d) => ({ ...d })),
      frozen: g.frozen ?? DEFAULT_FROZEN,
      resources,
    };
  });
  return {
    file: path.resolve(file),
    settings: {
      ...def.cluster,
      nodes: [...def.cluster.nodes],
      lease: { profile: def.cluster.lease?.profile ?? DEFAULT_PROFILE, ...(def.cluster.lease?.acceptUnsigned === true ? { acceptUnsigned: true } : {}) },
      metrics: { listen: def.cluster.metrics?.listen ?? DEFAULT_LISTEN },
    },
    groups,
  };
}
