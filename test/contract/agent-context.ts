/**
 * Test helper: builds a ResolvedResource (defaults applied from the type's declarations, as config
 * loading does) and an AgentContext. Secrets come, as in production, from the resource's
 * `enc:v1:` attribute values decrypted with the cluster key file (`keyFile`), or else from the
 * clear values given in `secrets`.
 */
import { getResourceType } from '../../plugin/resource-types';
import type { AgentContext } from '../../plugin/resource-types/contract';
import type { ResolvedResource } from '../../plugin/model/cluster-types';
import { createLogger, type LogLevel } from '../../plugin/core/log';
import { createSecretResolver } from '../../plugin/secrets';

export function resolvedResource(type: string, name: string, attrs: Record<string, unknown>, group = 'test'): ResolvedResource {
  const desc = getResourceType(type);
  if (!desc) throw new Error(`unknown type ${type}`);
  const full: Record<string, unknown> = {};
  for (const a of desc.attributes) if (a.default !== undefined) full[a.name] = structuredClone(a.default);
  Object.assign(full, attrs);
  return { id: `${group}.${name}`, group, name, type, requires: [], attrs: full };
}

export interface TestContextOptions {
  /** Cluster key file: secret attributes are decrypted with it at the moment of use. */
  keyFile?: string;
  secrets?: Record<string, string>;
  signal?: AbortSignal;
  level?: LogLevel;
  /** Collects log lines (for assertions that a secret never reaches the log). */
  lines?: string[];
  /** The node's name (default test-node). */
  node?: string;
}

export function agentContext(resource: ResolvedResource, opts: TestContextOptions = {}): AgentContext {
  const lines = opts.lines;
  const log = createLogger(resource.id, 'agent', opts.level ?? (process.env.MSGHA_TEST_TRACE ? 'TRACE' : 'WARN'), (line) => {
    lines?.push(line);
    if (process.env.MSGHA_TEST_TRACE) process.stderr.write(line + '\n');
  });
  return {
    resource,
    attrs: resource.attrs,
    log,
    signal: opts.signal ?? new AbortController().signal,
    secret: opts.keyFile ? secretsFromKeyFile(resource, opts.keyFile) : async (attr) => opts.secrets?.[attr],
    node: opts.node ?? 'test-node',
  };
}

function secretsFromKeyFile(resource: ResolvedResource, keyFile: string): AgentContext['secret'] {
  const resolve = createSecretResolver({ settings: { name: 'test', nodes: ['local'], keyFile } });
  return (attr) => resolve(resource.attrs[attr], { group: resource.group, resource: resource.name, attribute: attr });
}
