/**
 * Resource type name → implementation of its four functions. Loading this module loads agent
 * code; validation uses catalog.ts instead.
 */
import { Application } from './application';
import { coordinatorOwned } from './coordinator-owned';
import { NetscapeMsg } from './netscape-msg';
import { SunJESAdm } from './sunjes-adm';
import { SunJESLDAP } from './sunjes-ldap';
import { SunJESMsg } from './sunjes-msg';
import type { ResourceType } from './types';

const TYPES: Readonly<Record<string, ResourceType>> = {
  SunJESMsg,
  SunJESAdm,
  SunJESLDAP,
  NetscapeMsg,
  Application,
  IP: coordinatorOwned('IP'),
  Mount: coordinatorOwned('Mount'),
};

export function getResourceType(name: string): ResourceType | undefined {
  return Object.prototype.hasOwnProperty.call(TYPES, name) ? TYPES[name] : undefined;
}

export const RESOURCE_TYPE_NAMES: readonly string[] = Object.keys(TYPES);
