/**
 * Operator verbs in multi-node mode (the Operator interface of coordinator/operator.ts), on top of ClusterNode:
 *   online <g>    contend for the group's lease here (or complete it when held here); lifts an
 *                 operator offline. Refused when FAULTED here, frozen, or running elsewhere
 *                 (→ switch).
 *   offline <g>   held here: the admin file gets {"cmd":"freeze","why":"offline"} (nobody claims),
 *                 then a clean offline and RELEASED — the group stays offline cluster-wide until
 *                 `online <g>`. Held elsewhere: refused (run it there).
 *   switch <g>[:<node>]  held here: clean offline, RELEASED with handoff_to; held elsewhere: a move
 *                 request in the admin file, carried out by the holder at its next admin check
 *                 (about 5 renewals). Default target: the next alive, non-faulted node of systemList.
 *   freeze <g>[:persistent] / unfreeze <g>   no automatic action: local (memory, this node) or
 *                 persistent (admin file: every node, survives restarts; followers do not claim).
 *   evacuate      switch every group held here to its default target.
 *   drill <g>     drill.ts checks, on a node that does not hold the group.
 * Guarantees: every verb resolves with {ok, reason} — a refusal says why in one sentence and
 * what to do; nothing here writes the shared directory except through the I/O helpers.
 */
import type { Logger } from '../core/log';
import type { ClusterNode } from './cluster-node';
import { effectiveAdmin, parseAdmin, writeAdmin, type AdminRequest } from '../lease/admin';
import { drillGroup, realDrillEnv, type DrillEnv, type DrillResult } from '../coordinator/drill';
import type { Outcome } from '../coordinator/group-runner';
import type { Operator } from '../coordinator/operator';
import { checkSwitchTarget, chooseHandoffTarget } from './placement';

export class ClusterOperator implements Operator {
  constructor(private readonly cn: ClusterNode, private readonly log: Logger, private readonly drillEnv: DrillEnv = realDrillEnv) {
    cn.onMoveRequested = (g, to) => this.moveRequested(g, to);
  }

  private get node(): string { return this.cn.node; }

  private missing(name: string): Outcome {
    return { ok: false, reason: `no group '${name}' on node ${this.node} (groups here: ${[...this.cn.ctl.keys()].join(', ') || 'none'})` };
  }

  private async writeAdmin(group: string, a: AdminRequest): Promise<string | undefined> {
    const r = await writeAdmin(this.cn.viewStore, { key: this.cn.key, group }, a, this.node);
    if (!r.ok) return `cannot write the admin file of ${group} in the shared directory (${r.message})`;
    const c = this.cn.ctl.get(group);
    if (c) c.admin = effectiveAdmin(a);
    return undefined;
  }

  /** The next node for a group held by `from`. */
  target(group: string, from: string): { to: string | undefined; why: string } {
    return chooseHandoffTarget(this.cn.group(group)!.systemList, from, group, this.cn.peers());
  }

  async online(name: string): Promise<Outcome> {
    const c = this.cn.ctl.get(name);
    const runner = this.cn.runner(name);
    if (!c || !runner) return this.missing(name);
    if (runner.state === 'FAULTED') return { ok: false, reason: `group ${name} is FAULTED on ${this.node} (${runner.reason}); clear it first: msgha clear ${name}` };
    if (c.lease.holding) return runner.online('operator request (online)');
    const st = c.lease.status();
    if (st.leaseState === 'HELD' && st.holder && st.holder !== this.node) {
      return { ok: false, reason: `group ${name} runs on ${st.holder} (epoch ${st.epoch}); to move it here: msgha switch ${name}:${this.node}` };
    }
    if (c.localFreeze) return { ok: false, reason: `group ${name} is frozen on ${this.node}: msgha unfreeze ${name} first` };
    if (c.admin.cmd === 'freeze' && c.admin.why !== 'offline') return { ok: false, reason: `group ${name} is frozen cluster-wide (persistent): msgha unfreeze ${name} first` };
    c.want = true;
    if (c.admin.cmd === 'freeze' && c.admin.why === 'offline') {
      const bad = await this.writeAdmin(name, { cmd: 'none' });
      if (bad) return { ok: false, reason: bad };
    }
    this.cn.kick();
    const may = this.cn.contend(name);
    return may.ok
      ? { ok: true, reason: `group ${name}: contending for its lease on ${this.node}; it comes online here once acquired (msgha status)` }
      : { ok: false, reason: `group ${name} cannot start on ${this.node} now: ${may.why}` };
  }

  async offline(name: string): Promise<Outcome> {
    const c = this.cn.ctl.get(name);
    const runner = this.cn.runner(name);
    if (!c || !runner) return this.missing(name);
    if (c.lease.holding) {
      c.want = false;
      // Freeze first: once RELEASED is written, no follower may claim.
      const bad = await this.writeAdmin(name, { cmd: 'freeze', why: 'offline' });
      if (bad) return { ok: false, reason: `${bad}: group left online` };
      const r = await c.lease.elector.release('');
      await c.lease.stopFollowing();
      this.cn.kick();
      return r.ok ? { ok: true, reason: `group ${name} is OFFLINE and held off cluster-wide until: msgha online ${name}` } : { ok: false, reason: `group ${name}: ${r.reason}` };
    }
    const st = c.lease.status();
    if (st.leaseState === 'HELD' && st.holder && st.holder !== this.node) {
      return { ok: false, reason: `group ${name} runs on ${st.holder}, not here: run offline there (msgha offline ${name} on ${st.holder}), or switch it` };
    }
    c.want = false;
    await c.lease.stopFollowing();
    if (runner.state !== 'OFFLINE' && runner.state !== 'FAULTED') await runner.offline('operator request (offline)');
    this.cn.kick();
    return { ok: true, reason: `group ${name} is not running on ${this.node}; this node no longer contends for it (msgha online ${name} to undo)` };
  }

  async switchGroup(param: string): Promise<Outcome> {
    const [name = '', wanted] = param.split(':');
    const c = this.cn.ctl.get(name);
    const group = this.cn.group(name);
    if (!c || !group) return this.missing(name);
    if (c.admin.cmd === 'freeze' && c.admin.why !== 'offline') return { ok: false, reason: `group ${name} is frozen cluster-wide: no moves until msgha unfreeze ${name}` };
    await this.cn.recheckPeers(wanted ? [wanted] : group.systemList);
    if (c.lease.holding) {
      if (this.cn.runner(name)!.frozen) return { ok: false, reason: `group ${name} is frozen on ${this.node}: msgha unfreeze ${name} first` };
      const choice = wanted ? { to: wanted, why: 'operator choice' } : this.target(name, this.node);
      if (!choice.to) return { ok: false, reason: `cannot switch ${name}: ${choice.why}` };
      const problem = checkSwitchTarget(name, group.systemList, this.node, choice.to, this.cn.peers());
      if (problem) return { ok: false, reason: `cannot switch ${name}: ${problem}` };
      const epoch = c.lease.status().epoch;
      const r = await c.lease.release(choice.to, 'switch', `operator switch to ${choice.to}`);
      this.cn.kick();
      return r.ok ? { ok: true, reason: `group ${name} switched: offline on ${this.node}, epoch ${epoch} RELEASED to ${choice.to}` } : { ok: false, reason: `switch of ${name}: ${r.reason}` };
    }
    const st = c.lease.status();
    const holder = st.leaseState === 'HELD' ? st.holder : '';
    if (!holder) return { ok: false, reason: `nobody holds ${name} now: bring it online where you want it with msgha online ${name}` };
    const choice = wanted ? { to: wanted, why: 'operator choice' } : this.target(name, holder);
    if (!choice.to) return { ok: false, reason: `cannot switch ${name}: ${choice.why}` };
    if (choice.to === this.node) {
      const before = c.want;
      c.want = true;
      const may = this.cn.contend(name);
      if (!may.ok) { c.want = before; return { ok: false, reason: `cannot switch ${name} to ${this.node}: ${may.why}` }; }
      if (!c.lease.isRunning) c.lease.start();
    } else {
      const problem = checkSwitchTarget(name, group.systemList, holder, choice.to, this.cn.peers());
      if (problem) return { ok: false, reason: `cannot switch ${name}: ${problem}` };
    }
    // For the holder of this epoch only: a replay after any holder change is stale.
    const bad = await this.writeAdmin(name, { cmd: 'move', to: choice.to, ...(st.epoch !== undefined ? { epoch: st.epoch } : {}) });
    if (bad) return { ok: false, reason: bad };
    return { ok: true, reason: `asked ${holder} (through the shared directory) to hand ${name} over to ${choice.to}; the holder acts at its next admin check` };
  }

  /** The holder read a move request from the admin file. */
  async moveRequested(name: string, to: string): Promise<void> {
    const c = this.cn.ctl.get(name);
    const group = this.cn.group(name);
    if (!c || !group) return;
    await this.cn.recheckPeers([to]);
    const problem = checkSwitchTarget(name, group.systemList, this.node, to, this.cn.peers());
    if (problem) {
      this.log.error(`group ${name}: move request to ${to} refused: ${problem}`);
    } else {
      const r = await c.lease.release(to, 'switch', `operator switch to ${to} (request in the shared directory)`);
      this.log.info(`group ${name}: move request to ${to}: ${r.reason}`);
    }
    // Consumed: a stale move must not move the group again under a later holder.
    const now = await this.cn.viewStore.readAdmin(name);
    if (now.ok && parseAdmin(now.value, { key: this.cn.key, group: name }).cmd === 'move') await this.writeAdmin(name, { cmd: 'none' });
    this.cn.kick();
  }

  async freeze(param: string): Promise<Outcome> {
    const [name = '', mode = ''] = param.split(':');
    const c = this.cn.ctl.get(name);
    const runner = this.cn.runner(name);
    if (!c || !runner) return this.missing(name);
    if (mode && mode !== 'persistent') return { ok: false, reason: `unknown freeze mode '${mode}': use freeze ${name} or freeze ${name}:persistent` };
    if (mode === 'persistent') {
      const bad = await this.writeAdmin(name, { cmd: 'freeze', why: 'persistent' });
      if (bad) return { ok: false, reason: bad };
      runner.frozen = true;
      this.cn.kick();
      return { ok: true, reason: `group ${name} frozen cluster-wide (persistent, in the shared directory): no automatic action and no takeover on any node until msgha unfreeze ${name}` };
    }
    c.localFreeze = true;
    runner.frozen = true;
    this.cn.kick();
    return { ok: true, reason: `group ${name} frozen on ${this.node} (in memory, until unfreeze or a coordinator restart): no automatic action here` };
  }

  async unfreeze(name: string): Promise<Outcome> {
    const c = this.cn.ctl.get(name);
    const runner = this.cn.runner(name);
    if (!c || !runner) return this.missing(name);
    c.localFreeze = false;
    if (c.admin.cmd === 'freeze' && c.admin.why !== 'offline') {
      const bad = await this.writeAdmin(name, { cmd: 'none' });
      if (bad) return { ok: false, reason: bad };
    }
    runner.frozen = false;
    this.cn.kick();
    return { ok: true, reason: `group ${name} unfrozen: automatic actions resume` };
  }

  async evacuate(): Promise<Outcome & { groups: Array<Outcome & { group: string }> }> {
    const held = [...this.cn.ctl.entries()].filter(([, c]) => c.lease.holding).map(([g]) => g);
    const groups: Array<Outcome & { group: string }> = [];
    for (const g of held) groups.push({ group: g, ...(await this.switchGroup(g)) });
    const failed = groups.filter((g) => !g.ok);
    const reason = held.length === 0 ? `node ${this.node} holds no group: nothing to evacuate`
      : failed.length === 0 ? `node ${this.node} evacuated: ${groups.map((g) => g.group).join(', ')} switched away`
        : `node ${this.node} NOT fully evacuated: ${failed.map((g) => `${g.group}: ${g.reason}`).join('; ')}`;
    return { ok: failed.length === 0, reason, groups };
  }

  async drill(name: string): Promise<Outcome & { drill?: DrillResult }> {
    const c = this.cn.ctl.get(name);
    const group = this.cn.group(name);
    if (!c || !group) return this.missing(name);
    if (c.lease.holding) return { ok: false, reason: `group ${name} runs on ${this.node}: a drill checks a standby node — run it on another node of ${group.systemList.join(', ')}` };
    const d = await drillGroup(group, this.node, this.drillEnv);
    return { ok: d.ok, reason: d.reason, drill: d };
  }
}
