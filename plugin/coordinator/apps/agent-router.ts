/**
 * Where a command to a resource goes: to its agent app while that runs, else to the coordinator
 * itself (in-process.ts) — except an online, for which the app is started first. This is what
 * makes an app's PM2 status the component's: started for an online, retired once its resource
 * is offline here (group-runner.ts decides when), and never running on a standby.
 *
 * Guarantees: an app is started only after the coordinator's own functions on that resource
 * ended; an online that cannot get its app started fails with the reason (never hangs); a
 * retire never races a start of the same app (app-registry.ts orders them); every request
 * resolves.
 */
import type { ResolvedResource } from '../../model/cluster-types';
import type { AgentReport } from '../../pm2/protocol';
import type { FunctionOutcome } from '../../resource-types/function-runner';
import { failure, type AgentPort, type AgentRequest, type AppRegistry } from './app-registry';
import type { InProcessAgents } from './in-process';

export class AgentRouter implements AgentPort {
  constructor(
    private readonly apps: AppRegistry,
    private readonly local: InProcessAgents,
    private readonly resource: (id: string) => ResolvedResource | undefined,
    private readonly clusterFile: string,
    private readonly node: string,
  ) {}

  async request(resourceId: string, command: AgentRequest, timeoutMs: number): Promise<AgentReport> {
    const res = this.resource(resourceId);
    if (!res) return failure(resourceId, `no resource ${resourceId} on this node`);
    if (command.cmd === 'online') {
      if (!(await this.up(res))) return failure(resourceId, `agent app ${resourceId} could not be started (see the coordinator's log)`);
      return this.apps.request(resourceId, command, timeoutMs);
    }
    if (this.apps.isUp(resourceId)) return this.apps.request(resourceId, command, timeoutMs);
    switch (command.cmd) {
      case 'offline': case 'clean':
        return reportOf(resourceId, await this.local.run(res, command.cmd));
      case 'monitor':
        return reportOf(resourceId, await this.local.run(res, 'monitor', command.deep === true));
      default:
        // state, target, exited, retire: no agent runs, so nothing runs the resource for us here.
        return { resource: resourceId, pid: 0, fn: command.cmd, ok: true, state: 'OFFLINE', target: 'none', reason: 'no agent app runs on this node' };
    }
  }

  prepare(resourceIds: readonly string[]): void {
    for (const id of resourceIds) {
      const res = this.resource(id);
      if (res && !this.apps.isUp(id)) void this.up(res);
    }
  }

  retire(resourceId: string, why: string): void {
    if (this.apps.isUp(resourceId)) void this.apps.retire(resourceId, why);
  }

  private async up(res: ResolvedResource): Promise<boolean> {
    await this.local.idle(res.id);
    return this.apps.ensureUp(res, this.clusterFile, this.node);
  }
}

function reportOf(resource: string, o: FunctionOutcome): AgentReport {
  return {
    resource, pid: process.pid, fn: o.fn, ok: o.ok, ...(o.state ? { state: o.state } : {}), reason: o.reason,
    ...(o.recovery ? { recovery: o.recovery } : {}), durationMs: o.durationMs, ...(o.checks ? { checks: o.checks } : {}),
    ...(o.level ? { level: o.level } : {}), ...(o.timedOut ? { timedOut: true } : {}), ...(o.pids ? { pids: o.pids } : {}),
  };
}
