/**
 * A manual clock for unit tests: time moves only when advance() is called, timers fire in due
 * order, and pending promise chains run between timers. Guarantees no real sleeping (it yields
 * to the event loop with setImmediate only).
 */
import type { Clock } from './clock';

interface Timer { at: number; seq: number; fire: () => void }

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 1_000_000) { this.t = start; }

  now(): number { return this.t; }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fire: () => resolve() };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers = this.timers.filter((x) => x !== timer);
        resolve();
      }, { once: true });
    });
  }

  /** Lets pending promise chains (fake I/O, callbacks) settle without moving time. */
  async settle(rounds = 5): Promise<void> {
    for (let i = 0; i < rounds; i++) await tick();
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await this.settle();
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fire();
      await this.settle();
    }
    this.t = end;
    await this.settle();
  }
}
