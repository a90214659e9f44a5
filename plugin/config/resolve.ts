/**
 * Turns a validated cluster definition into the resolved form the coordinator and agents use:
 * defaults from the declarations applied, systemList and autoStart filled in, and each group's
 * resources in online order. Call it only on a definition that validated without errors.
 */
import * as path from 'node:path';
import { TYPE_CATALOG } from '../resource-types/catalog';
import { defaultFor, type AttrDecl } from '../model/attributes';
import type { ClusterDefinition, ResolvedCluster, ResolvedGroup, ResolvedResource, ResourceConfig } from '../model/cluster-types';
import { stableOrder } from './graph';

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
      const type = TYPE_CATALOG[raw.type]!;
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
      autoStart: g.autoStart ?? true,
      dependsOn: (g.dependsOn ?? []).map((d) => ({ ...d })),
      frozen: g.frozen ?? false,
      resources,
    };
  });
  return {
    file: path.resolve(file),
    settings: {
      ...def.cluster,
      nodes: [...def.cluster.nodes],
      lease: { profile: def.cluster.lease?.profile ?? 'nfs' },
      metrics: { listen: def.cluster.metrics?.listen ?? '127.0.0.1:9464' },
    },
    groups,
  };
}
