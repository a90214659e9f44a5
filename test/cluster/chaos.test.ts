// The short chaos run of `npm test`: ten faults of the seeded schedule (bench/chaos, docs/chaos.md)
// on the three-node namespace cluster under steady SMTP and IMAP load. The promises must hold —
// nothing on two nodes at once (overlaps while a node is paused are reported apart), every message
// acknowledged with 250 delivered exactly once, every fault recovered. A failure keeps the nodes'
// logs under /tmp/mh-chaos-logs-<pid>/ and prints the schedule's seed to replay it
// (`npm run chaos -- --faults 10 --seed <seed>`). Needs root and `npm run build`.
import { expect, it } from 'vitest';
import { RUN_LOCK_WAIT_MS } from '../fixtures/cluster/cluster';
import { runCampaign } from '../../bench/chaos/campaign';
import { held } from '../../bench/chaos/main';
import { markdown } from '../../bench/chaos/report';

/** A fixed seed: the same ten faults every run (a different seed is a different test). */
const SEED = 20261206;

it('ten faults under load: no overlap, no acknowledged mail lost or duplicated, every fault recovered', async () => {
  const lines: string[] = [];
  const r = await runCampaign({
    faults: 10, seed: SEED, profile: 'fast', tag: 'chs', net: 27, logDir: `/tmp/mh-chaos-logs-${process.pid}`,
    say: (l) => { lines.push(l); process.stdout.write(`[chaos] ${l}\n`); },
  });
  const report = markdown(r);
  process.stdout.write(`${report}\n`);
  expect(r.faults.length).toBe(10);
  expect(r.mail.acked).toBeGreaterThan(50);
  expect(held(r), report).toBe(true);
}, RUN_LOCK_WAIT_MS + 900_000);
