/**
 * TCP probe: connect, and optionally wait for a greeting line that starts with an expected
 * prefix ("* OK", "+OK", "220"), then say goodbye. The greeting matters: a stopped or hung
 * daemon still accepts connections (the kernel completes the handshake), only its greeting
 * never comes.
 *
 * Guarantees: one deadline covers every phase; the socket is always destroyed; the result is a
 * value (never throws); the caller's signal ends the probe at once as a timeout.
 */
import * as net from 'node:net';
import type { Phases } from '../plugin/core/results';
import { nowMs, secondsSince } from '../plugin/core/deadline';
import type { ProtocolOptions, ProtocolProbe, ProtocolTarget } from './transport/options';
import type { ProbeResult } from './types';

const MAX_GREETING_BYTES = 4096;

/**
 * Reads the first line from `socket` and checks its prefix. Resolves a partial result
 * (outcome + reason) — the caller owns timing and the socket. A greeting with no line end within
 * MAX_GREETING_BYTES fails, whatever it starts with: no server greets that way.
 */
export function readGreeting(socket: net.Socket, prefix: string): Promise<{ ok: boolean; line: string; reason?: string }> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (b: Buffer): void => {
      buf += b.toString('latin1');
      const nl = buf.indexOf('\n');
      if ((nl < 0 ? buf.length : nl) > MAX_GREETING_BYTES) {
        cleanup();
        resolve({ ok: false, line: '', reason: `the greeting has no line end within ${MAX_GREETING_BYTES} bytes` });
        return;
      }
      if (nl >= 0) {
        cleanup();
        const line = buf.slice(0, nl).replace(/\r$/, '');
        const shown = line.length > 120 ? line.slice(0, 120) + '…' : line;
        resolve(line.startsWith(prefix) ? { ok: true, line } : { ok: false, line, reason: `greeting "${shown}" does not start with "${prefix}"` });
      }
    };
    const onEnd = (): void => { cleanup(); resolve({ ok: false, line: buf, reason: 'connection closed before the greeting' }); };
    const onError = (e: Error): void => { cleanup(); resolve({ ok: false, line: buf, reason: `connection error before the greeting: ${(e as NodeJS.ErrnoException).code ?? e.message}` }); };
    const cleanup = (): void => { socket.off('data', onData); socket.off('end', onEnd); socket.off('error', onError); socket.off('close', onEnd); };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
  });
}

/**
 * Races `work` against the deadline and the signal. `onTimeout` builds the timeout value;
 * `onError` the value for an unexpected rejection (probes are written not to reject).
 */
export function withTimeout<T>(work: Promise<T>, ms: number, signal: AbortSignal | undefined, onTimeout: () => T, onError?: (e: unknown) => T): Promise<T> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: T): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(v);
    };
    const onAbort = (): void => finish(onTimeout());
    const timer = setTimeout(() => finish(onTimeout()), Math.max(1, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    work.then(finish, (e: unknown) => finish(onError ? onError(e) : onTimeout()));
  });
}

/**
 * Connect, then the greeting when `opts.greeting` is set. `target.tls` is not read: the
 * registry's `tcp` hands a target with a TLS mode to probeTls.
 */
export const probeTcp: ProtocolProbe = (target: ProtocolTarget, opts: ProtocolOptions, signal?: AbortSignal): Promise<ProbeResult> => {
  const t0 = nowMs();
  const phases: Phases = {};
  let phase: keyof Phases = 'connect';
  const socket = new net.Socket();
  const work = (async (): Promise<ProbeResult> => {
    const connectErr = await new Promise<Error | undefined>((resolve) => {
      socket.once('connect', () => resolve(undefined));
      socket.once('error', (e) => resolve(e));
      socket.connect({ host: target.host, port: target.port });
    });
    if (connectErr) {
      return { outcome: 'fail', phases: { ...phases, total: secondsSince(t0) }, failedPhase: 'connect',
        reason: `connect to ${target.host}:${target.port} failed: ${(connectErr as NodeJS.ErrnoException).code ?? connectErr.message}` };
    }
    phases.connect = secondsSince(t0);
    if (opts.greeting !== undefined) {
      phase = 'greeting';
      const t1 = nowMs();
      const g = await readGreeting(socket, opts.greeting);
      if (!g.ok) return { outcome: 'fail', phases: { ...phases, total: secondsSince(t0) }, failedPhase: 'greeting', reason: `${target.host}:${target.port}: ${g.reason}` };
      phases.greeting = secondsSince(t1);
      if (opts.bye) socket.write(opts.bye);
    }
    return { outcome: 'ok', phases: { ...phases, total: secondsSince(t0) } };
  })();
  return withTimeout(work, opts.timeoutMs, signal, (): ProbeResult => ({
    outcome: 'timeout', phases: { ...phases, total: secondsSince(t0) }, failedPhase: phase,
    reason: `${target.host}:${target.port}: no ${phase === 'connect' ? 'connection' : 'greeting'} within ${(opts.timeoutMs / 1000).toFixed(1)} s`,
  })).finally(() => socket.destroy());
};
