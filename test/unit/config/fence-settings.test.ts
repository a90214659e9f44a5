// cluster.fence: the watchdog device and its timeout W, derived from the lease profile and
// checked against it (T2: W ≤ K, whole seconds); the warning for a shared disk with a
// non-cluster file system and no watchdog; what the coordinator hands the fence (fenceOptions).
import { describe, expect, it } from 'vitest';
import type { ClusterDefinition } from '../../../plugin/model/cluster-types';
import { formatProblem } from '../../../plugin/model/problems';
import { validateDefinition } from '../../../plugin/config/validate';
import { fenceOptions } from '../../../plugin/fence/client';
import { checkWatchdogMs, defaultWatchdogMs, getProfile } from '../../../plugin/lease/profiles';
import { baseDefinition } from './base-definition';

const FILE = '/etc/msgha/test.config.js';

function problems(mutate: (d: ClusterDefinition & { cluster: Record<string, unknown> }) => void): string[] {
  const d = baseDefinition() as ClusterDefinition & { cluster: Record<string, unknown> };
  mutate(d);
  return validateDefinition(d, FILE).problems.map(formatProblem).map((l) => l.slice(FILE.length + 2));
}

describe('cluster.fence.watchdog', () => {
  it('the reference definition (nfs, ext4 disks, /dev/watchdog) has no problem', () => {
    expect(problems(() => {})).toEqual([]);
  });

  it('without a watchdog, every shared disk with a non-cluster file system is warned about', () => {
    const p = problems((d) => { delete d.cluster.fence; });
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(/^directory\/disk: FSType: warning: ext4 is not a cluster file system and neither a watchdog nor a FenceProgram is configured: a holder whose processes freeze and thaw \(and its kernel meanwhile\) can still write to the disk after another node mounted it/);
    expect(p[0]).toMatch(/give the Mount a FenceProgram .* or set cluster\.fence\.watchdog/);
    expect(p[1]).toMatch(/^mail\/disk: FSType: warning: ext4/);
  });

  it('no warning for a disk whose Mount has a FenceProgram (the storage refuses a frozen holder)', () => {
    expect(problems((d) => {
      delete d.cluster.fence;
      for (const g of Object.values(d.groups)) for (const r of Object.values(g.resources)) if (r.type === 'Mount') r.FenceProgram = '/bin/true';
    })).toEqual([]);
    // A missing one is told where it must live.
    const p = problems((d) => { d.groups.mail!.resources.disk!.FenceProgram = '/usr/local/sbin/msgha-scsi-fence /dev/sdb'; });
    expect(p).toEqual([expect.stringMatching(/^mail\/disk: FenceProgram: warning: \/usr\/local\/sbin\/msgha-scsi-fence does not exist on this node \(it must exist on every node that may run the group \(on each node's own disk: it runs before the shared disk is mounted\)\)/)]);
  });

  it('no warning for a cluster file system, nor on a single-node cluster', () => {
    expect(problems((d) => {
      delete d.cluster.fence;
      for (const g of Object.values(d.groups)) for (const r of Object.values(g.resources)) if (r.type === 'Mount') r.FSType = 'gfs2';
    })).toEqual([]);
    expect(problems((d) => {
      delete d.cluster.fence;
      d.cluster.nodes = ['mx1'];
      for (const g of Object.values(d.groups)) g.systemList = ['mx1'];
    }).filter((l) => l.includes('FSType'))).toEqual([]);
  });

  it('a timeout that breaks T2 of the profile is an error naming the numbers', () => {
    expect(problems((d) => { d.cluster.fence = { watchdog: '/dev/watchdog', watchdogTimeout: 12 }; })).toEqual([
      'cluster: fence.watchdogTimeout: 12 s does not fit lease profile nfs: T2 violated: hardware watchdog timeout W=12000 ms must be ≤ stop budget K=10000 ms, so the node resets before F = FS + K (leave it unset (5 s for nfs) or use 1–10 s)',
    ]);
    expect(problems((d) => { d.cluster.lease = { profile: 'local' }; d.cluster.fence = { watchdog: '/dev/watchdog', watchdogTimeout: 6 }; })).toEqual([]);
    expect(problems((d) => { d.cluster.lease = { profile: 'local' }; d.cluster.fence = { watchdog: '/dev/watchdog', watchdogTimeout: 7 }; })[0])
      .toMatch(/fence\.watchdogTimeout: 7 s does not fit lease profile local: T2 violated: .*K=6000 ms/);
  });

  it('a timeout must be whole seconds, at least 1', () => {
    expect(problems((d) => { d.cluster.fence = { watchdog: '/dev/watchdog', watchdogTimeout: 2.5 }; })[0])
      .toMatch(/fence\.watchdogTimeout: 2\.5 s does not fit lease profile nfs: watchdog timeout W must be a whole number of seconds, at least 1 \(got 2\.5 s\)/);
    expect(problems((d) => { d.cluster.fence = { watchdog: '/dev/watchdog', watchdogTimeout: 0 }; })[0]).toMatch(/at least 1 \(got 0 s\)/);
  });

  it('the fast profile cannot have a watchdog (K 0.6 s < 1 s)', () => {
    expect(problems((d) => { d.cluster.lease = { profile: 'fast' }; })).toEqual([
      "cluster: fence.watchdog: lease profile fast has a stop budget K of 0.6 s, shorter than the shortest watchdog timeout (1 s): T2 (W ≤ K) cannot hold (use lease profile 'local' or 'nfs' with a watchdog, or remove fence.watchdog)",
    ]);
  });

  it('shape errors: not an object, unknown key, relative path; a timeout without a device is only a warning', () => {
    expect(problems((d) => { d.cluster.fence = '/dev/watchdog' as never; })).toEqual(["cluster: fence: must be an object, e.g. { watchdog: '/dev/watchdog' }"]);
    expect(problems((d) => { d.cluster.fence = { watchdog: '/dev/watchdog', watchdogTimout: 5 } as never; })).toEqual(['cluster: fence.watchdogTimout: unknown key (known: watchdog, watchdogTimeout)']);
    expect(problems((d) => { d.cluster.fence = { watchdog: 'watchdog' }; })[0]).toMatch(/^cluster: fence\.watchdog: must be the absolute path of a watchdog device/);
    const p = problems((d) => { d.cluster.fence = { watchdogTimeout: 5 }; });
    expect(p[0]).toBe('cluster: fence.watchdogTimeout: warning: has no effect without fence.watchdog');
    expect(p.filter((l) => l.includes('FSType'))).toHaveLength(2);
  });

  it('a watchdog without sharedDir has no effect (warning)', () => {
    expect(problems((d) => { delete d.cluster.sharedDir; })).toContain('cluster: fence.watchdog: warning: has no effect without sharedDir: the fence runs only on a cluster with a lease');
  });
});

describe('watchdog timing from the lease profile', () => {
  it('W defaults to half the stop budget in whole seconds; none for fast', () => {
    expect(defaultWatchdogMs(getProfile('nfs').timings)).toBe(5000);
    expect(defaultWatchdogMs(getProfile('local').timings)).toBe(3000);
    expect(defaultWatchdogMs(getProfile('fast').timings)).toBeUndefined();
    expect(checkWatchdogMs(getProfile('local').timings, 3000)).toEqual([]);
    expect(checkWatchdogMs(getProfile('local').timings, 7000)).toHaveLength(1);
  });

  it('fenceOptions: the device and W the coordinator starts the fence with', () => {
    const nfs = getProfile('nfs').timings;
    expect(fenceOptions(undefined, nfs)).toEqual({});
    expect(fenceOptions({ watchdog: '/dev/watchdog' }, nfs)).toEqual({ watchdog: '/dev/watchdog', watchdogTimeoutMs: 5000 });
    expect(fenceOptions({ watchdog: '/dev/watchdog1', watchdogTimeout: 8 }, nfs)).toEqual({ watchdog: '/dev/watchdog1', watchdogTimeoutMs: 8000 });
  });
});
