/**
 * Attribute declarations: every configuration key of every resource type is declared exactly
 * once, here or in its type's file. Validation, defaults and `msgha explain` are all derived
 * from these declarations, so a key can never be documented one way and checked another.
 */

/** The value kinds an attribute can have; each kind has one checker in validate-attribute.ts. */
export type AttrKind =
  | 'string'
  | 'path' // absolute file-system path
  | 'host' // FQDN, short host name or IPv4 address
  | 'int'
  | 'seconds' // integer number of seconds
  | 'port' // integer 1–65535
  | 'bool'
  | 'enum'
  | 'portMap' // { service: port }, e.g. MsgServices
  | 'stringList'
  | 'secret' // 'enc:v1:…' (or clear text, which is accepted with a warning)
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
  /** Example value shown in the documentation. */
  example?: unknown;
}

/**
 * Generic attributes of every resource (SPEC §5). Our defaults are modern ones: the seed's
 * cluster manager checked every 60 s and waited 300 s; we check every 10 s and wait 120 s.
 */
export const GENERIC_ATTRIBUTES: readonly AttrDecl[] = [
  { name: 'MonitorInterval', kind: 'seconds', default: 10, min: 1, unit: 's',
    doc: 'Seconds between two monitor cycles while the resource is online on this node.' },
  { name: 'OfflineMonitorInterval', kind: 'seconds', default: 60, min: 0, unit: 's',
    doc: 'Seconds between two checks, on nodes that do not hold the group, that the resource is NOT running there (0 = never).' },
  { name: 'OnlineTimeout', kind: 'seconds', default: 120, min: 1, unit: 's',
    doc: 'Longest time the online function may take, start command and wait for ONLINE included.' },
  { name: 'OfflineTimeout', kind: 'seconds', default: 120, min: 1, unit: 's',
    doc: 'Longest time the offline function may take before what is left of the instance is killed.' },
  { name: 'MonitorTimeout', kind: 'seconds', default: 8, min: 1, unit: 's',
    doc: 'Longest time one monitor cycle may take; a cycle that overruns reports UNKNOWN.' },
  { name: 'CleanTimeout', kind: 'seconds', default: 60, min: 1, unit: 's',
    doc: 'Longest time the clean function may take.' },
  { name: 'RestartLimit', kind: 'int', default: 3, min: 0,
    doc: 'How many times a faulted critical resource is restarted in place (within ConfInterval) before the group is faulted on this node.' },
  { name: 'ConfInterval', kind: 'seconds', default: 600, min: 1, unit: 's',
    doc: 'Window for RestartLimit: restarts older than this are forgotten.' },
  { name: 'ToleranceLimit', kind: 'int', default: 0, min: 0,
    doc: 'Consecutive monitor cycles that may report OFFLINE before the resource is declared FAULTED.' },
  { name: 'Critical', kind: 'bool', default: true,
    doc: 'A fault of a critical resource restarts it and, beyond RestartLimit, faults the group; a non-critical one only faults itself.' },
  { name: 'User', kind: 'string',
    doc: 'Run the start, stop and monitor programs as this UNIX user (default: the agent\'s user).' },
  { name: 'EnvFile', kind: 'path',
    doc: 'File of KEY=VALUE lines added to the environment of every program the agent runs (not a shell script: no expansion).' },
  { name: 'ContainerName', kind: 'string',
    doc: 'Run the programs inside this named network namespace (`ip netns`), as the seed ran them in a zone.' },
  { name: 'ResLogLevel', kind: 'enum', default: 'INFO', values: ['ERROR', 'WARN', 'INFO', 'TRACE'],
    doc: 'Log level of this resource\'s agent; TRACE logs every command and probe phase.' },
  { name: 'SecondLevelMonitor', kind: 'int', default: 0, min: 0,
    doc: 'Deep (protocol) check cadence: 0 = never, 1 = every monitor cycle, N = every N-th cycle.' },
  { name: 'MonitorProgram', kind: 'command',
    doc: 'Absolute path of your own check program, with arguments; run after the built-in checks pass. Exit 110 or 0 = ONLINE, 100 or 1 = OFFLINE, other = UNKNOWN.' },
];

/** Keys of a resource entry that are not attributes of its type. */
export const RESOURCE_META_KEYS: readonly string[] = ['type', 'requires'];
