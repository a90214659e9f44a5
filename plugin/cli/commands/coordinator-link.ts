/**
 * The CLI's line to this node's coordinator: the PM2 daemon of $PM2_HOME, app `msgha` (or the
 * module's name `pm2-messaging-ha`). It never starts a PM2 daemon (pm2-client.ts connect() does
 * not), and says plainly when no daemon or no coordinator runs.
 */
/** App names the coordinator runs under: ecosystem app, or PM2 module. */
export const COORDINATOR_NAMES = ['msgha', 'pm2-messaging-ha'];

type Client = typeof import('../../pm2/pm2-client');
export type Rows = Array<{ name: string; pmId: number; value: unknown }>;

export type Found = { link: CoordinatorLink } | { missing: string };

export class CoordinatorLink {
  private constructor(private readonly client: Client, readonly name: string) {}

  /** Connects to this node's coordinator, or says why there is none (no daemon, no app). */
  static async open(): Promise<Found> {
    const client = await import('../../pm2/pm2-client');
    const home = client.pm2Home();
    try {
      await client.connect();
      const apps = await client.list();
      const name = COORDINATOR_NAMES.find((n) => apps.some((a) => a.name === n && a.status === 'online'));
      if (name) return { link: new CoordinatorLink(client, name) };
      client.disconnect();
      return { missing: `no coordinator runs in the PM2 daemon of ${home} (looked for an online app ${COORDINATOR_NAMES.join(' or ')}: pm2 ls)` };
    } catch (err) {
      client.disconnect();
      if (err instanceof client.NoPm2DaemonError) return { missing: `no PM2 daemon runs on this node (PM2_HOME ${home}): start the coordinator (pm2 start FILE), or give --cluster FILE where the verb allows it` };
      return { missing: `cannot talk to the PM2 daemon of ${home}: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /** One action. Idempotent ones are asked again when no reply came; others wait long once. */
  trigger(action: string, param: string | undefined, idempotent: boolean): Promise<Rows> {
    return idempotent
      ? this.client.triggerWithRetry(this.name, action, param, 15_000, 20)
      // Not idempotent (a default-target switch would switch back): one attempt, a long wait.
      : this.client.triggerWithRetry(this.name, action, param, 600_000, 1);
  }

  /** The `status` action's reply (answers at once), or undefined when none came in time. */
  async status(attemptMs = 2500, attempts = 3): Promise<Record<string, unknown> | undefined> {
    try {
      return (await this.client.triggerWithRetry(this.name, 'status', undefined, attemptMs, attempts))[0]?.value as Record<string, unknown> | undefined;
    } catch { return undefined; }
  }

  /** The PM2 bus (agents' state reports and results), for progress while an action runs. */
  bus(): ReturnType<Client['launchBus']> {
    return this.client.launchBus();
  }

  close(): void {
    this.client.disconnect();
    // Whatever PM2 socket is still closing must not keep the command alive; everything is
    // written by then.
    setTimeout(() => process.exit(), 200).unref();
  }
}
