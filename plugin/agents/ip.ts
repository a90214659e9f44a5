/**
 * IP: a virtual IPv4 address that moves with its group (DESIGN §5 layer 4).
 * online: refuse if another host answers for the address (`arping -D`, recovery 'move'), then
 * `ip addr add ADDR/PREFIX dev IFACE valid_lft N preferred_lft N` with N = whole seconds left of
 * the serve deadline, rounded down (the kernel removes the address by itself if nobody refreshes
 * it — e.g. the node died), then gratuitous ARP (best effort, not awaited). monitor: the address
 * is on the device (`ip -j addr show`); when the serve deadline has passed, the agent removes it
 * itself (layer 3). offline/clean: `ip addr del` (absent = success). refreshLifetime() is called
 * on every lease renewal.
 * The deadline comes from the lease hooks (plugin/lease/hooks.ts); without a lease, or with
 * Lifetime 'forever', the address is permanent. Programs run with argv arrays, inside
 * ContainerName's network namespace when set. Not guaranteed: ARP caches of clients that miss
 * the gratuitous ARP keep the old MAC until they expire.
 */
import { leaseHooks } from '../lease/hooks';
import { attrBool, attrNumber, attrString, execBase } from './attr-access';
import { describeExit, execProgram, outputTail, type ExecOptions } from './exec';
import type { ActionResult, AgentContext, MonitorResult, ResourceType } from './types';

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
  const addr = attrString(ctx, 'Address');
  const device = attrString(ctx, 'Device');
  if (!addr || !device) return 'Address and Device are required';
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(addr);
  if (!m || m[1]!.split('.').some((o) => Number(o) > 255) || Number(m[2]) > 32) return `Address '${addr}' is not IPv4 ADDR/PREFIX`;
  return { address: m[1]!, prefix: Number(m[2]), device, containerName: attrString(ctx, 'ContainerName') };
}

/** Seconds for valid_lft/preferred_lft: the lease hook's whole seconds, the Lifetime attribute, or 'forever'. */
export function lifetimeFor(ctx: AgentContext): number | 'forever' {
  const fixed = attrString(ctx, 'Lifetime');
  if (fixed && fixed !== 'lease') return fixed === 'forever' ? 'forever' : Math.max(0, Math.floor(Number(fixed)));
  return leaseHooks().serveSecondsLeft(ctx.resource.group);
}

/**
 * True once this node's serve deadline has passed (never without a lease). Decided on
 * milliseconds: a lifetime rounded down to 0 s only means less than a second is left.
 */
function deadlinePassed(ctx: AgentContext): boolean {
  if (attrString(ctx, 'Lifetime') && attrString(ctx, 'Lifetime') !== 'lease') return false;
  const hooks = leaseHooks();
  const ms = hooks.serveMsLeft?.(ctx.resource.group) ?? hooks.serveSecondsLeft(ctx.resource.group);
  return ms !== 'forever' && ms <= 0;
}

/** Waits (briefly) for at least one whole second of lifetime: the kernel takes whole seconds. */
async function wholeSecondLifetime(ctx: AgentContext): Promise<number | 'forever'> {
  const end = Date.now() + 1500;
  for (;;) {
    const life = lifetimeFor(ctx);
    if (life === 'forever' || life >= 1 || deadlinePassed(ctx) || Date.now() > end || ctx.signal.aborted) return life;
    await new Promise((r) => setTimeout(r, 50));
  }
}

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
 * Sets the address's lifetime to `seconds` (used on every lease renewal). 0 means less than a
 * second is left: the current lifetime, set earlier from a later deadline reading, is already
 * no longer than that and is kept — rounding up could let the address outlive the deadline.
 * A negative value means the deadline has passed: the address is removed.
 */
export async function refreshLifetime(ctx: AgentContext, seconds: number | 'forever'): Promise<ActionResult> {
  const spec = parseVip(ctx);
  if (typeof spec === 'string') return { ok: false, recovery: 'configuration', reason: spec };
  if (seconds !== 'forever' && seconds < 0) return removeAddress(ctx, spec, 'the serve deadline has passed');
  if (seconds === 0) return { ok: true, reason: `less than a second of serve time left: lifetime of ${spec.address} left to run out` };
  // `ip addr change` would ADD a missing address: a renewal must never bring the VIP up behind
  // the agent's back (no duplicate-address check, no gratuitous ARP). Only refresh what is there.
  const cur = await show(ctx, spec);
  if (!cur.present) return { ok: true, reason: `${spec.address} is not on ${spec.device}: nothing to refresh` };
  const r = await execProgram(['ip', 'addr', 'change', `${spec.address}/${spec.prefix}`, 'dev', spec.device, ...lft(seconds)], execOpts(ctx, spec, IP_TIMEOUT_MS));
  return r.code === 0 ? { ok: true, reason: `lifetime of ${spec.address} set to ${seconds}${seconds === 'forever' ? '' : ' s'}` }
    : { ok: false, recovery: 'restartable', reason: `ip addr change ${describeExit(r)}: ${outputTail(r)}` };
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
  const life = await wholeSecondLifetime(ctx);
  if (life !== 'forever' && life < 1) return { ok: false, recovery: 'restartable', reason: 'less than a second of serve time left on the lease: not adding the address' };
  const cur = await show(ctx, spec);
  if (cur.deviceMissing) return { ok: false, recovery: 'move', reason: `device ${spec.device} does not exist on this node` };
  if (cur.present) return refreshLifetime(ctx, life);
  if (attrBool(ctx, 'ArpCheck', true)) {
    // Duplicate address detection: arping -D probes at once and exits 1 on the first answer. It
    // only takes whole seconds, so we stop it ourselves after ArpCheckMs: no answer by then = free.
    const waitMs = attrNumber(ctx, 'ArpCheckMs', 400);
    const d = await execProgram(['arping', '-D', '-c', '2', '-w', '2', '-I', spec.device, spec.address], execOpts(ctx, spec, waitMs));
    if (d.code === 1) return { ok: false, recovery: 'move', reason: `another host already answers for ${spec.address} on ${spec.device} (arping -D): refusing to add it` };
    if (d.spawnError || (d.code !== 0 && !d.timedOut) || ctx.signal?.aborted) return { ok: false, recovery: 'restartable', reason: `duplicate address check failed: arping ${describeExit(d)}: ${outputTail(d)}` };
  }
  const add = await execProgram(['ip', 'addr', 'add', `${spec.address}/${spec.prefix}`, 'dev', spec.device, ...lft(life)], execOpts(ctx, spec, IP_TIMEOUT_MS));
  if (add.code !== 0) {
    const tail = outputTail(add);
    if (/File exists|already assigned/i.test(tail)) return refreshLifetime(ctx, life);
    return { ok: false, recovery: 'restartable', reason: `ip addr add ${describeExit(add)}: ${tail}` };
  }
  // Gratuitous ARP so clients drop the old node's MAC at once; best effort, never awaited.
  const stop = new AbortController();
  garps.get(spec.address)?.abort();
  garps.set(spec.address, stop);
  void execProgram(['arping', '-U', '-c', '2', '-I', spec.device, spec.address], { ...execOpts(ctx, spec, ARP_TIMEOUT_MS), signal: stop.signal })
    .finally(() => { if (garps.get(spec.address) === stop) garps.delete(spec.address); });
  return { ok: true, reason: `${spec.address}/${spec.prefix} added to ${spec.device} (lifetime ${life}${life === 'forever' ? '' : ' s'})` };
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

export const ipType: ResourceType = {
  name: 'IP',
  online,
  offline,
  monitor,
  clean: offline,
};
