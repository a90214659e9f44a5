/**
 * Bad cluster files (issue 10, item 8), written to disk and loaded the way `msgha validate`, the
 * coordinator and the agents load them. Every file holds its own defect and, independently, a
 * second one (resource `other`: RestartLimit -1): both must be reported, each naming where it is,
 * the attribute and the rule; never an internal error, never a stack, never a raw control
 * character.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCluster } from '../../../plugin/config/load';
import { formatProblem, type Problem } from '../../../plugin/model/problems';

interface Expected { where: string; attribute: string; message: RegExp }
interface Case {
  name: string;
  /** The file: JSON text (or bytes) of the mutated base, or a .js module's body mutating `d`. */
  json?: (d: Base) => string | Buffer;
  js?: string;
  expect: Expected;
}

type Base = { cluster: Record<string, unknown>; groups: Record<string, { resources: Record<string, Record<string, unknown>> } & Record<string, unknown>> };

function base(): Base {
  return {
    cluster: { name: 'mail', nodes: ['mx1', 'mx2'], sharedDir: '/shared/msgha' },
    groups: {
      g: {
        resources: {
          a: { type: 'Application', StartProgram: '/bin/true', PidFiles: ['/run/a.pid'], MonitorProcesses: ['/bin/true'] },
          other: { type: 'Application', StartProgram: '/bin/true', PidFiles: ['/run/o.pid'], MonitorProcesses: ['/bin/true'], RestartLimit: -1 },
        },
      },
    },
  };
}

const SECOND: Expected = { where: 'g/other', attribute: 'RestartLimit', message: /must be ≥ 0, got -1/ };

/** JSON of the base after `mutate`. */
const json = (mutate: (d: Base) => void) => (d: Base): string => { mutate(d); return JSON.stringify(d, null, 2); };
/** JSON text of the base with `from` replaced by `to` (for what JSON.stringify cannot write: duplicates, raw bytes). */
const jsonText = (from: string, to: string) => (d: Base): string => {
  const text = JSON.stringify(d, null, 2);
  if (!text.includes(from)) throw new Error(`test bug: ${from} not in the base`);
  return text.replace(from, to);
};
const withBytes = (before: string, bytes: number[]) => (d: Base): Buffer => {
  const text = JSON.stringify(d, null, 2);
  const i = text.indexOf(before) + before.length;
  return Buffer.concat([Buffer.from(text.slice(0, i)), Buffer.from(bytes), Buffer.from(text.slice(i))]);
};
const a = (d: Base): Record<string, unknown> => d.groups.g!.resources.a!;

const CASES: Case[] = [
  // Prototype names where a name indexes a table.
  { name: 'type "toString"', json: json((d) => { a(d).type = 'toString'; }), expect: { where: 'g/a', attribute: 'type', message: /unknown resource type "toString"/ } },
  { name: 'type "__proto__"', json: json((d) => { a(d).type = '__proto__'; }), expect: { where: 'g/a', attribute: 'type', message: /unknown resource type "__proto__"/ } },
  { name: 'type "constructor"', json: json((d) => { a(d).type = 'constructor'; }), expect: { where: 'g/a', attribute: 'type', message: /unknown resource type "constructor"/ } },
  { name: 'type "hasOwnProperty" in a .js file', js: `d.groups.g.resources.a.type = 'hasOwnProperty';`, expect: { where: 'g/a', attribute: 'type', message: /unknown resource type "hasOwnProperty"/ } },
  { name: 'an attribute named "__proto__" (JSON keeps it as a key)', json: jsonText('"type": "Application",', '"__proto__": { "StartProgram": "/tmp/x" }, "type": "Application",'),
    expect: { where: 'g/a', attribute: '__proto__', message: /unknown attribute for type Application/ } },
  { name: 'a group named "__proto__"', json: jsonText('"g": {', '"__proto__": { "resources": { "z": { "type": "IP" } } }, "g": {'), expect: { where: '__proto__', attribute: '', message: /group name "__proto__" must be letters/ } },
  { name: 'a resource named "constructor" of type "valueOf"', json: json((d) => { (d.groups.g!.resources as Record<string, unknown>)['constructor'] = { type: 'valueOf' }; }),
    expect: { where: 'g/constructor', attribute: 'type', message: /unknown resource type "valueOf"/ } },
  { name: 'requires "__proto__"', json: json((d) => { a(d).requires = ['__proto__']; }), expect: { where: 'g/a', attribute: 'requires', message: /no resource __proto__ in group g/ } },
  { name: 'dependsOn a group "toString"', json: json((d) => { d.groups.g!.dependsOn = [{ group: 'toString', kind: 'online-global-soft' }]; }),
    expect: { where: 'g', attribute: 'dependsOn', message: /group toString does not exist/ } },
  { name: 'lease.profile "valueOf"', json: json((d) => { d.cluster.lease = { profile: 'valueOf' }; }), expect: { where: 'cluster', attribute: 'lease.profile', message: /must be one of nfs, local, fast/ } },
  { name: 'ResLogLevel "constructor"', json: json((d) => { a(d).ResLogLevel = 'constructor'; }), expect: { where: 'g/a', attribute: 'ResLogLevel', message: /must be one of ERROR, WARN, INFO, TRACE/ } },

  // Array holes (.js only).
  { name: 'hole in cluster.nodes', js: `d.cluster.nodes = ['mx1', , 'mx2'];`, expect: { where: 'cluster', attribute: 'nodes', message: /has a hole at \[1\] \(two commas in a row\)/ } },
  { name: 'hole in PidFiles (was an internal error)', js: `d.groups.g.resources.a.PidFiles = ['/run/a.pid', , '/run/b.pid'];`, expect: { where: 'g/a', attribute: 'PidFiles', message: /has a hole at \[1\]/ } },
  { name: 'hole in a StartProgram argv', js: `d.groups.g.resources.a.StartProgram = ['/bin/true', , '-x'];`, expect: { where: 'g/a', attribute: 'StartProgram', message: /has a hole at \[1\]/ } },
  { name: 'hole in requires', js: `d.groups.g.resources.a.requires = [, 'other'];`, expect: { where: 'g/a', attribute: 'requires', message: /has a hole at \[0\]/ } },
  { name: 'holes in systemList', js: `d.groups.g.systemList = ['mx1', , , 'mx2'];`, expect: { where: 'g', attribute: 'systemList', message: /has holes at \[1, 2\]/ } },
  { name: 'hole in dependsOn', js: `d.groups.g.dependsOn = [, ];`, expect: { where: 'g', attribute: 'dependsOn', message: /has a hole at \[0\]/ } },
  { name: 'hole in MonitorProcesses', js: `d.groups.g.resources.a.MonitorProcesses = ['/bin/true', , ];`, expect: { where: 'g/a', attribute: 'MonitorProcesses', message: /has a hole at \[1\]/ } },

  // What only a .js file can hand over.
  { name: 'a getter that throws', js: `Object.defineProperty(d.groups.g.resources.a, 'MonitorInterval', { enumerable: true, get() { throw new Error('boom'); } });`,
    expect: { where: 'g/a', attribute: 'MonitorInterval', message: /cannot be read: boom/ } },
  { name: 'a value that refers to itself', js: `const o = {}; o.self = o; d.groups.g.resources.a.ProbeServices = o;`, expect: { where: 'g/a', attribute: 'ProbeServices.self', message: /refers to itself \(a cycle\)/ } },
  { name: 'a BigInt timeout', js: `d.groups.g.resources.a.OnlineTimeout = 10n;`, expect: { where: 'g/a', attribute: 'OnlineTimeout', message: /must be a whole number of seconds, got 10n \(a BigInt\)/ } },
  { name: 'groups as a Map', js: `d.groups = new Map([['g', d.groups.g]]); d.cluster.lease = { profile: 'slow' };`, expect: { where: 'file', attribute: 'groups', message: /must be an object/ } },
  { name: 'a function as a command', js: `d.groups.g.resources.a.StopProgram = () => '/bin/true';`, expect: { where: 'g/a', attribute: 'StopProgram', message: /got a function/ } },
  { name: 'a list of 5000 nodes', js: `d.cluster.nodes = Array.from({ length: 5000 }, (_, i) => 'n' + i);`, expect: { where: 'cluster', attribute: 'nodes', message: /has 5000 entries, more than 4096/ } },

  // Timers above 2^31−1 ms.
  { name: 'OnlineTimeout 2,147,484 s (the audit\'s 41 ms start failure)', json: json((d) => { a(d).OnlineTimeout = 2_147_484; }),
    expect: { where: 'g/a', attribute: 'OnlineTimeout', message: /must be ≤ 2147423 s .*2\^31−1 ms.*got 2147484/ } },
  { name: 'MonitorInterval 1e300', json: json((d) => { a(d).MonitorInterval = 1e300; }), expect: { where: 'g/a', attribute: 'MonitorInterval', message: /must be ≤ 2147423 s/ } },
  { name: 'ConfInterval 2^31 s', json: json((d) => { a(d).ConfInterval = 2 ** 31; }), expect: { where: 'g/a', attribute: 'ConfInterval', message: /must be ≤ 2147423 s/ } },
  { name: 'OfflineTimeout + CleanTimeout above the limit together', json: json((d) => { a(d).OfflineTimeout = 2_000_000; a(d).CleanTimeout = 200_000; }),
    expect: { where: 'g/a', attribute: 'OfflineTimeout', message: /OfflineTimeout \+ CleanTimeout is 2200000 s, more than 2147423 s/ } },

  // Duplicate JSON keys.
  { name: 'cluster.name given twice', json: jsonText('"name": "mail",', '"name": "mail", "name": "post",'), expect: { where: 'cluster', attribute: 'name', message: /given twice in one JSON object \(lines 3 and 3\): JSON keeps only the last one/ } },
  { name: 'an attribute given twice', json: jsonText('"StartProgram": "/bin/true",', '"StartProgram": "/bin/true",\n"StartProgram": "/tmp/other",'),
    expect: { where: 'g/a', attribute: 'StartProgram', message: /given twice in one JSON object \(lines 15 and 16\)/ } },
  { name: 'a key given twice, once escaped ("\\u0055ser" is "User")', json: jsonText('"type": "Application",', '"type": "Application", "User": "mail", "\\u0055ser": "root",'),
    expect: { where: 'g/a', attribute: 'User', message: /given twice/ } },
  { name: 'a resource defined twice', json: jsonText('"resources": {', '"resources": {\n"other": { "type": "IP" },'), expect: { where: 'g/other', attribute: '', message: /given twice/ } },
  { name: 'the groups section twice', json: jsonText('"groups": {', '"groups": {},\n"groups": {'), expect: { where: 'file', attribute: 'groups', message: /given twice/ } },

  // Bytes that are not UTF-8.
  { name: 'a 0xff byte in a string', json: withBytes('"name": "mail', [0xff]), expect: { where: 'file', attribute: '', message: /not valid UTF-8: byte 0xff at byte offset \d+ \(line 3\)/ } },
  { name: 'an overlong encoding of "/"', json: withBytes('"/run/a.pid', [0xc0, 0xaf]), expect: { where: 'file', attribute: '', message: /not valid UTF-8: byte 0xc0/ } },
  { name: 'an encoded surrogate', json: withBytes('"mail', [0xed, 0xa0, 0x80]), expect: { where: 'file', attribute: '', message: /not valid UTF-8: byte 0xed/ } },
  { name: 'a truncated sequence in a .js file', js: `d.groups.g.resources.a.ProbeUser = 'caf\u00c3';`, expect: { where: 'file', attribute: '', message: /not valid UTF-8: byte 0xc3/ } },

  // Charsets: User, ContainerName, names with control characters.
  { name: 'User with shell syntax', json: json((d) => { a(d).User = 'mail;rm -rf /'; }), expect: { where: 'g/a', attribute: 'User', message: /must be a POSIX user name/ } },
  { name: 'User starting with -', json: json((d) => { a(d).User = '-froot'; }), expect: { where: 'g/a', attribute: 'User', message: /must be a POSIX user name/ } },
  { name: 'User longer than 32', json: json((d) => { a(d).User = 'u'.repeat(40); }), expect: { where: 'g/a', attribute: 'User', message: /at most 32/ } },
  { name: 'ContainerName "../../../proc/1/ns/net"', json: json((d) => { a(d).ContainerName = '../../../proc/1/ns/net'; }), expect: { where: 'g/a', attribute: 'ContainerName', message: /must be a plain network namespace name/ } },
  { name: 'ContainerName ".."', json: json((d) => { a(d).ContainerName = '..'; }), expect: { where: 'g/a', attribute: 'ContainerName', message: /plain network namespace name/ } },
  { name: 'ContainerName "/var/run/netns/x"', json: json((d) => { a(d).ContainerName = '/var/run/netns/x'; }), expect: { where: 'g/a', attribute: 'ContainerName', message: /never a path/ } },
  { name: 'a group name with an escape sequence', json: json((d) => { d.groups['g\u001b[2J'] = d.groups.g!; }), expect: { where: 'g\\x1b[2J', attribute: '', message: /group name "g\\x1b\[2J" must be letters/ } },
  { name: 'a resource name with a bell and a newline', json: json((d) => { d.groups.g!.resources['r\u0007\n'] = { type: 'Application', StartProgram: '/bin/true' }; }),
    expect: { where: 'g/r\\x07\\x0a', attribute: '', message: /resource name "r\\x07\\x0a" must be letters/ } },
  { name: 'a node name with a carriage return', json: json((d) => { d.cluster.nodes = ['mx1', 'mx2\r']; }), expect: { where: 'cluster', attribute: 'nodes', message: /"mx2\\r" is not a valid node name/ } },
  { name: 'an unknown attribute with a right-to-left override', json: json((d) => { a(d)['Start\u202eProgram'] = '/bin/true'; }), expect: { where: 'g/a', attribute: 'Start\\u202eProgram', message: /unknown attribute/ } },
  { name: 'a path with a newline', json: json((d) => { a(d).PidFiles = ['/run/a\n.pid']; }), expect: { where: 'g/a', attribute: 'PidFiles', message: /\[0\]: must not contain control characters/ } },
  { name: 'an EnvFile with a NUL', json: json((d) => { a(d).EnvFile = '/etc/msgha/x\u0000.env'; }), expect: { where: 'g/a', attribute: 'EnvFile', message: /must not contain control characters \(NUL/ } },
  { name: 'a program path with an escape', json: json((d) => { a(d).StartProgram = ['/bin/tr\u001bue']; }), expect: { where: 'g/a', attribute: 'StartProgram', message: /must not contain control characters/ } },
  { name: 'a relative EnvFile', json: json((d) => { a(d).EnvFile = 'env/mail.env'; }), expect: { where: 'g/a', attribute: 'EnvFile', message: /must be an absolute path/ } },
  { name: 'nesting 40 levels deep', json: json((d) => { let v: unknown = 1; for (let i = 0; i < 40; i++) v = { x: v }; a(d).ProbeServices = v; }),
    expect: { where: 'g/a', attribute: 'ProbeServices.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x', message: /nested more than 32 levels deep/ } },
];

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), `mh-badfiles-${process.pid}-`)); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(c: Case, i: number): string {
  if (c.json) {
    const file = path.join(dir, `case-${i}.json`);
    fs.writeFileSync(file, c.json(base()));
    return file;
  }
  const file = path.join(dir, `case-${i}.config.js`);
  fs.writeFileSync(file, `const d = ${JSON.stringify(base())};\n${c.js}\nmodule.exports = d;\n`, 'latin1');
  return file;
}

const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('bad cluster files: every problem named, none hidden', () => {
  it(`has at least 40 cases (${CASES.length})`, () => expect(CASES.length).toBeGreaterThanOrEqual(40));

  CASES.forEach((c, i) => {
    it(c.name, async () => {
      const file = write(c, i);
      const { cluster, problems } = await loadCluster(file);
      const shown = problems.map(formatProblem).join('\n');
      const has = (e: Expected): boolean => problems.some((p: Problem) => p.severity === 'error' && p.where === e.where && p.attribute === e.attribute && e.message.test(p.message));
      expect(cluster).toBeUndefined();
      expect(has(c.expect), `expected ${e(c.expect)} in:\n${shown}`).toBe(true);
      // Groups as a Map hides the groups, and with them `other`: its second problem is elsewhere.
      const second = c.name === 'groups as a Map' ? { where: 'cluster', attribute: 'lease.profile', message: /must be one of/ } : SECOND;
      expect(has(second), `expected the independent ${e(second)} in:\n${shown}`).toBe(true);
      expect(shown).not.toMatch(/internal|Cannot read properties|\n\s+at \S+ \(/);
      for (const p of problems) expect(formatProblem(p)).not.toMatch(UNPRINTABLE);
    });
  });
});

function e(x: Expected): string {
  return `${x.where}: ${x.attribute}: ${x.message}`;
}
