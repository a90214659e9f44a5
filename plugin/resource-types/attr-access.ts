/**
 * Typed reads of a resource's attributes through its type's declarations (and the generic
 * ones): the value when it is set and valid, else the declared default (model/attributes.ts),
 * so no call site restates a default. A reader is made from the type's own declarations; with
 * declarations written `as const`, a name that is not declared, or not of the reader's kind, is
 * a compile error. Also the exec options every program of the resource shares.
 */
import type { ExecOptions } from '../core/exec';
import {
  GENERIC_ATTRIBUTES, boolAttr, commandAttr, defaultFor, declared, listAttr, numberAttr, portMapAttr, textAttr,
  type AttrDecl, type AttrName, type GenericAttributes,
} from '../model/attributes';
import type { AgentContext } from './contract';
import type { Logger } from '../core/log';

type TextName<D extends readonly AttrDecl[]> = AttrName<D, 'string' | 'path' | 'host' | 'enum'>;
/** Names whose declaration has a default: reading them always gives a value. */
type Defaulted<D extends readonly AttrDecl[]> = Extract<D[number], { default: string }>['name'];

export interface AttrReader<D extends readonly AttrDecl[]> {
  /** The declarations read: the type's own, then the generic ones. */
  readonly decls: readonly AttrDecl[];
  text<N extends TextName<D>>(ctx: AgentContext, name: N): N extends Defaulted<D> ? string : string | undefined;
  /** A required attribute's value; only after `missing` said none is missing (else a bug: it throws). */
  required(ctx: AgentContext, name: TextName<D>): string;
  number(ctx: AgentContext, name: AttrName<D, 'int' | 'seconds' | 'port'>): number;
  /** A seconds attribute in milliseconds. */
  ms(ctx: AgentContext, name: AttrName<D, 'seconds'>): number;
  bool(ctx: AgentContext, name: AttrName<D, 'bool'>): boolean;
  list(ctx: AgentContext, name: AttrName<D, 'stringList' | 'paths'>): string[];
  portMap(ctx: AgentContext, name: AttrName<D, 'portMap'>): Record<string, number>;
  /** A command as argv (core/argv.ts); undefined when unset. */
  command(ctx: AgentContext, name: AttrName<D, 'command'>): string[] | undefined;
  /** The declared default (for a resource that sets none of the attributes it follows). */
  defaultOf(name: AttrName<D>): unknown;
  /** "X is not set" when a required attribute is missing (config loading never lets one through). */
  missing(ctx: AgentContext): string | undefined;
}

export function attrReader<const D extends readonly AttrDecl[]>(own: D): AttrReader<[...D, ...GenericAttributes]> {
  const decls: readonly AttrDecl[] = [...own, ...GENERIC_ATTRIBUTES];
  return {
    decls,
    text: ((ctx: AgentContext, name: string) => textAttr(ctx.attrs, name, decls)) as AttrReader<[...D, ...GenericAttributes]>['text'],
    required: (ctx, name) => {
      const v = textAttr(ctx.attrs, name, decls);
      if (v === undefined) throw new Error(`attribute ${name} is not set (checked by missing() before)`);
      return v;
    },
    number: (ctx, name) => numberAttr(ctx.attrs, name, decls),
    ms: (ctx, name) => numberAttr(ctx.attrs, name, decls) * 1000,
    bool: (ctx, name) => boolAttr(ctx.attrs, name, decls),
    list: (ctx, name) => listAttr(ctx.attrs, name, decls),
    portMap: (ctx, name) => portMapAttr(ctx.attrs, name, decls),
    command: (ctx, name) => commandAttr(ctx.attrs, name, decls),
    defaultOf: (name) => defaultFor(declared(decls, name), {}),
    missing: (ctx) => {
      const unset = decls.filter((d) => d.required && (ctx.attrs[d.name] === undefined || ctx.attrs[d.name] === null || ctx.attrs[d.name] === '')).map((d) => d.name);
      if (unset.length === 0) return undefined;
      return `${unset.length === 1 ? unset[0] : `${unset.slice(0, -1).join(', ')} and ${unset[unset.length - 1]}`} ${unset.length === 1 ? 'is' : 'are'} not set`;
    },
  };
}

/** The generic attributes every type has (timeouts, User, …), for the shared flows. */
export const genericAttr = attrReader([]);

/** User, EnvFile and ContainerName of the resource, for every program it runs. */
export function execBase(ctx: AgentContext, log: Logger): Pick<ExecOptions, 'user' | 'envFile' | 'containerName' | 'log'> {
  return {
    user: genericAttr.text(ctx, 'User'),
    envFile: genericAttr.text(ctx, 'EnvFile'),
    containerName: genericAttr.text(ctx, 'ContainerName'),
    log,
  };
}
