/**
 * NIC: the network link of a group's client network, as the classic cluster managers watch it.
 * A fact of the node, not something that runs (`persistent`): online, offline and clean change
 * nothing. The link is up while its Device has carrier and, when ping hosts are known, at least
 * one of them answers; a detached port (carrier up, nothing answers) is down. Ping hosts are
 * PingHosts, else the default gateway of the routes via Device, else none (carrier only).
 *
 * checkLink() is the one check: the holder's agent runs it as monitor (a fault, recovery 'move',
 * fails the group over) and the coordinator's link watch runs it on every node
 * (cluster/link-watch.ts, docs/network.md). It never throws; it ends within PingTimeoutMs plus
 * the time to run `ip` and start `ping` (a few tens of ms), and at once when its signal aborts.
 * Programs run with argv arrays, inside ContainerName's network namespace when set, as root
 * (User and EnvFile are not used: reading a link needs neither).
 */
import { INTERFACE_NAME, isIPv4 } from '../core/net';
import { describeExit, execProgram, outputTail, type ExecOptions, type ExecResult } from '../core/exec';
import type { Logger } from '../core/log';
import type { ActionResult, MonitorResult } from '../core/results';
import { listAttr, numberAttr, textAttr, type AttrDecl } from '../model/attributes';
import { checkInterfaceName } from './rule-helpers';
import { attrReader } from './attr-access';
import { defineType, rule, type AgentContext } from './contract';
import { watchLinkEvents } from './link-events';

const ATTRIBUTES = [
  { name: 'Device', kind: 'string', required: true, example: 'eth0', doc: 'Network interface of the link (the one that carries the group\'s IP).' },
  { name: 'PingHosts', kind: 'stringList', example: ['192.0.2.1', '192.0.2.2'],
    doc: 'IPv4 addresses pinged through Device; the link is up only if one answers. Unset: the default gateway of the routes via Device, or carrier only when there is none. An empty list: carrier only (a detached port is then not seen).' },
  { name: 'PingCount', kind: 'int', default: 1, min: 1, max: 10,
    doc: 'Echo requests sent to each host per check, spread evenly over PingTimeoutMs; an answer to any of them counts.' },
  { name: 'PingTimeoutMs', kind: 'int', default: 800, min: 100, max: 5000, unit: 'ms',
    doc: 'How long a check waits for an answer, in milliseconds. With the time to run the check, it must fit in MonitorTimeout.' },
] as const satisfies readonly AttrDecl[];

const attr = attrReader(ATTRIBUTES);

/** Why 200 ms: running `ip` and starting `ping` (through `ip netns exec` too) before the wait starts. */
export const CHECK_OVERHEAD_MS = 200;
/** Bound of one `ip` call (a hung netlink read must not hold the check). */
const IP_TIMEOUT_MS = 2000;

/** One link to check: what the agent and the coordinator's link watch both run. */
export interface LinkSpec {
  device: string;
  /** The hosts to ping, [] for carrier only, or 'gateway': the default gateways via device, found at each check. */
  pingHosts: string[] | 'gateway';
  pingCount: number;
  pingTimeoutMs: number;
  containerName?: string;
}

/** The verdict of one check. */
export interface LinkCheck {
  /** Carrier, and (no ping host known, or one answered). */
  up: boolean;
  carrier: boolean;
  /** A ping host answered (false: carrier only, or none answered). */
  verified: boolean;
  /** One sentence naming the device (and the hosts). */
  reason: string;
  /** This node's IPv4 addresses on the device, secondary ones (a VIP in the same subnet) left out. */
  addresses: string[];
}

/** The link a NIC resource's attributes describe (defaults applied), or what is wrong with them. */
export function linkSpecOf(attrs: Readonly<Record<string, unknown>>): LinkSpec | string {
  const decls = attr.decls;
  const device = textAttr(attrs, 'Device', decls);
  if (device === undefined) return 'Device is not set';
  if (!INTERFACE_NAME.test(device)) return `Device "${device}" is not a network interface name`;
  let pingHosts: string[] | 'gateway' = 'gateway';
  if (attrs.PingHosts !== undefined && attrs.PingHosts !== null) {
    pingHosts = listAttr(attrs, 'PingHosts', decls);
    const bad = pingHosts.filter((h) => !isIPv4(h));
    if (bad.length > 0) return `PingHosts: ${bad.map((h) => `"${h}"`).join(', ')} ${bad.length === 1 ? 'is not an IPv4 address' : 'are not IPv4 addresses'}`;
  }
  return {
    device, pingHosts,
    pingCount: numberAttr(attrs, 'PingCount', decls),
    pingTimeoutMs: numberAttr(attrs, 'PingTimeoutMs', decls),
    containerName: textAttr(attrs, 'ContainerName', decls),
  };
}

type Opts = { signal: AbortSignal; log?: Logger };

const run = (argv: string[], spec: LinkSpec, o: Opts, timeoutMs: number): Promise<ExecResult> =>
  execProgram(argv, { containerName: spec.containerName, timeoutMs, signal: o.signal, log: o.log } satisfies ExecOptions);

interface DeviceState { exists: boolean; carrier: boolean; adminUp: boolean; addresses: string[]; error?: string }

/** Carrier and addresses from one `ip -j addr show dev X` (the same flags and operstate as `ip link`). */
async function readDevice(spec: LinkSpec, o: Opts): Promise<DeviceState> {
  const r = await run(['ip', '-j', 'addr', 'show', 'dev', spec.device], spec, o, IP_TIMEOUT_MS);
  const none = { exists: false, carrier: false, adminUp: false, addresses: [] };
  if (r.code !== 0) {
    const tail = outputTail(r);
    if (/does not exist|Cannot find device/i.test(tail)) return none;
    return { ...none, exists: true, error: `ip addr show ${describeExit(r)}${tail ? `: ${tail}` : ''}` };
  }
  try {
    const links = JSON.parse(r.stdout) as Array<{ flags?: string[]; operstate?: string; addr_info?: Array<{ family: string; local: string; secondary?: boolean }> }>;
    const l = links[0];
    if (!l) return none;
    const flags = l.flags ?? [];
    // LOWER_UP is the driver's carrier; operstate UNKNOWN (no carrier reporting, e.g. some
    // virtual devices) with LOWER_UP counts as carrier too.
    const carrier = flags.includes('LOWER_UP') && !flags.includes('NO-CARRIER') && l.operstate !== 'DOWN' && l.operstate !== 'LOWERLAYERDOWN';
    const addresses = (l.addr_info ?? []).filter((a) => a.family === 'inet' && !a.secondary).map((a) => a.local);
    return { exists: true, carrier, adminUp: flags.includes('UP'), addresses };
  } catch {
    return { ...none, exists: true, error: 'ip -j addr show printed no JSON' };
  }
}

/** The default gateways of the routes via the device (none: carrier only). */
async function gateways(spec: LinkSpec, o: Opts): Promise<string[] | { error: string }> {
  const r = await run(['ip', '-j', '-4', 'route', 'show', 'default', 'dev', spec.device], spec, o, IP_TIMEOUT_MS);
  if (r.code !== 0) return { error: `ip route show ${describeExit(r)}: ${outputTail(r)}` };
  try {
    const routes = JSON.parse(r.stdout || '[]') as Array<{ gateway?: string }>;
    return [...new Set(routes.map((x) => x.gateway).filter((g): g is string => typeof g === 'string' && isIPv4(g)))];
  } catch {
    return { error: 'ip -j route show printed no JSON' };
  }
}

/**
 * ping's arguments: PingCount requests spread evenly over PingTimeoutMs (-i), and after the last
 * one the rest of the window to wait (-W); both take fractions of a second (iputils).
 */
export function pingArgv(spec: LinkSpec, host: string): string[] {
  const gap = spec.pingTimeoutMs / spec.pingCount / 1000;
  const s = (x: number): string => String(Math.max(0.01, Math.round(x * 1000) / 1000));
  return ['ping', '-n', '-q', '-c', String(spec.pingCount), '-i', s(gap), '-W', s(gap), '-I', spec.device, host];
}

/** Pings every host at once; the first answer wins and stops the others. Resolves the answering host, or why none did. */
async function pingAny(spec: LinkSpec, hosts: string[], o: Opts): Promise<{ host: string } | { failures: string[] }> {
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  if (o.signal.aborted) stop.abort();
  const failures: string[] = [];
  try {
    return await new Promise((resolve) => {
      let left = hosts.length;
      if (left === 0) resolve({ failures });
      for (const host of hosts) {
        // ping ends by itself within the window; the exec deadline only bounds a hung one.
        void run(pingArgv(spec, host), spec, { ...o, signal: stop.signal }, spec.pingTimeoutMs + 1000).then((r) => {
          if (r.code === 0) { stop.abort(); resolve({ host }); return; }
          // Exit 1 is plain silence; anything else (2: cannot send, a spawn error) says why.
          if (r.spawnError?.code === 'ENOENT') failures.push('ping is not installed on this node (apt-get install iputils-ping)');
          else if (r.code !== 1 && !stop.signal.aborted) failures.push(`${host}: ping ${describeExit(r)}${outputTail(r, 1) ? ` (${outputTail(r, 1)})` : ''}`);
          if (--left === 0) resolve({ failures });
        });
      }
    });
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

/** One check of the link: carrier, then the ping hosts. Never throws. */
export async function checkLink(spec: LinkSpec, o: Opts): Promise<LinkCheck> {
  const dev = spec.device;
  const down = (reason: string, carrier = false, addresses: string[] = []): LinkCheck => ({ up: false, carrier, verified: false, reason, addresses });
  try {
    const [state, gw] = await Promise.all([readDevice(spec, o), spec.pingHosts === 'gateway' ? gateways(spec, o) : Promise.resolve(spec.pingHosts)]);
    if (o.signal.aborted) return down(`${dev}: check cut short`, state.carrier, state.addresses);
    if (state.error) return down(`${dev}: cannot read the device: ${state.error}`);
    if (!state.exists) return down(`${dev}: the device does not exist${spec.containerName ? ` in network namespace ${spec.containerName}` : ''}`);
    if (!state.carrier) return down(`${dev}: no carrier${state.adminUp ? '' : ` (the device is set down: ip link set ${dev} up)`}`, false, state.addresses);
    if (!Array.isArray(gw)) return { up: true, carrier: true, verified: false, reason: `${dev}: carrier up; no ping host (${gw.error}): carrier only`, addresses: state.addresses };
    if (gw.length === 0) {
      const why = spec.pingHosts === 'gateway' ? `no default route via ${dev}, so no ping host` : 'PingHosts is empty';
      return { up: true, carrier: true, verified: false, reason: `${dev}: carrier up; ${why}: carrier only`, addresses: state.addresses };
    }
    const p = await pingAny(spec, gw, o);
    const label = spec.pingHosts === 'gateway' ? (gw.length > 1 ? 'the gateways ' : 'gateway ') : '';
    if ('host' in p) return { up: true, carrier: true, verified: true, reason: `${dev}: carrier up, ${label && 'gateway '}${p.host} answered`, addresses: state.addresses };
    if (o.signal.aborted) return down(`${dev}: check cut short while pinging ${gw.join(', ')}`, true, state.addresses);
    const detail = p.failures.length ? `; ${[...new Set(p.failures)].join('; ')}` : '';
    const silent = gw.length > 1 ? `none of ${label}${gw.join(', ')} answered` : `${label}${gw[0]} did not answer`;
    return down(`${dev}: carrier up but ${silent} within ${spec.pingTimeoutMs} ms (detached port?)${detail}`, true, state.addresses);
  } catch (err) {
    return down(`${dev}: check failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function specOf(ctx: AgentContext): LinkSpec | string {
  return attr.missing(ctx) ?? linkSpecOf(ctx.attrs);
}

async function online(ctx: AgentContext): Promise<ActionResult> {
  const spec = specOf(ctx);
  if (typeof spec === 'string') return { ok: false, recovery: 'configuration', reason: spec };
  const c = await checkLink(spec, { signal: ctx.signal, log: ctx.log });
  return c.up ? { ok: true, reason: `link up: ${c.reason}` } : { ok: false, recovery: 'move', reason: `link down: ${c.reason}` };
}

async function monitor(ctx: AgentContext): Promise<MonitorResult> {
  const spec = specOf(ctx);
  if (typeof spec === 'string') return { state: 'UNKNOWN', recovery: 'configuration', level: 'first', reason: spec };
  const c = await checkLink(spec, { signal: ctx.signal, log: ctx.log });
  return c.up ? { state: 'ONLINE', level: 'first', reason: c.reason } : { state: 'OFFLINE', recovery: 'move', level: 'first', reason: c.reason };
}

/** offline and clean: a link is a fact of the node; nothing of it is ours to stop. */
async function leaveAlone(ctx: AgentContext): Promise<ActionResult> {
  const device = textAttr(ctx.attrs, 'Device', attr.decls) ?? 'the device';
  return { ok: true, reason: `${device}: a link is not stopped (nothing to do)` };
}

export const nicType = defineType({
  name: 'NIC',
  summary: 'Network link (carrier, then ping hosts), watched on every node: a dead link moves the group. Defaults here: MonitorInterval 1, ToleranceLimit 2 (down at the third failed check).',
  attributes: ATTRIBUTES,
  // Detection in three 1 s checks: a link fault must move the group within seconds.
  genericDefaults: { MonitorInterval: 1, ToleranceLimit: 2 },
  persistent: true,
  rules: [
    rule(['Device'], (r) => checkInterfaceName(r, 'Device')),
    rule(['PingHosts'], (r) => {
      if (!r.given.has('PingHosts')) return;
      const v = r.attrs.PingHosts;
      const hosts = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
      const bad = hosts.filter((h) => !isIPv4(h));
      if (bad.length > 0) r.error('PingHosts', `${bad.map((h) => `"${h}"`).join(', ')} ${bad.length === 1 ? 'is not an IPv4 address' : 'are not IPv4 addresses'}`, 'list IPv4 addresses on the client network, e.g. the gateway and another router');
      else if (hosts.length === 0) {
        r.warn('PingHosts', 'is an empty list: the link is judged by carrier only, so a detached port (carrier up, no traffic) is not detected',
          'list one or more IPv4 hosts that always answer on this network (e.g. the gateway), or leave PingHosts unset to ping the default gateway');
      }
    }),
    rule(['PingTimeoutMs', 'MonitorTimeout', 'PingHosts'], (r) => {
      const ping = r.attrs.PingTimeoutMs;
      const limit = r.attrs.MonitorTimeout;
      const hosts = r.attrs.PingHosts;
      if (Array.isArray(hosts) && hosts.length === 0) return;
      if (typeof ping === 'number' && typeof limit === 'number' && ping + CHECK_OVERHEAD_MS > limit * 1000) {
        r.warn('PingTimeoutMs', `${ping} ms plus about ${CHECK_OVERHEAD_MS} ms to run the check does not fit in MonitorTimeout (${limit} s): a silent host makes every check time out`,
          `lower PingTimeoutMs to at most ${limit * 1000 - CHECK_OVERHEAD_MS} ms or raise MonitorTimeout`);
      }
    }),
  ],
  online,
  offline: leaveAlone,
  monitor,
  clean: leaveAlone,
  // A carrier change is checked at once (link-events.ts): a pulled cable is seen at 0 s, not within the next second.
  watchChanges: (resource, changed, log) => {
    const spec = linkSpecOf(resource.attrs);
    return typeof spec === 'string' ? { close: () => undefined } : watchLinkEvents(spec.device, spec.containerName, changed, log);
  },
});
