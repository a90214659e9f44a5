/**
 * THE list of resource types. Each entry is a whole type (contract.ts defineType): validation,
 * defaults, `msgha explain` and the agents all read it from here, so a type cannot be known to
 * one of them and not to another (test/unit/resource-types/catalog.test.ts checks every entry
 * is complete). The order is the order `msgha explain` lists them in.
 *
 * Loading the list loads every type's code, once per process (about 40 ms; validation alone
 * used to load 3 ms of declarations); each probe's protocol library still loads on its first
 * use (probes/registry.ts).
 */
import { Application } from './application';
import { ipType } from './ip';
import { mountType } from './mount';
import { NetscapeMsg } from './netscape-msg';
import { nicType } from './nic';
import { SunJESAdm } from './sunjes-adm';
import { SunJESLDAP } from './sunjes-ldap';
import { SunJESMsg } from './sunjes-msg';
import type { ResourceTypeDefinition } from './contract';

export const RESOURCE_TYPES: readonly ResourceTypeDefinition[] = [SunJESMsg, SunJESAdm, SunJESLDAP, NetscapeMsg, Application, ipType, nicType, mountType];

export const TYPE_NAMES: readonly string[] = RESOURCE_TYPES.map((t) => t.name);

const BY_NAME: ReadonlyMap<string, ResourceTypeDefinition> = new Map(RESOURCE_TYPES.map((t) => [t.name, t]));

export function getResourceType(name: string): ResourceTypeDefinition | undefined {
  return BY_NAME.get(name);
}
