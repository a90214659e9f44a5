/**
 * IP: a virtual IPv4 address that moves with its group; its kernel lifetime follows the lease
 * (docs/lease.md).
 * online: refuse if another host answers for the address (`arping -D`, recovery 'move'), then
 * add it with valid_lft = preferred_lft = the whole seconds left of the serve deadline (the
 * kernel removes the address by itself if nobody refreshes it — e.g. the node died), then
 * gratuitous ARP (best effort, not awaited). monitor: the address is on the device (`ip -j addr
 * show`); when the serve deadline has passed, the agent removes it itself.
 * offline/clean: `ip addr del` (absent = success). refreshLifetime() is called on every lease
 * renewal and only ever extends an address that is there.
 * With a lease, every add and refresh runs through vip-guard.ts: the kernel ends the call if it
 * would come later than a moment after its deadline check, so a process frozen and thawed after
 * its lease ran out never brings the address back. The deadline comes from the lease hooks
 * (plugin/lease/hooks.ts); without a lease, or with Lifetime 'forever' or a number of seconds,
 * plain `ip` is used. Programs run with argv arrays, inside ContainerName's network namespace
 * when set. Not guaranteed: ARP caches of clients that miss the gratuitous ARP keep the old MAC
 * until they expire.
 */
import { monotonicMs } from '../lease/clock';
import { leaseHooks } from '../lease/hooks';
import { parseIPv4Cidr } from '../core/net';
import type { AttrDecl } from '../model/attributes';
import { str } from '../model/check-context';
import { checkInterfaceName } from './rule-helpers';
import { attrReader, execBase } from './attr-access';
import { describeExit, execProgram, outputTail, type ExecOptions } from '../core/exec';
import type { ActionResult, MonitorResult } from '../core/results';
import { defineType, rule, type AgentContext } from './contract';
import { GUARD_ABSENT, GUARD_TOO_LATE, SLACK_MS, guardSeconds, guardedIpArgv } from './vip-guard';

const ATTRIBUTES = [
  { name: 'Address', kind: 'string', required: true, example: '192.0.2.25/24',
    doc: 'Virtual IPv4 address with its prefix length (ADDR/PREFIX).' },
  { name: 'Device', kind: 'string', required: true, example: 'eth0', doc: 'Network interface that carries the address.' },
  { name: 'ArpCheck', kind: 'bool', default: true,
    doc: 'Refuse to add the address when another host already answers for it (duplicate address detection).' },
  { name: 'ArpCheckMs', kind: 'int', default: 400, min: 50, max: 5000,
    doc: 'How long the duplicate address check waits for an answer, in milliseconds. A host on the same LAN answers within a few ms; every millisecond here is added to each failover.' },
  { name: 'Lifetime', kind: 'string', default: 'lease', example: 'forever',
    doc: "Kernel lifetime of the address: 'lease' (whole seconds left of this node's serve deadline, refreshed on every renewal, so the address vanishes by itself if the node dies; permanent when the group has no lease), 'forever', or a number of seconds." },
] as const satisfies readonly AttrDecl[];

const attr = attrReader(ATTRIBUTES);

const ARP_TIMEOUT_MS = 4000;
/**
 * Gratuitous ARP still being sent, per address: offline stops it, because a trailing GARP
 * (sender = the VIP) makes the next holder's duplicate address check see a conflict.
 */
const garps = new Map<string, AbortController>();
const IP_TIMEOUT_MS = 5000;

export interface VipSpec {
  address: string;
  prefix: number;
  device: string;
  containerName?: string;
}

export function parseVip(ctx: AgentContext): VipSpec | string {
  const missing = attr.missing(ctx);
  if (missing) return missing;
  const addr = attr.required(ctx, 'Address');
  const cidr = parseIPv4Cidr(addr);
  if (!cidr) return `Address '${addr}' is not IPv4 ADDR/PREFIX`;
  return { ...cidr, device: attr.required(ctx, 'Device'), containerName: attr.text(ctx, 'ContainerName') };
}

/**
 * How long the address may live: bound to the lease (the serve deadline on CLOCK_MONOTONIC),
 * or fixed by the Lifetime attribute (seconds or 'forever'), or 'forever' without a lease.
 */
export type Life = { lease: number } | { fixed: number | 'forever' };

export function lifeOf(ctx: AgentContext, until = leaseHooks().serveUntilMono(ctx.resource.group)): Life {
  const fixed = attr.text(ctx, 'Lifetime');
  if (fixed !== 'lease') return { fixed: fixed === 'forever' ? 'forever' : Math.max(0, Math.floor(Number(fixed))) };
  return until === 'forever' ? { fixed: 'forever' } : { lease: until };
}

/** True once this node's serve deadline has passed (never without a lease). */
function deadlinePassed(ctx: AgentContext): boolean {
  const life = lifeOf(ctx);
  return 'lease' in life && life.lease <= monotonicMs();
}

/** Whole seconds of lifetime a guarded call made now would set (0: less than a second). */
const leaseSeconds = (until: number): number => guardSeconds(until, monotonicMs());

/** Waits (briefly) for at least one whole second of lifetime: the kernel takes whole seconds. */
async function wholeSecondLifetime(ctx: AgentContext): Promise<Life> {
  const end = Date.now() + 1500;
  for (;;) {
    const life = lifeOf(ctx);
    if (!('lease' in life) || leaseSeconds(life.lease) >= 1 || life.lease <= monotonicMs() || Date.now() > end || ctx.signal.aborted) return life;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const describeLife = (life: Life): string => 'lease' in life ? `until the serve deadline, ${leaseSeconds(life.lease)} s` : life.fixed === 'forever' ? 'forever' : `${life.fixed} s`;

function execOpts(ctx: AgentContext, spec: VipSpec, timeoutMs: number): ExecOptions {
  return { ...execBase(ctx, ctx.log), containerName: spec.containerName, timeoutMs, signal: ctx.signal };
}

const lft = (n: number | 'forever'): string[] => ['valid_lft', String(n), 'preferred_lft', String(n)];

interface AddrInfo { present: boolean; validLft?: number; deviceMissing?: boolean; error?: string }

async function show(ctx: AgentContext, spec: VipSpec): Promise<AddrInfo> {
  const r = await execProgram(['ip', '-j', 'addr', 'show', 'dev', spec.device], execOpts(ctx, spec, IP_TIMEOUT_MS));
  if (r.code !== 0) {
    const tail = outputTail(r);
    return /does not exist|Cannot find device/i.test(tail) ? { present: false, deviceMissing: true, error: tail } : { present: false, error: `ip addr show ${describeExit(r)}: ${tail}` };
  }
  try {
    const links = JSON.parse(r.stdout) as Array<{ addr_info?: Array<{ family: string; local: string; prefixlen: number; valid_life_time?: number }> }>;
    for (const l of links) for (const a of l.addr_info ?? []) {
      if (a.family === 'inet' && a.local === spec.address && a.prefixlen === spec.prefix) return { present: true, validLft: a.valid_life_time };
    }
    return { present: false };
  } catch {
    return { present: false, error: 'ip -j addr show printed no JSON' };
  }
}

/**
 * Extends the address's lifetime (used on every lease renewal) — never adds a missing address.
 * With a lease (`until`, CLOCK_MONOTONIC ms) the guard checks presence and sets the lifetime
 * within SLACK_MS of one clock reading, or not at all (vip-guard.ts). Less than a second left:
 * the current lifetime, set earlier from a later deadline reading, already ends by then and is
 * kept — rounding up could let the address outlive the deadline. A passed deadline removes it.
 */
export async function refreshLifetime(ctx: AgentContext, life: Life): Promise<ActionResult> {
  const spec = parseVip(ctx);
  if (typeof spec === 'string') return { ok: false, recovery: 'configuration', reason: spec };
  const cidr = `${spec.address}/${spec.prefix}`;
  if ('fixed' in life) {
    const cur = await show(ctx, spec);
    if (!cur.present) return { ok: true, reason: `${spec.address} is not on ${spec.device}: nothing to refresh` };
    const r = await execProgram(['ip', 'addr', 'change', cidr, 'dev', spec.device, ...lft(life.fixed)], execOpts(ctx, spec, IP_TIMEOUT_MS));
    return r.code === 0 ? { ok: true, reason: `lifetime of ${spec.address} set to ${describeLife(life)}` }
      : { ok: false, recovery: 'restartable', reason: `ip addr change ${describeExit(r)}: ${outputTail(r)}` };
  }
  if (life.lease <= monotonicMs()) return removeAddress(ctx, spec, 'the serve deadline has passed');
  if (leaseSeconds(life.lease) < 1) return { ok: true, reason: `less than a second of serve time left: lifetime of ${spec.address} left to run out` };
  const r = await execProgram(guardedIpArgv('change', cidr, spec.device, life.lease), execOpts(ctx, spec, IP_TIMEOUT_MS));
  if (r.code === 0) return { ok: true, reason: `lifetime of ${spec.address} set ${describeLife(life)}` };
  if (r.code === GUARD_ABSENT) return { ok: true, reason: `${spec.address} is not on ${spec.device}: nothing to refresh` };
  return { ok: false, recovery: 'restartable', reason: `lifetime of ${spec.address} not refreshed: ${guardFailure(r)}` };
}

/** Why a guarded `ip` did not run or failed. */
function guardFailure(r: Awaited<ReturnType<typeof execProgram>>): string {
  if (r.code === GUARD_TOO_LATE) return 'less than a second of serve time was left when the guard ran';
  if (r.signal === 'SIGALRM') return `the guard was late by more than ${SLACK_MS} ms after its deadline check (frozen or starved): nothing changed`;
  if (r.spawnError) return `cannot run perl for the address guard (${r.spawnError.message}): install perl`;
  return `guarded ip ${describeExit(r)}: ${outputTail(r)}`;
}

async function removeAddress(ctx: AgentContext, spec: VipSpec, why: string): Promise<ActionResult> {
  garps.get(spec.address)?.abort();
  const r = await execProgram(['ip', 'addr', 'del', `${spec.address}/${spec.prefix}`, 'dev', spec.device], execOpts(ctx, spec, IP_TIMEOUT_MS));
  const tail = outputTail(r);
  if (r.code === 0) return { ok: true, reason: `${spec.address}/${spec.prefix} removed from ${spec.device} (${why})` };
  if (/Cannot assign requested address|Address not found|does not exist|Cannot find device/i.test(tail)) return { ok: true, reason: `${spec.address} was not on ${spec.device}` };
  return { ok: false, recovery: 'restartable', reason: `ip addr del ${describeExit(r)}: ${tail}` };
}

async function online(ctx: AgentContext): Promise<ActionResult> {
  const spec = parseVip(ctx);
  if (typeof spec === 'string') return { ok: false, recovery: 'configuration', reason: spec };
  let life = await wholeSecondLifetime(ctx);
  if ('lease' in life && leaseSeconds(life.lease) < 1) return { ok: false, recovery: 'restartable', reason: 'less than a second of serve time left on the lease: not adding the address' };
  const cur = await show(ctx, spec);
  if (cur.deviceMissing) return { ok: false, recovery: 'move', reason: `device ${spec.device} does not exist on this node` };
  if (cur.present) return refreshLifetime(ctx, life);
  if (attr.bool(ctx, 'ArpCheck')) {
    // Duplicate address detection: arping -D probes at once and exits 1 on the first answer. It
    // only takes whole seconds, so we stop it ourselves after ArpCheckMs: no answer by then = free.
    const waitMs = attr.number(ctx, 'ArpCheckMs');
    const d = await execProgram(['arping', '-D', '-c', '2', '-w', '2', '-I', spec.device, spec.address], execOpts(ctx, spec, waitMs));
    if (d.code === 1) return { ok: false, recovery: 'move', reason: `another host already answers for ${spec.address} on ${spec.device} (arping -D): refusing to add it` };
    if (d.spawnError || (d.code !== 0 && !d.timedOut) || ctx.signal?.aborted) return { ok: false, recovery: 'restartable', reason: `duplicate address check failed: arping ${describeExit(d)}: ${outputTail(d)}` };
  }
  const cidr = `${spec.address}/${spec.prefix}`;
  // The deadline as renewed during the duplicate address check, not as it was before it; a
  // guard that found less than a whole second left waits for the next renewal, briefly.
  let add: Awaited<ReturnType<typeof execProgram>>;
  for (let tries = 0; ; tries++) {
    life = await wholeSecondLifetime(ctx);
    if ('lease' in life && leaseSeconds(life.lease) < 1) return { ok: false, recovery: 'restartable', reason: 'less than a second of serve time left on the lease after the duplicate address check: not adding the address' };
    const argv = 'lease' in life ? guardedIpArgv('add', cidr, spec.device, life.lease) : ['ip', 'addr', 'add', cidr, 'dev', spec.device, ...lft(life.fixed)];
    add = await execProgram(argv, execOpts(ctx, spec, IP_TIMEOUT_MS));
    if (add.code !== GUARD_TOO_LATE || tries >= 3 || ctx.signal.aborted) break;
  }
  if (add.code !== 0) {
    const tail = outputTail(add);
    if (/File exists|already assigned/i.test(tail)) return refreshLifetime(ctx, life);
    return { ok: false, recovery: 'restartable', reason: 'lease' in life ? `${cidr} not added: ${guardFailure(add)}` : `ip addr add ${describeExit(add)}: ${tail}` };
  }
  // Gratuitous ARP so clients drop the old node's MAC at once; best effort, never awaited.
  const stop = new AbortController();
  garps.get(spec.address)?.abort();
  garps.set(spec.address, stop);
  void execProgram(['arping', '-U', '-c', '2', '-I', spec.device, spec.address], { ...execOpts(ctx, spec, ARP_TIMEOUT_MS), signal: stop.signal })
    .finally(() => { if (garps.get(spec.address) === stop) garps.delete(spec.address); });
  return { ok: true, reason: `${cidr} added to ${spec.device} (lifetime ${describeLife(life)})` };
}

async function monitor(ctx: AgentContext): Promise<MonitorResult> {
  const spec = parseVip(ctx);
  if (typeof spec === 'string') return { state: 'UNKNOWN', recovery: 'configuration', reason: spec };
  const cur = await show(ctx, spec);
  if (cur.deviceMissing) return { state: 'OFFLINE', recovery: 'move', level: 'first', reason: `device ${spec.device} does not exist` };
  if (cur.error) return { state: 'UNKNOWN', level: 'first', reason: cur.error };
  if (!cur.present) return { state: 'OFFLINE', recovery: 'restartable', level: 'first', reason: `${spec.address}/${spec.prefix} is not on ${spec.device}` };
  if (deadlinePassed(ctx)) {
    await removeAddress(ctx, spec, 'the serve deadline passed');
    return { state: 'OFFLINE', recovery: 'restartable', level: 'first', reason: `the serve deadline passed: ${spec.address} removed` };
  }
  const left = cur.validLft !== undefined && cur.validLft < 4294967295 ? `, ${cur.validLft} s of lifetime left` : '';
  return { state: 'ONLINE', level: 'first', reason: `${spec.address}/${spec.prefix} on ${spec.device}${left}` };
}

async function offline(ctx: AgentContext): Promise<ActionResult> {
  const spec = parseVip(ctx);
  // offline must succeed even with a broken configuration: there is nothing we could have added
  if (typeof spec === 'string') return { ok: true, reason: `nothing to remove (${spec})` };
  return removeAddress(ctx, spec, 'offline');
}

export const ipType = defineType({
  name: 'IP',
  summary: 'Virtual IPv4 address that moves with its group; its kernel lifetime follows the lease.',
  attributes: ATTRIBUTES,
  rules: [
    rule(['Address'], (r) => {
      const address = str(r.attrs.Address);
      if (address !== undefined && !parseIPv4Cidr(address)) {
        r.error('Address', `must be an IPv4 address with its prefix length, got "${address}"`, 'e.g. 192.0.2.25/24');
      }
    }),
    rule(['Device'], (r) => checkInterfaceName(r, 'Device')),
  ],
  online,
  offline,
  monitor,
  clean: offline,
  // The lease holder's renewals extend the address's lifetime; this file stays its only owner.
  leaseRenewed: (ctx, serveUntilMono) => refreshLifetime(ctx, lifeOf(ctx, serveUntilMono)),
  leaseResumed: online,
});
