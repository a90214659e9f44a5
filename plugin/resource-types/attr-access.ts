/**
 * Typed reads of a resource's attributes (already defaulted by config loading) and the exec
 * options every program of the resource shares (User, EnvFile, ContainerName).
 */
import type { ExecOptions } from '../core/exec';
import type { AgentContext } from './contract';
import type { Logger } from '../core/log';

export function attrString(ctx: AgentContext, name: string): string | undefined {
  const v = ctx.attrs[name];
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

export function attrNumber(ctx: AgentContext, name: string, fallback: number): number {
  const v = ctx.attrs[name];
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : fallback;
}

export function attrBool(ctx: AgentContext, name: string, fallback = false): boolean {
  const v = ctx.attrs[name];
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 1) return true;
  if (v === 'false' || v === 0) return false;
  return fallback;
}

export function attrPortMap(ctx: AgentContext, name: string): Record<string, number> {
  const v = ctx.attrs[name];
  const out: Record<string, number> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, p] of Object.entries(v as Record<string, unknown>)) {
      const n = Number(p);
      if (Number.isInteger(n)) out[k] = n;
    }
  }
  return out;
}

export function attrList(ctx: AgentContext, name: string): string[] {
  const v = ctx.attrs[name];
  if (Array.isArray(v)) return v.map(String).filter(Boolean);
  if (typeof v === 'string' && v) return [v];
  return [];
}

/** Seconds attribute → milliseconds. */
export function attrMs(ctx: AgentContext, name: string, fallbackSeconds: number): number {
  return attrNumber(ctx, name, fallbackSeconds) * 1000;
}

/** User, EnvFile and ContainerName of the resource, for every program it runs. */
export function execBase(ctx: AgentContext, log: Logger): Pick<ExecOptions, 'user' | 'envFile' | 'containerName' | 'log'> {
  return {
    user: attrString(ctx, 'User'),
    envFile: attrString(ctx, 'EnvFile'),
    containerName: attrString(ctx, 'ContainerName'),
    log,
  };
}
