/**
 * Generates dashboards/*.json and dashboards/alerts.yml. `node dist/plugin/metrics/dashboards/generate.js [DIR]`
 * writes them (default: the package's dashboards/ folder); a test checks that the committed
 * files equal `generateAll()`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Dashboard } from './builder';
import { alertsYaml } from './alerts';
import { clusterOverview } from './cluster-overview';
import { leaseHealth } from './lease-health';
import { resourceDetail } from './resource-detail';

export function allDashboards(): Record<string, Dashboard> {
  return {
    'cluster-overview.json': clusterOverview(),
    'resource-detail.json': resourceDetail(),
    'lease-health.json': leaseHealth(),
  };
}

/** File name → contents. */
export function generateAll(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, d] of Object.entries(allDashboards())) files[name] = JSON.stringify(d, null, 2) + '\n';
  files['alerts.yml'] = alertsYaml();
  return files;
}

if (require.main === module) {
  // dist/plugin/metrics/dashboards → <package>/dashboards
  const dir = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', '..', '..', 'dashboards'));
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(generateAll())) {
    fs.writeFileSync(path.join(dir, name), text);
    process.stdout.write(`wrote ${path.join(dir, name)}\n`);
  }
}
