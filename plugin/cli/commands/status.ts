/**
 * `msgha status [--json]`: asks the local coordinator (`pm2 trigger msgha status`, or the
 * module's name `pm2-messaging-ha`) through the PM2 daemon of $PM2_HOME and prints a table
 * group × resource. Exit 0 = answered, 1 = no coordinator answered, 2 = usage.
 */
import type { StatusReply } from '../../coordinator/coordinator';

export const usage = 'status [--json]                 state of every group and resource on this node';

/** App names the coordinator runs under: ecosystem app, or PM2 module. */
const COORDINATOR_NAMES = ['msgha', 'pm2-messaging-ha'];
const STATUS_TIMEOUT_MS = 15_000;

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  if (args.some((a) => a !== '--json')) {
    process.stderr.write(`usage: msgha ${usage}\n`);
    return 2;
  }
  // Loaded here so that other verbs never load PM2.
  const client = await import('../../coordinator/pm2-client');
  let reply: (StatusReply & { ok?: boolean; error?: string }) | undefined;
  let tried = '';
  let timer: NodeJS.Timeout | undefined;
  try {
    const ask = async (): Promise<void> => {
      await client.connect();
      const apps = await client.list();
      const name = COORDINATOR_NAMES.find((n) => apps.some((a) => a.name === n && a.status === 'online'));
      tried = name ?? COORDINATOR_NAMES.join(' or ');
      if (name) {
        const rows = await client.triggerWithRetry(name, 'status', undefined, 2500, 5);
        reply = rows[0]?.value as typeof reply;
      }
    };
    // The status action answers at once; a silent PM2 must not hang the operator's shell.
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${STATUS_TIMEOUT_MS / 1000}s`)), STATUS_TIMEOUT_MS); });
    await Promise.race([ask(), timeout]);
  } catch (err) {
    process.stderr.write(`msgha status: ${err instanceof Error ? err.message : String(err)}\n`);
  } finally {
    clearTimeout(timer);
    client.disconnect();
    // PM2 opens a bus socket per trigger and disconnect() closes only the last one: after a
    // retried trigger the process would never exit. Everything is written by then.
    setTimeout(() => process.exit(), 200).unref();
  }
  if (!reply) {
    process.stderr.write(`msgha status: no coordinator answered (looked for a running ${tried} in PM2_HOME ${process.env.PM2_HOME ?? '~/.pm2'})\n`);
    return 1;
  }
  if (json) {
    process.stdout.write(JSON.stringify(reply, null, 2) + '\n');
    return 0;
  }
  if (reply.error) {
    process.stdout.write(`coordinator not running a cluster: ${reply.error}\n`);
    return 1;
  }
  process.stdout.write(`${reply.summary}\n`);
  const rows: string[][] = [['GROUP', 'RESOURCE', 'STATE', 'RESTARTS', 'REASON']];
  for (const g of reply.groups) {
    rows.push([g.name, '', g.state, '', g.last ? `${g.last.from} → ${g.last.to}: ${g.last.reason}` : g.reason]);
    for (const r of g.resources) rows.push(['', r.name, r.state, String(r.restarts), r.violation ?? r.reason]);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) {
    process.stdout.write(r.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd() + '\n');
  }
  return 0;
}
