/**
 * One checker per attribute kind (attributes.ts `AttrKind`). A checker looks at one value only;
 * rules that tie several attributes together are the types' own (plugin/resource-types, run
 * by type-rules.ts), those across resources live in cluster-rules.ts. Messages never quote a secret's value.
 */
import * as path from 'node:path';
import type { AttrDecl } from '../model/attributes';
import { suggestion } from './did-you-mean';
import { hasControlChar, isHost, MAX_TIMER_SECONDS, pathProblem } from '../model/values';
import { parseArgv } from '../core/argv';
import { looksEncrypted, secretFormatProblem } from '../secrets/format';

export interface Issue {
  severity: 'error' | 'warning';
  message: string;
  hint?: string;
}

const error = (message: string, hint?: string): Issue[] => [{ severity: 'error', message, hint }];

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return `${value}n (a BigInt)`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return value.length > 40 ? `"${value.slice(0, 37)}…"` : `"${value}"`;
  if (typeof value === 'object') {
    let name: unknown;
    try { name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name; } catch { /* a proxy: plain words */ }
    return typeof name === 'string' && name !== 'Object' && /^[A-Za-z_$][\w$]{0,40}$/.test(name) ? `a ${name} object` : 'an object';
  }
  return String(value);
}

function checkInteger(decl: AttrDecl, value: unknown, what: string): Issue[] {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    const hint = typeof value === 'string' && /^\d+$/.test(value) ? `write ${value} without quotes` : undefined;
    return error(`must be ${what}, got ${describe(value)}`, hint);
  }
  if (decl.min !== undefined && value < decl.min) return error(`must be ≥ ${decl.min}, got ${value}`);
  if (decl.max !== undefined && value > decl.max) return error(`must be ≤ ${decl.max}, got ${value}`);
  if (decl.kind === 'seconds' && value > MAX_TIMER_SECONDS) {
    return error(`must be ≤ ${MAX_TIMER_SECONDS} s (24.8 days: the longest timer Node holds is 2^31−1 ms, and a longer one fires at once), got ${value}`);
  }
  return [];
}

export function checkPort(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) return `must be a port number, got ${describe(value)}`;
  if (value < 1 || value > 65535) return `port ${value} is outside 1–65535`;
  return undefined;
}

function checkPath(value: unknown): Issue[] {
  const problem = pathProblem(value);
  if (!problem) return [];
  return error(`${problem}, got ${describe(value)}`, typeof value === 'string' && value !== '' && !path.isAbsolute(value) ? 'start it with /' : undefined);
}

/** A non-empty string without control characters, matching the declaration's pattern if it has one. */
function checkString(decl: AttrDecl, value: unknown): Issue[] {
  if (typeof value !== 'string' || value === '') return error(`must be a non-empty string, got ${describe(value)}`);
  if (decl.pattern && !decl.pattern.regex.test(value)) return error(`must be ${decl.pattern.rule}, got ${describe(value)}`);
  if (hasControlChar(value)) return error(`must not contain control characters (newline, escape, …), got ${describe(value)}`);
  return [];
}

function checkCommand(value: unknown): Issue[] {
  const parsed = parseArgv(value);
  if (!parsed.ok) {
    return error(parsed.why === 'unclosed quote' ? 'has an unclosed quote' : `must be a command line (string) or an argv list, got ${describe(value)}`);
  }
  const argv = parsed.argv;
  if (argv.length === 0 || argv[0] === '') return error('is empty');
  if (!path.isAbsolute(argv[0]!)) return error(`program "${argv[0]}" must be an absolute path`, 'commands run without a shell and without PATH lookup');
  if (hasControlChar(argv[0]!)) return error(`program ${describe(argv[0])} must not contain control characters`);
  if (typeof value === 'string' && /[|;&$`<>]/.test(value)) {
    return [{ severity: 'warning', message: 'contains shell syntax (| ; & $ ` < >), but commands are run without a shell', hint: 'wrap it in a script if you need a shell' }];
  }
  return [];
}

function checkSecret(value: unknown): Issue[] {
  if (typeof value !== 'string' || value === '') return error('must be a string (enc:v1:… from `msgha encrypt`)');
  if (looksEncrypted(value)) {
    const problem = secretFormatProblem(value);
    return problem ? error(problem, 'encrypt it again with `msgha encrypt`') : [];
  }
  return [{ severity: 'warning', message: 'password given in clear text', hint: 'encrypt it with `msgha encrypt --cluster FILE --for group.resource.Attribute` and paste the enc:v2:… value' }];
}

/** Checks one value against its declaration. `value` is never undefined here. */
export function checkAttribute(decl: AttrDecl, value: unknown): Issue[] {
  switch (decl.kind) {
    case 'string':
      return checkString(decl, value);
    case 'path':
      return checkPath(value);
    case 'paths':
      if (Array.isArray(value)) {
        if (value.length === 0) return error('must list at least one absolute path');
        return value.flatMap((v, i) => checkPath(v).map((issue) => ({ ...issue, message: `[${i}]: ${issue.message}` })));
      }
      return checkPath(value);
    case 'host':
      if (typeof value !== 'string' || !isHost(value)) {
        return error(`must be a host name (FQDN or short name) or an IPv4 address, got ${describe(value)}`);
      }
      return [];
    case 'int':
      return checkInteger(decl, value, 'an integer');
    case 'seconds':
      return checkInteger(decl, value, 'a whole number of seconds');
    case 'port': {
      const problem = checkPort(value);
      return problem ? error(problem) : [];
    }
    case 'bool':
      return typeof value === 'boolean' ? [] : error(`must be true or false, got ${describe(value)}`);
    case 'enum': {
      const values = decl.values ?? [];
      if (typeof value === 'string' && values.includes(value)) return [];
      return error(`must be one of ${values.join(', ')}, got ${describe(value)}`, typeof value === 'string' ? suggestion(value, values) || undefined : undefined);
    }
    case 'portMap': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return error(`must be a map of service → port, e.g. { imap: 143 }, got ${describe(value)}`);
      }
      const issues: Issue[] = [];
      for (const [service, port] of Object.entries(value)) {
        const problem = checkPort(port);
        if (problem) issues.push({ severity: 'error', message: `${service}: ${problem}` });
      }
      return issues;
    }
    case 'stringList':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) {
        return error(`must be a list of non-empty strings, got ${describe(value)}`);
      }
      return value.flatMap((v: string, i) => (hasControlChar(v) ? error(`[${i}]: must not contain control characters, got ${describe(v)}`) : []));
    case 'secret':
      return checkSecret(value);
    case 'command':
      return checkCommand(value);
  }
}
