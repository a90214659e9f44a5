/**
 * The agent functions of the resources whose agent app does not run here — a standby's, an
 * offline or faulted resource's — run inside the coordinator: the standby check, the clean of a
 * concurrency violation, a recheck or an operator's probe. The same runner as in an agent app
 * (resource-types/function-runner.ts), so a function behaves alike wherever it runs.
 *
 * Guarantees: the functions of one resource run one at a time, in the order asked; `idle()`
 * resolves once none is queued or running (an app is started only then, so an agent and the
 * coordinator never work on one resource at once); never throws.
 */
import type { ResolvedResource } from '../../model/cluster-types';
import type { Logger } from '../../core/log';
import { getResourceType } from '../../resource-types';
import type { AgentFunction, ResourceType } from '../../resource-types/contract';
import { runFunction, type FunctionOutcome, type RunnerDeps } from '../../resource-types/function-runner';
import type { SecretResolver } from '../../secrets';

export class InProcessAgents {
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly queued = new Map<string, number>();
  private secrets: SecretResolver | undefined;

  /** `secrets`: called once, at the first function (most nodes never need a secret here). */
  constructor(
    private readonly makeSecrets: () => SecretResolver, private readonly node: string, private readonly log: Logger,
    readonly typeOf: (name: string) => ResourceType | undefined = getResourceType,
  ) {}

  /** True while a function of this resource is queued or runs here. */
  busy(resourceId: string): boolean {
    return (this.queued.get(resourceId) ?? 0) > 0;
  }

  /** Resolves once nothing of this resource is queued or running here. */
  async idle(resourceId: string): Promise<void> {
    while (this.busy(resourceId)) await this.chains.get(resourceId)?.catch(() => undefined);
  }

  run(res: ResolvedResource, fn: AgentFunction, deep = false): Promise<FunctionOutcome> {
    const type = this.typeOf(res.type);
    if (!type) return Promise.resolve({ fn, ok: false, state: 'UNKNOWN', reason: `resource type ${res.type} has no agent`, recovery: 'configuration', durationMs: 0 });
    this.secrets ??= this.makeSecrets();
    const deps: RunnerDeps = { resource: res, type, resolveSecret: this.secrets, node: this.node };
    this.queued.set(res.id, (this.queued.get(res.id) ?? 0) + 1);
    const run = (this.chains.get(res.id) ?? Promise.resolve())
      .then(() => runFunction(deps, fn, { deep }))
      .catch((err: unknown): FunctionOutcome => {
        this.log.error(`${res.id}: ${fn} in the coordinator: internal error: ${String(err)}`);
        return { fn, ok: false, state: 'UNKNOWN', reason: `internal error: ${String(err)}`, recovery: 'restartable', durationMs: 0 };
      })
      .finally(() => this.queued.set(res.id, (this.queued.get(res.id) ?? 1) - 1));
    this.chains.set(res.id, run);
    return run;
  }
}
