/**
 * Link events: `ip -o monitor link` reports every change of a device's flags (carrier lost or
 * back, set down or up) the moment the kernel makes it. The NIC type watches them so its agent
 * checks the link at once instead of at the next MonitorInterval: a pulled cable is seen by the
 * first check at 0 s, not somewhere in the next second (ToleranceLimit still counts checks one
 * MonitorInterval apart after that). A detached port changes no flag: the ping hosts find it.
 *
 * Guarantees: argv only, a minimal environment; the monitor dies with its agent (setpriv
 * --pdeathsig), so an agent killed with SIGKILL leaves no `ip` behind; close() kills it; a
 * monitor that cannot start or exits is logged once and not restarted — the interval checks go
 * on as before, so a missing event costs time, never a wrong verdict. Lines are bounded.
 */
import { spawn } from 'node:child_process';
import * as readline from 'node:readline';
import type { Logger } from '../core/log';

/** A line of `ip monitor` longer than this is not a link line. */
const MAX_LINE = 4096;

export interface LinkEvents { close(): void }

/** The `ip -o monitor link` line names `device` ("3: eth0: <…>" or "3: eth0@if7: <…>", "Deleted …" too). */
export function namesDevice(line: string, device: string): boolean {
  const m = /^(?:Deleted\s+)?\d+:\s+([^:@\s]+)[@:]/.exec(line);
  return m?.[1] === device;
}

export function watchLinkEvents(device: string, containerName: string | undefined, changed: () => void, log?: Logger): LinkEvents {
  const ip = ['ip', ...(containerName ? ['-n', containerName] : []), '-o', 'monitor', 'link'];
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...ip], {
    stdio: ['ignore', 'pipe', 'ignore'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
  });
  let closed = false;
  child.on('error', (err) => { if (!closed) log?.warn(`link events of ${device} not watched (${err.message}): checked every MonitorInterval only`); });
  child.on('exit', (code, signal) => { if (!closed) log?.warn(`link event monitor of ${device} ended (${signal ?? code}): checked every MonitorInterval only`); });
  const lines = readline.createInterface({ input: child.stdout!, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!closed && line.length <= MAX_LINE && namesDevice(line, device)) changed();
  });
  return {
    close(): void {
      if (closed) return;
      closed = true;
      lines.close();
      try { child.kill('SIGKILL'); } catch { /* gone */ }
    },
  };
}
