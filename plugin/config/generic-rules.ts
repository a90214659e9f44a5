/**
 * Rules on the generic attributes of every resource that involve more than one value
 * or the local file system: timings that do not fit together, and the MonitorProgram file.
 * MonitorProgram is the only file looked at during validation (other roots may live on a disk
 * mounted on another node), and a missing one is only a warning for the same reason.
 */
import * as fs from 'node:fs';
import type { CheckedResource, Report } from '../model/check-context';
import { num } from '../model/check-context';
import { toArgv } from '../core/argv';

/** Why an hour: beyond it a deep check or a group start is rarer or slower than anyone expects. */
const ONE_HOUR = 3600;
/** Why 5 s: even a trivial daemon start or stop (fork, pid file, socket bind) may need that. */
const SHORT_TIMEOUT = 5;

export function checkTimings(report: Report, r: CheckedResource): void {
  const interval = num(r.attrs.MonitorInterval);
  const monitorTimeout = num(r.attrs.MonitorTimeout);
  const slm = num(r.attrs.SecondLevelMonitor);
  if (interval !== undefined && monitorTimeout !== undefined && monitorTimeout > interval) {
    report.warn(r.where, 'MonitorTimeout', `MonitorTimeout (${monitorTimeout} s) is longer than MonitorInterval (${interval} s): a slow cycle delays the next one`,
      'make MonitorTimeout ≤ MonitorInterval, or leave it unset: it then follows MonitorInterval');
  }
  if (interval !== undefined && slm !== undefined && slm > 0 && interval * slm > ONE_HOUR) {
    report.warn(r.where, 'SecondLevelMonitor', `the deep check runs only every ${interval * slm} s (MonitorInterval ${interval} s × ${slm}), more than an hour`,
      'lower SecondLevelMonitor or MonitorInterval');
  }
  for (const key of ['OnlineTimeout', 'OfflineTimeout'] as const) {
    const t = num(r.attrs[key]);
    if (t !== undefined && t < SHORT_TIMEOUT) {
      report.warn(r.where, key, `${key} of ${t} s is very short: a slow start or stop would be taken for a failure`, `use at least ${SHORT_TIMEOUT} s`);
    }
  }
  const tolerance = num(r.attrs.ToleranceLimit);
  if (interval !== undefined && tolerance !== undefined && interval * (tolerance + 1) > ONE_HOUR) {
    report.warn(r.where, 'ToleranceLimit', `a dead resource is declared FAULTED only after ${interval * (tolerance + 1)} s`, 'lower ToleranceLimit or MonitorInterval');
  }
}

/** A group whose resources start (or stop) one after the other for more than an hour. */
export function checkGroupTimings(report: Report, group: string, resources: readonly CheckedResource[]): void {
  const sum = (key: string): number => resources.reduce((s, r) => s + (num(r.attrs[key]) ?? 0), 0);
  const online = sum('OnlineTimeout');
  const offline = sum('OfflineTimeout') + sum('CleanTimeout');
  if (online > ONE_HOUR) {
    report.warn(group, 'OnlineTimeout', `the OnlineTimeouts of the group's resources add up to ${online} s: a failing start could hold the group for over an hour`, 'lower some OnlineTimeout values');
  }
  if (offline > ONE_HOUR) {
    report.warn(group, 'OfflineTimeout', `OfflineTimeout + CleanTimeout of the group's resources add up to ${offline} s: a failing stop could delay a failover by over an hour`, 'lower some OfflineTimeout/CleanTimeout values');
  }
}

export function checkMonitorProgram(report: Report, r: CheckedResource): void {
  const program = toArgv(r.attrs.MonitorProgram)?.[0];
  if (!program) return;
  let st: fs.Stats;
  try {
    st = fs.statSync(program);
  } catch {
    report.warn(r.where, 'MonitorProgram', `${program} does not exist on this node`, 'it must exist on every node that may run the group (put it on the shared disk)');
    return;
  }
  if (!st.isFile()) {
    report.error(r.where, 'MonitorProgram', `${program} is not a regular file`);
    return;
  }
  if ((st.mode & 0o111) === 0) report.error(r.where, 'MonitorProgram', `${program} is not executable`, `chmod 755 ${program}`);
  if ((st.mode & 0o002) !== 0) {
    report.error(r.where, 'MonitorProgram', `${program} is world-writable: anyone could make the cluster run their code`, `chmod o-w ${program}`);
  } else if ((st.mode & 0o020) !== 0 && st.gid !== 0) {
    report.warn(r.where, 'MonitorProgram', `${program} is writable by group ${st.gid}`, `chmod g-w ${program} unless that group is trusted`);
  }
}
