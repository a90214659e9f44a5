/**
 * Port blocks for tests that run real servers. Test files run in parallel, so each one owns a
 * block of 100 ports and never steps outside it. Blocks by owner:
 *   21000–21999 sandbox suite tests      22000–22999 agent contract tests
 *   23000–23999 probe tests              24000–24999 PM2 / coordinator tests
 *   25000–25999 demo and benchmarks      26000–26999 spare
 */
export function portBlock(owner: 'sandbox' | 'contract' | 'probes' | 'pm2' | 'demo' | 'spare', index: number): number {
  const base = { sandbox: 21000, contract: 22000, probes: 23000, pm2: 24000, demo: 25000, spare: 26000 }[owner];
  if (index < 0 || index > 9) throw new Error(`port block index ${index} out of 0..9`);
  return base + index * 100;
}
