/**
 * `npm run chaos [-- --faults N --seed S --profile fast|local --minutes M --kinds K,… --logs DIR]`: one chaos
 * campaign (campaign.ts) on the namespace cluster of this machine; writes bench/results/chaos.json
 * and chaos.md. Exit 0 when the promises held (no violation, no acknowledged message lost or
 * duplicated, every fault recovered), 1 otherwise, 2 for bad arguments. Needs root and a build.
 */
import * as path from 'node:path';
import { resultsDir } from '../stats';
import { runCampaign, type CampaignResult } from './campaign';
import { writeChaosResults } from './report';
import { FAULT_KINDS, type FaultKind } from './schedule';

export interface ChaosArgs { faults: number; seed: number; profile: 'fast' | 'local'; minutes?: number; logs?: string; kinds?: FaultKind[] }

export function parseArgs(argv: string[]): ChaosArgs | string {
  const out: ChaosArgs = { faults: 200, seed: Date.now() % 1_000_000, profile: 'fast' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[i + 1];
    const num = (min: number, max: number): number | string => {
      const n = Number(v);
      return v !== undefined && Number.isInteger(n) && n >= min && n <= max ? n : `${k} takes a whole number from ${min} to ${max}`;
    };
    let r: number | string | undefined;
    switch (k) {
      case '--faults': r = num(1, 100_000); if (typeof r === 'number') out.faults = r; break;
      case '--seed': r = num(0, 2 ** 32 - 1); if (typeof r === 'number') out.seed = r; break;
      case '--minutes': r = num(1, 24 * 60); if (typeof r === 'number') out.minutes = r; break;
      case '--profile':
        if (v !== 'fast' && v !== 'local') return '--profile takes fast or local';
        out.profile = v; break;
      case '--kinds': {
        const list = (v ?? '').split(',').filter(Boolean);
        const bad = list.filter((x) => !(FAULT_KINDS as readonly string[]).includes(x));
        if (!list.length || bad.length) return `--kinds takes a comma list of ${FAULT_KINDS.join(', ')}${bad.length ? ` (unknown: ${bad.join(', ')})` : ''}`;
        out.kinds = list as FaultKind[]; break;
      }
      case '--logs':
        if (!v || !path.isAbsolute(v)) return '--logs takes an absolute directory';
        out.logs = v; break;
      default: return `unknown option ${k} (known: --faults N --seed S --profile fast|local --minutes M --kinds K,… --logs DIR)`;
    }
    if (typeof r === 'string') return r;
    i += 1;
  }
  return out;
}

/** The promises held: nothing on two nodes, no acknowledged mail lost or twice, every fault recovered. */
export function held(r: CampaignResult): boolean {
  const stuck = r.faults.some((f) => f.recoveredMs === undefined && !(f.note ?? '').startsWith('not waited'));
  return r.violations.length === 0 && !r.mail.unchecked && r.mail.lost.length === 0 && r.mail.duplicated.length === 0 && !stuck;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (typeof a === 'string') { process.stderr.write(`chaos: ${a}\n`); process.exitCode = 2; return; }
  const logDir = a.logs ?? path.join(resultsDir(), 'chaos-logs', `seed-${a.seed}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  process.stdout.write(`chaos: ${a.faults} faults, seed ${a.seed}, profile ${a.profile}${a.minutes ? `, at most ${a.minutes} min` : ''}; logs of failures under ${logDir}\n`);
  const r = await runCampaign({ ...a, logDir, say: (l) => process.stdout.write(`${l}\n`) });
  writeChaosResults(r);
  process.stdout.write(`chaos: ${r.faults.length} faults, ${r.violations.length} violations, ${r.pausedOverlaps.length} overlaps while paused, mail ${r.mail.acked} acknowledged / ${r.mail.lost.length} lost / ${r.mail.duplicated.length} duplicated; bench/results/chaos.md\n`);
  process.exitCode = held(r) ? 0 : 1;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
