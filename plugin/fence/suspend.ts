/**
 * Suspend detection for the fence. CLOCK_MONOTONIC (process.hrtime) stops while the machine is
 * suspended; CLOCK_BOOTTIME does not. Node has no boottime call, but the first field of
 * /proc/uptime IS CLOCK_BOOTTIME (10 ms resolution). We compare how far each advanced since the
 * last tick: boottime ahead by more than `thresholdMs` means the machine slept, so every armed
 * deadline may have passed in real time while our timers were stopped — fire at once.
 * /proc/stat btime was rejected: it is derived from the wall clock (realtime − boottime) and
 * jumps with `date -s` or NTP steps, which would cause false fires.
 * Guarantees: never throws; a missing /proc/uptime disables detection (reported by enabled()).
 */
import * as fs from 'node:fs';

export function readBoottimeMs(file = '/proc/uptime'): number | undefined {
  try {
    const v = Number(fs.readFileSync(file, 'utf8').split(' ')[0]);
    return Number.isFinite(v) ? v * 1000 : undefined;
  } catch {
    return undefined;
  }
}

const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export class SuspendDetector {
  /** boottime − monotonic at the last check: grows only by time spent suspended. */
  private offset: number | undefined;

  constructor(private readonly file = '/proc/uptime', private readonly thresholdMs = 1000) {
    const boot = readBoottimeMs(file);
    this.offset = boot === undefined ? undefined : boot - monoMs();
  }

  enabled(): boolean { return this.offset !== undefined; }

  /**
   * Call on every tick: returns the ms by which boottime ran ahead of monotonic (a suspend),
   * else 0. Compared as an offset, not per tick, so a late tick or a reader stall never adds up
   * to a false suspend (a lagging reader shows a negative offset, then returns to zero).
   */
  check(): number {
    const boot = readBoottimeMs(this.file);
    if (boot === undefined) return 0;
    const offset = boot - monoMs();
    if (this.offset === undefined) { this.offset = offset; return 0; }
    const ahead = offset - this.offset;
    if (ahead > this.thresholdMs) { this.offset = offset; return ahead; }
    return 0;
  }
}
