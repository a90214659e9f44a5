/**
 * A simulated cluster for elector unit tests: one FakeClock for the whole "machine", per-node
 * clocks (offset, rate, pause), per-node fake stores, and a fake fence per node that ends the
 * node's serving interval at the kill deadline. Serving intervals are kept in global time so the
 * invariant "never two nodes serving at one instant" is checked from one clock.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { Clock } from '../../../plugin/lease/clock';
import { Elector, type ElectorEvent, type LostReason, type ResumeToken } from '../../../plugin/lease/elector';
import { FakeClock } from '../../../plugin/lease/fake-clock';
import { MemoryDirectory, MemoryStoreView } from '../../../plugin/lease/memory-store';
import { PROFILES, type LeaseProfile } from '../../../plugin/lease/profiles';
import type { IoResult } from '../../../plugin/lease/store';
import { writeAdmin, type AdminRequest } from '../../../plugin/lease/admin';
import { SharedDirKey, type SharedKeyOptions } from '../../../plugin/lease/shared-key';

export class NodeClock implements Clock {
  paused = false;
  private waiters: Array<() => void> = [];
  constructor(private readonly base: FakeClock, private readonly offset = 0, readonly rate = 1) {}
  now(): number { return this.offset + this.base.now() * this.rate; }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    await this.base.sleep(ms / this.rate, signal);
    await this.unpaused(signal);
  }
  async unpaused(signal?: AbortSignal): Promise<void> {
    while (this.paused && !signal?.aborted) await new Promise<void>((r) => this.waiters.push(r));
  }
  resume(): void { this.paused = false; this.waiters.splice(0).forEach((f) => f()); }
}

export interface Interval { node: string; epoch: number; start: number; end?: number }

export class SimNode {
  readonly clock: NodeClock;
  readonly view: MemoryStoreView;
  /** This node's copy of the cluster's shared-directory key (its own memory of admin seqs). */
  readonly key: SharedDirKey;
  elector!: Elector;
  readonly events: ElectorEvent[] = [];
  readonly lost: Array<{ reason: LostReason; epoch: number; at: number }> = [];
  /** Kill deadline in global ms, armed by acquire/renew (the fake fence). */
  fenceAt: number | undefined;
  fencePaused = false;
  stopDelayMs = 0;
  current: Interval | undefined;
  /** Placement delay of this node's unaddressed claims (elector claimDelayMs). */
  claimDelay: (previousHolder: string) => number = () => 0;

  constructor(readonly sim: Sim, readonly name: string, opts: { offset?: number; rate?: number } = {}) {
    this.clock = new NodeClock(sim.clock, opts.offset ?? 0, opts.rate ?? 1);
    this.view = new MemoryStoreView(sim.dir, this.clock, sim.profile.timings.ioTimeoutMs);
    this.view.gate = () => this.clock.unpaused();
    this.key = new SharedDirKey(sim.rawKey, 'sim', sim.keyOptions);
    this.makeElector();
  }

  makeElector(): void {
    this.elector = new Elector({
      group: 'g', node: this.name, store: this.view, key: this.key, clock: this.clock, profile: this.sim.profile,
      onEvent: (e) => this.events.push(e),
      claimDelayMs: (prev) => this.claimDelay(prev),
      onAcquired: (epoch, _signal, info) => {
        if (info.resumed) { this.fenceAt = this.sim.clock.now() + info.killRemainingMs / this.clock.rate; return; }
        this.sim.acquires.push({ node: this.name, epoch, at: this.sim.clock.now() });
        this.fenceAt = this.sim.clock.now() + info.killRemainingMs / this.clock.rate;
        this.current = { node: this.name, epoch, start: this.sim.clock.now() };
        this.sim.intervals.push(this.current);
      },
      onRenewed: (info) => { this.fenceAt = this.sim.clock.now() + info.killRemainingMs / this.clock.rate; },
      onLost: async (reason, epoch) => {
        this.lost.push({ reason, epoch, at: this.sim.clock.now() });
        if (this.stopDelayMs) await this.clock.sleep(this.stopDelayMs);
        this.endServing(this.sim.clock.now());
        this.fenceAt = undefined; // disarmed once services are confirmed stopped
      },
    });
  }

  endServing(at: number): void {
    if (this.current && this.current.end === undefined) this.current.end = at;
    this.current = undefined;
  }

  /** The fake fence: kills at its deadline unless the whole node is paused (then at thaw). */
  fenceTick(now: number): void {
    if (this.fenceAt !== undefined && !this.fencePaused && now >= this.fenceAt && this.current) {
      this.endServing(this.fenceAt);
      this.sim.fenceKills.push({ node: this.name, at: this.fenceAt });
    }
  }

  pause(whole = false): void { this.clock.paused = true; this.fencePaused = whole; }
  resume(): void {
    this.fencePaused = false;
    // a whole-node pause: the fence's timer runs late, at thaw
    if (this.fenceAt !== undefined && this.current && this.sim.clock.now() >= this.fenceAt) {
      this.endServing(this.sim.clock.now());
      this.sim.fenceKills.push({ node: this.name, at: this.sim.clock.now() });
    }
    this.clock.resume();
  }

  /** A crash: the agent's loop never runs again; the fence still kills at its deadline. */
  crash(): void { this.clock.paused = true; }

  start(resume?: ResumeToken): void { this.elector.start({ resume }); }

  /**
   * Writes the group's admin file from this node through the one writer (lease/admin.ts), as
   * the operator does: freeze, none (unfreeze) or move, each with a fresh id.
   */
  admin(cmd: AdminRequest): Promise<IoResult<void>> {
    return writeAdmin(this.view, { key: this.key, group: 'g' }, cmd, this.name);
  }
  holding(): boolean { return this.elector.status().state === 'holder'; }
}

export class Sim {
  readonly clock = new FakeClock();
  readonly dir = new MemoryDirectory();
  readonly nodes: SimNode[] = [];
  readonly intervals: Interval[] = [];
  readonly acquires: Array<{ node: string; epoch: number; at: number }> = [];
  readonly fenceKills: Array<{ node: string; at: number }> = [];

  /** The cluster key every simulated node shares. */
  readonly rawKey = randomBytes(32);

  constructor(readonly profile: LeaseProfile = PROFILES.fast, readonly keyOptions: SharedKeyOptions = {}) {}

  /** The cluster's key as a writer without a node's memory holds it (tests forge and replay with it). */
  key(): SharedDirKey { return new SharedDirKey(this.rawKey, 'sim', this.keyOptions); }

  add(name: string, opts: { offset?: number; rate?: number } = {}): SimNode {
    const n = new SimNode(this, name, opts);
    this.nodes.push(n);
    return n;
  }

  node(name: string): SimNode { return this.nodes.find((n) => n.name === name)!; }
  holders(): SimNode[] { return this.nodes.filter((n) => n.holding()); }

  /** Advances global time in steps, running the fake fences at every step. */
  async run(ms: number, step = 10): Promise<void> {
    for (let t = 0; t < ms; t += step) {
      await this.clock.advance(Math.min(step, ms - t));
      for (const n of this.nodes) n.fenceTick(this.clock.now());
    }
  }

  /** Runs until `pred` holds (checked every step) or `maxMs` passes; returns elapsed ms or -1. */
  async until(pred: () => boolean, maxMs: number, step = 10): Promise<number> {
    const t0 = this.clock.now();
    while (this.clock.now() - t0 < maxMs) {
      if (pred()) return this.clock.now() - t0;
      await this.run(step, step);
    }
    return pred() ? this.clock.now() - t0 : -1;
  }

  /** Pairs of intervals of different nodes that overlap in global time (open ones end now). */
  overlaps(): Array<[Interval, Interval]> {
    const now = this.clock.now();
    const out: Array<[Interval, Interval]> = [];
    for (let i = 0; i < this.intervals.length; i++) {
      for (let j = i + 1; j < this.intervals.length; j++) {
        const a = this.intervals[i]!;
        const b = this.intervals[j]!;
        if (a.node === b.node) continue;
        if (a.start < (b.end ?? now) && b.start < (a.end ?? now)) out.push([a, b]);
      }
    }
    return out;
  }

  /** Epochs acquired more than once (must be empty). */
  doubleAcquires(): number[] {
    const seen = new Map<number, number>();
    for (const a of this.acquires) seen.set(a.epoch, (seen.get(a.epoch) ?? 0) + 1);
    return [...seen].filter(([, c]) => c > 1).map(([e]) => e);
  }
}

/** Starts `names` (adding those not in the simulation yet) and waits until exactly one holds. */
export async function startCluster(sim: Sim, names: string[]): Promise<{ sim: Sim; holder: SimNode }> {
  for (const n of names) if (!sim.nodes.find((x) => x.name === n)) sim.add(n);
  for (const n of sim.nodes) n.start();
  expect(await sim.until(() => sim.holders().length === 1, 2000)).toBeGreaterThanOrEqual(0);
  return { sim, holder: sim.holders()[0]! };
}

/** The invariants: never two nodes serving at one instant (global time), one acquire per epoch. */
export function expectSafe(sim: Sim): void {
  expect(sim.overlaps()).toEqual([]);
  expect(sim.doubleAcquires()).toEqual([]);
}

/** Ends every fault and stops every elector (the clock runs on until they are done). */
export async function stopAll(sim: Sim): Promise<void> {
  for (const n of sim.nodes) { n.clock.resume(); n.view.unhang(); n.view.faults = {}; }
  await Promise.all([sim.nodes.map((n) => n.elector.stop()), sim.clock.advance(5 * sim.profile.timings.leaseMs)].flat());
}
