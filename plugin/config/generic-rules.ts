/**
 * Rules on the generic attributes of every resource that involve more than one value
 * or the local file system: timings that do not fit together, and the files root runs or reads
 * for the resource (its programs and EnvFile) under the trusted-path rule. Those are the only
 * files looked at during validation (other roots may live on a disk mounted on another node),
 * and a missing one is only a warning for the same reason.
 */
import * as fs from 'node:fs';
import type { CheckedResource, Report } from '../model/check-context';
import { num, str } from '../model/check-context';
import { toArgv } from '../core/argv';
import { FORBIDDEN_ENV, FORBIDDEN_ENV_PREFIXES, findUser, forbiddenEnvKeys, parseEnvFile } from '../core/exec';
import { checkTrustedPath, describeBreach, type TrustBreach } from '../core/trusted-path';
import { MAX_TIMER_SECONDS } from '../model/values';

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
  // PM2's stop timeout of the agent (and of the coordinator) is their sum, plus slack.
  const stop = (num(r.attrs.OfflineTimeout) ?? 0) + (num(r.attrs.CleanTimeout) ?? 0);
  if (stop > MAX_TIMER_SECONDS) {
    report.error(r.where, 'OfflineTimeout', `OfflineTimeout + CleanTimeout is ${stop} s, more than ${MAX_TIMER_SECONDS} s: PM2's stop timer (their sum) would overflow and kill the agent at once`,
      'lower OfflineTimeout or CleanTimeout');
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

/** The uids besides root that may own a resource's files: its User's, when it is known here. */
function ownersFor(r: CheckedResource): number[] {
  const user = str(r.attrs.User);
  if (user === undefined) return [];
  try {
    const ids = findUser(fs.readFileSync('/etc/passwd', 'utf8'), user);
    return ids && ids.uid !== 0 ? [ids.uid] : [];
  } catch {
    return [];
  }
}

/** A breach of the trusted-path rule as an error on `attribute`, with the fix as its hint. */
function reportBreach(report: Report, r: CheckedResource, attribute: string, what: string, file: string, b: TrustBreach): void {
  report.error(r.where, attribute, describeBreach(what, file, b), b.fix);
}

/**
 * The trusted-path rule (core/trusted-path.ts) on every program the resource names (each
 * attribute of kind command: StartProgram, StopProgram, CleanProgram, MonitorProgram) and on its
 * EnvFile, which must also not set a variable that changes how programs start. A file missing
 * here is only a warning: it may live on a disk mounted on another node. The agents check the
 * same rule again right before each run (core/exec.ts), vendor scripts of the types included.
 */
/**
 * The TLS trust of the deep checks: ProbeSSLVerify false sends the test password to whoever
 * answers; ProbeCAFile is read as root at each check, so it follows the trusted-path rule.
 */
export function checkProbeTrust(report: Report, r: CheckedResource): void {
  if (r.attrs.ProbeSSLVerify === false) {
    report.warn(r.where, 'ProbeSSLVerify', 'deep checks that log in over TLS send the test password without checking who answers',
      'give the CA of the daemon\'s certificate in ProbeCAFile instead');
  }
  const ca = str(r.attrs.ProbeCAFile);
  if (ca === undefined) return;
  const t = checkTrustedPath(ca);
  if (!t.ok && t.breach.code === 'ENOENT') report.warn(r.where, 'ProbeCAFile', `${ca} does not exist on this node`, 'it must exist on every node that may run the group');
  else if (!t.ok) reportBreach(report, r, 'ProbeCAFile', 'CA file', ca, t.breach);
}

export function checkTrustedFiles(report: Report, r: CheckedResource): void {
  checkProbeTrust(report, r);
  const owners = ownersFor(r);
  for (const decl of r.type.attributes) {
    if (decl.kind !== 'command') continue;
    const program = toArgv(r.attrs[decl.name])?.[0];
    if (!program) continue;
    const t = checkTrustedPath(program, { owners });
    if (!t.ok && t.breach.code === 'ENOENT') {
      const where = decl.runsBeforeMount ? "on each node's own disk: it runs before the shared disk is mounted" : 'put it on the shared disk';
      report.warn(r.where, decl.name, `${program} does not exist on this node`, `it must exist on every node that may run the group (${where})`);
      continue;
    }
    if (!t.ok) {
      reportBreach(report, r, decl.name, 'program', program, t.breach);
      continue;
    }
    const st = fs.statSync(t.real, { throwIfNoEntry: false });
    if (st && (st.mode & 0o111) === 0) report.error(r.where, decl.name, `${program} is not executable`, `chmod 755 ${t.real}`);
  }
  const envFile = str(r.attrs.EnvFile);
  if (envFile === undefined) return;
  const t = checkTrustedPath(envFile, { owners });
  if (!t.ok && t.breach.code === 'ENOENT') {
    report.warn(r.where, 'EnvFile', `${envFile} does not exist on this node`, 'it must exist on every node that may run the group');
    return;
  }
  if (!t.ok) {
    reportBreach(report, r, 'EnvFile', 'EnvFile', envFile, t.breach);
    return;
  }
  let text: string;
  try {
    text = fs.readFileSync(t.real, 'utf8');
  } catch (err) {
    report.error(r.where, 'EnvFile', `${envFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    return;
  }
  const forbidden = forbiddenEnvKeys(parseEnvFile(text));
  if (forbidden.length > 0) {
    report.error(r.where, 'EnvFile', `${envFile} sets ${forbidden.join(', ')}: an EnvFile may not set variables that change how programs start (${FORBIDDEN_ENV_PREFIXES.map((p) => `${p}*`).join(', ')}, ${FORBIDDEN_ENV.join(', ')})`,
      'remove those lines; a daemon that needs one sets it in its own start script');
  }
}
