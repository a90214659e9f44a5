/**
 * The fence's watchdog device (/dev/watchdog, softdog, or a hypervisor's emulated one): the
 * kernel resets the node when nobody writes to it for W. The fence pets it only while
 * - no armed group's kill deadline is nearer than W (T2: the reset can never land after the
 *   deadline F, so a holder that does not confirm its group stopped by F is reset by F),
 * - no group fired at its deadline or at a suspend (then the reset is committed: petting stops
 *   for good), and no fired group still has live processes;
 * and a frozen fence (SIGSTOP of every process, a livelocked node) pets nothing, so the node
 * resets within W of the freeze and never after the deadline F — before any other node can
 * claim (T3).
 * Guarantees: the fd is close-on-exec (Node opens every file so), so spawned daemons never hold
 * it; open never blocks (O_NONBLOCK: a FIFO standing in for the device needs a reader); an exit
 * writes the magic 'V' first (drivers without nowayout then stop the timer), unless petting had
 * stopped for good. Not
 * guaranteed: the driver's timeout is set (through util-linux `wdctl`) and read back (sysfs) only
 * where both exist; otherwise the configured timeout is trusted. A whole-VM pause stops a
 * softdog's timer with the kernel: only the hypervisor's watchdog or storage fencing covers it.
 * Only node: modules (the fence has no dependencies).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { WatchdogStatus } from './protocol';

/** The legacy /dev/watchdog is misc 10:130, an alias of watchdog0. */
const MISC_WATCHDOG = { major: 10, minor: 130 };

/** The watchdog class directory in sysfs of a character device, when it is one. */
export function sysfsDir(device: string): string | undefined {
  try {
    const st = fs.statSync(device);
    if (!st.isCharacterDevice()) return undefined;
    const major = Math.floor(st.rdev / 256) & 0xfff;
    const minor = (st.rdev & 0xff) | (Math.floor(st.rdev / 4096) & ~0xff);
    return major === MISC_WATCHDOG.major && minor === MISC_WATCHDOG.minor ? '/sys/class/watchdog/watchdog0' : `/sys/dev/char/${major}:${minor}`;
  } catch {
    return undefined;
  }
}

/** The driver's timeout in ms, or undefined when it cannot be read. */
export function driverTimeoutMs(device: string): number | undefined {
  const dir = sysfsDir(device);
  if (!dir) return undefined;
  try {
    const s = Number(fs.readFileSync(`${dir}/timeout`, 'utf8').trim());
    return Number.isFinite(s) && s > 0 ? s * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export class Watchdog {
  private fd: number | undefined;
  private lastPet = -Infinity;
  private pets = 0;
  private error: string | undefined;
  private stoppedFor: string | undefined;
  private withheld = false;
  /** W: the driver's timeout when readable, else the configured one (undefined: unknown). */
  readonly timeoutMs: number | undefined;
  /** Several pets per W, at most one a second. */
  readonly petMs: number;

  constructor(readonly device: string, configuredMs: number | undefined, private readonly log: (e: Record<string, unknown>) => void) {
    let hw = driverTimeoutMs(device);
    if (configuredMs !== undefined && hw !== undefined && hw !== configuredMs) {
      // Before we open it: the device admits one opener. wdctl closes it with the magic 'V'.
      const r = spawnSync('wdctl', ['--settimeout', String(Math.round(configuredMs / 1000)), device], { stdio: 'ignore', timeout: 5000 });
      const after = driverTimeoutMs(device);
      log({ event: 'watchdog-timeout', device, configuredMs, driverMs: hw, setExit: r.status, nowMs: after });
      hw = after;
    }
    this.timeoutMs = hw ?? configuredMs;
    this.petMs = Math.min(1000, (this.timeoutMs ?? 4000) / 4);
    try {
      this.fd = fs.openSync(device, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
      this.error = `cannot open ${device}: ${(e as Error).message}`;
    }
    log({ event: 'watchdog', device, open: this.fd !== undefined, timeoutMs: this.timeoutMs, configuredMs, error: this.error });
  }

  get open(): boolean { return this.fd !== undefined; }

  /**
   * Called every tick: pets when the last pet is `petMs` old and petting is allowed.
   * `nearestDeadline`: the earliest kill deadline of the armed groups (Infinity when none);
   * `survivors`: a fired group still has live processes.
   */
  tick(now: number, nearestDeadline: number, survivors: boolean): void {
    if (this.fd === undefined || this.stoppedFor) return;
    const horizon = this.timeoutMs === undefined ? Infinity : nearestDeadline - this.timeoutMs;
    const withhold = survivors || now > horizon;
    if (withhold !== this.withheld) {
      this.withheld = withhold;
      this.log({ event: withhold ? 'watchdog-withheld' : 'watchdog-resumed', why: survivors ? 'a fired group has live processes' : withhold ? 'a kill deadline is nearer than W' : undefined });
    }
    if (!withhold && now - this.lastPet >= this.petMs) this.pet(now);
  }

  /** A deadline or suspend fire: the node must reset (it may not have stopped its I/O). */
  stopForGood(why: string): void {
    if (this.fd === undefined || this.stoppedFor) return;
    this.stoppedFor = why;
    this.log({ event: 'watchdog-stopped', why, resetWithinMs: this.timeoutMs });
  }

  private pet(now: number): void {
    try {
      fs.writeSync(this.fd!, 'x');
      this.lastPet = now;
      this.pets++;
    } catch (e) {
      // EAGAIN from a full FIFO standing in for the device; a real device never refuses a pet.
      if (!this.error) this.log({ event: 'watchdog-pet-failed', error: (e as Error).message });
      this.error = `pet failed: ${(e as Error).message}`;
    }
  }

  /**
   * Exit: the magic close, so that the node does not reset because the fence exits — except
   * once petting stopped for good: that reset is for safety and an exit must not cancel it.
   */
  close(): void {
    if (this.fd === undefined) return;
    if (!this.stoppedFor) { try { fs.writeSync(this.fd, 'V'); } catch { /* nowayout drivers reset anyway */ } }
    try { fs.closeSync(this.fd); } catch { /* ignore */ }
    this.fd = undefined;
  }

  status(): WatchdogStatus {
    return {
      device: this.device, timeoutMs: this.timeoutMs, open: this.open, error: this.error, stoppedFor: this.stoppedFor,
      withheld: this.withheld || !!this.stoppedFor, pets: this.pets, lastPetMono: this.pets ? this.lastPet : undefined,
    };
  }
}
