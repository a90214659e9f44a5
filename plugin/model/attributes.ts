/**
 * Attribute declarations: every configuration key of every resource type is declared exactly
 * once, here or in its type's file. Validation, defaults and `msgha explain` are all derived
 * from these declarations, so a key can never be documented one way and checked another.
 */
import { toArgv } from '../core/argv';
import { NETNS_NAME, USER_NAME } from '../core/exec';

/** The value kinds an attribute can have; each kind has one checker in validate-attribute.ts. */
export type AttrKind =
  | 'string'
  | 'path' // absolute file-system path
  | 'paths' // one absolute path, or a list of them
  | 'host' // FQDN, short host name or IPv4 address
  | 'int'
  | 'seconds' // integer number of seconds
  | 'port' // integer 1–65535
  | 'bool'
  | 'enum'
  | 'portMap' // { service: port }, e.g. MsgServices
  | 'stringList'
  | 'secret' // 'enc:v2:…' (or enc:v1, warned) (or clear text, which is accepted with a warning)
  | 'command'; // absolute program path followed by arguments: string or string[]

export interface AttrDecl {
  /** The key in the cluster file, spelled as the seed products spelled it. */
  name: string;
  kind: AttrKind;
  /** One or two sentences for `msgha explain`: what it does, not how it is checked. */
  doc: string;
  required?: boolean;
  default?: unknown;
  /** Allowed values for kind 'enum'. */
  values?: readonly string[];
  /** Inclusive bounds for numeric kinds. */
  min?: number;
  max?: number;
  /** Unit shown in the documentation, e.g. 's'. */
  unit?: string;
  /** For kind 'string': the characters the value may have, and the rule in words for messages. */
  pattern?: { regex: RegExp; rule: string };
  /** Example value shown in the documentation. */
  example?: unknown;
  /**
   * A default that follows other attributes of the same resource (applied after the plain
   * defaults, so it sees them): `rule` is how `msgha explain` states it, `of` computes it.
   * `default` stays the value for a resource that sets none of the attributes it follows.
   */
  derivedDefault?: { rule: string; of(attrs: Readonly<Record<string, unknown>>): unknown };
  /** For kind 'command': run before the group's shared disk is mounted, so it lives on each node's own disk. */
  runsBeforeMount?: true;
}

/** A resource type as validation and `msgha explain` see it. */
export interface TypeDescriptor {
  name: string;
  summary: string;
  /** Type-specific attributes followed by the generic ones. */
  attributes: readonly AttrDecl[];
}

/** Why 0.8: the monitor must end before the next cycle is due; 10 s × 0.8 = the 8 s cap. */
const MONITOR_TIMEOUT_SHARE = 0.8;
const MONITOR_TIMEOUT_CAP = 8;

/** MonitorTimeout when not set: 80 % of MonitorInterval (whole seconds, at least 1), at most 8 s. */
export function defaultMonitorTimeout(monitorInterval: unknown): number {
  const interval = typeof monitorInterval === 'number' && Number.isFinite(monitorInterval) && monitorInterval > 0 ? monitorInterval : 10;
  return Math.min(MONITOR_TIMEOUT_CAP, Math.max(1, Math.floor(interval * MONITOR_TIMEOUT_SHARE)));
}

/** The value a declaration gives a resource that does not set it (derived, else plain default). */
export function defaultFor(decl: AttrDecl, attrs: Readonly<Record<string, unknown>>): unknown {
  return decl.derivedDefault ? decl.derivedDefault.of(attrs) : decl.default;
}

/**
 * Generic attributes of every resource. Our defaults are modern ones: the seed's
 * cluster manager checked every 60 s and waited 300 s; we check every 10 s and wait 120 s.
 */
const GENERIC = [
  { name: 'MonitorInterval', kind: 'seconds', default: 10, min: 1, unit: 's',
    doc: 'Seconds between two monitor cycles while the resource is online on this node.' },
  { name: 'OfflineMonitorInterval', kind: 'seconds', default: 60, min: 0, unit: 's',
    doc: 'Seconds between two checks, on nodes that do not hold the group, that the resource is NOT running there (0 = never).' },
  { name: 'OnlineTimeout', kind: 'seconds', default: 120, min: 1, unit: 's',
    doc: 'Longest time the online function may take, start command and wait for ONLINE included.' },
  { name: 'OfflineTimeout', kind: 'seconds', default: 120, min: 1, unit: 's',
    doc: 'Longest time the offline function may take before what is left of the instance is killed.' },
  { name: 'MonitorTimeout', kind: 'seconds', default: MONITOR_TIMEOUT_CAP, min: 1, unit: 's',
    derivedDefault: { rule: `${MONITOR_TIMEOUT_SHARE * 100} % of MonitorInterval (whole seconds, at least 1), at most ${MONITOR_TIMEOUT_CAP}`, of: (a) => defaultMonitorTimeout(a.MonitorInterval) },
    doc: 'Longest time one monitor cycle may take; a cycle that overruns reports UNKNOWN. Unset, it follows MonitorInterval, so lowering MonitorInterval alone is enough.' },
  { name: 'CleanTimeout', kind: 'seconds', default: 60, min: 1, unit: 's',
    doc: 'Longest time the clean function may take.' },
  { name: 'RestartLimit', kind: 'int', default: 3, min: 0,
    doc: 'How many times a faulted critical resource is restarted in place (within ConfInterval) before the group is faulted on this node.' },
  { name: 'OnlineRetryLimit', kind: 'int', default: 1, min: 0,
    doc: 'How many times a failed first online (bringing the group up, not a restart in place) is cleaned and tried again before the resource counts as failed (a critical one then faults the group on this node). Not retried when the agent reports a configuration error.' },
  { name: 'ConfInterval', kind: 'seconds', default: 600, min: 1, unit: 's',
    doc: 'Window for RestartLimit: restarts older than this are forgotten.' },
  { name: 'ToleranceLimit', kind: 'int', default: 0, min: 0,
    doc: 'Consecutive monitor cycles that may report OFFLINE before the resource is declared FAULTED.' },
  { name: 'Critical', kind: 'bool', default: true,
    doc: 'A fault of a critical resource restarts it and, beyond RestartLimit, faults the group; a non-critical one only faults itself.' },
  { name: 'User', kind: 'string', pattern: { regex: USER_NAME, rule: 'a POSIX user name (letters, digits, ., _ and -, not starting with - or a digit, at most 32) or a numeric uid' },
    doc: 'Run the start, stop and monitor programs as this UNIX user (default: the agent\'s user).' },
  { name: 'EnvFile', kind: 'path',
    doc: 'File of KEY=VALUE lines added to the environment of every program the agent runs (not a shell script: no expansion).' },
  { name: 'ContainerName', kind: 'string', pattern: { regex: NETNS_NAME, rule: 'a plain network namespace name (letters, digits, ., _ and -, not starting with . or -, at most 63; never a path)' },
    doc: 'Run the programs inside this named network namespace (`ip netns`), as the seed ran them in a zone.' },
  { name: 'ResLogLevel', kind: 'enum', default: 'INFO', values: ['ERROR', 'WARN', 'INFO', 'TRACE'],
    doc: 'Log level of this resource\'s agent; TRACE logs every command and probe phase.' },
  { name: 'SecondLevelMonitor', kind: 'int', default: 0, min: 0,
    doc: 'Deep (protocol) check cadence: 0 = never, 1 = every monitor cycle, N = every N-th cycle.' },
  { name: 'MonitorProgram', kind: 'command',
    doc: 'Absolute path of your own check program, with arguments; run after the built-in checks pass. Exit 110 or 0 = ONLINE, 100 or 1 = OFFLINE, other = UNKNOWN.' },
  { name: 'ProbeCAFile', kind: 'path', example: '/etc/msgha/mail-ca.pem',
    doc: 'PEM file of the CA certificates a deep check trusts when it logs in over TLS (imaps, pops, https, ldaps, STARTTLS); unset: the system CAs. Read at each check.' },
  { name: 'ProbeSSLVerify', kind: 'bool', default: true,
    doc: 'A deep check that logs in over TLS first verifies the server certificate and host name. false sends the test password to whoever answers on the port (msgha validate warns). Checks without a login never verify.' },
] as const satisfies readonly AttrDecl[];

export const GENERIC_ATTRIBUTES: readonly AttrDecl[] = GENERIC;
/** The generic declarations with their literal names and kinds (for typed readers). */
export type GenericAttributes = typeof GENERIC;

/** Names among declarations `D` (of kind `K`): a literal union when `D` is declared `as const`. */
export type AttrName<D extends readonly AttrDecl[], K extends AttrKind = AttrKind> = Extract<D[number], { kind: K }>['name'];

/** Keys of a resource entry that are not attributes of its type. */
export const RESOURCE_META_KEYS: readonly string[] = ['type', 'requires'];

/**
 * Reading an attribute through its declaration: the resource's value when it is set and of the
 * declared kind (within min/max, among the enum values), else the declared (or derived)
 * default. No caller restates a default, so a default changed here changes everywhere. An
 * undeclared name, or a reader of the wrong kind, is a bug in our code: it throws.
 */
export function declared(decls: readonly AttrDecl[], name: string, kinds?: ReadonlySet<AttrKind>): AttrDecl {
  const decl = decls.find((d) => d.name === name);
  if (!decl) throw new Error(`attribute ${name} is not declared`);
  if (kinds && !kinds.has(decl.kind)) throw new Error(`attribute ${name} is of kind ${decl.kind}, not ${[...kinds].join(' or ')}`);
  return decl;
}

const NUMBER_KINDS = new Set(['int', 'seconds', 'port'] as const);
const BOOL_KINDS = new Set(['bool'] as const);
const TEXT_KINDS = new Set(['string', 'path', 'host', 'enum'] as const);
const LIST_KINDS = new Set(['stringList', 'paths'] as const);
const PORT_MAP_KINDS = new Set(['portMap'] as const);
const COMMAND_KINDS = new Set(['command'] as const);

type Attrs = Readonly<Record<string, unknown>>;

export function numberAttr(attrs: Attrs, name: string, decls: readonly AttrDecl[] = GENERIC_ATTRIBUTES): number {
  const decl = declared(decls, name, NUMBER_KINDS);
  const v = attrs[name];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (Number.isFinite(n) && n >= (decl.min ?? -Infinity) && n <= (decl.max ?? Infinity)) return n;
  return Number(defaultFor(decl, attrs));
}

export function boolAttr(attrs: Attrs, name: string, decls: readonly AttrDecl[] = GENERIC_ATTRIBUTES): boolean {
  const decl = declared(decls, name, BOOL_KINDS);
  const v = attrs[name];
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 1) return true;
  if (v === 'false' || v === 0) return false;
  return defaultFor(decl, attrs) === true;
}

/** A non-empty string (a number is taken as its decimal text); undefined when unset and without a default. */
export function textAttr(attrs: Attrs, name: string, decls: readonly AttrDecl[] = GENERIC_ATTRIBUTES): string | undefined {
  const decl = declared(decls, name, TEXT_KINDS);
  const v = attrs[name];
  const s = typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
  if (s !== undefined && (decl.kind !== 'enum' || (decl.values ?? []).includes(s))) return s;
  const d = defaultFor(decl, attrs);
  return typeof d === 'string' ? d : undefined;
}

/** One value or a list of them: the non-empty strings; the declared default (or none) when unset. */
export function listAttr(attrs: Attrs, name: string, decls: readonly AttrDecl[] = GENERIC_ATTRIBUTES): string[] {
  const decl = declared(decls, name, LIST_KINDS);
  const v = attrs[name] ?? defaultFor(decl, attrs);
  if (Array.isArray(v)) return v.map(String).filter(Boolean);
  return typeof v === 'string' && v ? [v] : [];
}

/** { service: port } with the entries whose port is an integer; the declared default (or {}) when unset. */
export function portMapAttr(attrs: Attrs, name: string, decls: readonly AttrDecl[] = GENERIC_ATTRIBUTES): Record<string, number> {
  const decl = declared(decls, name, PORT_MAP_KINDS);
  const v = attrs[name] ?? defaultFor(decl, attrs);
  const out: Record<string, number> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, p] of Object.entries(v as Record<string, unknown>)) {
      const n = Number(p);
      if (Number.isInteger(n)) out[k] = n;
    }
  }
  return out;
}

/** A command as argv (core/argv.ts); undefined when unset, empty or unparsable. */
export function commandAttr(attrs: Attrs, name: string, decls: readonly AttrDecl[] = GENERIC_ATTRIBUTES): string[] | undefined {
  const decl = declared(decls, name, COMMAND_KINDS);
  return toArgv(attrs[name] ?? defaultFor(decl, attrs));
}
