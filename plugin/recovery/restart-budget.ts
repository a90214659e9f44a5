/**
 * RestartLimit within ConfInterval: a sliding window of restart times. `take()` says whether one
 * more restart in place is allowed now and, if so, records it. The clock is injected so tests
 * step it instead of sleeping.
 */
import { numberAttr } from '../model/attributes';

export class RestartBudget {
  private times: number[] = [];

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Restarts counted within the window. */
  used(): number {
    this.forget();
    return this.times.length;
  }

  take(): boolean {
    this.forget();
    if (this.times.length >= this.limit) return false;
    this.times.push(this.now());
    return true;
  }

  reset(): void {
    this.times = [];
  }

  private forget(): void {
    const oldest = this.now() - this.windowMs;
    this.times = this.times.filter((t) => t > oldest);
  }
}

/** The budget of one resource: its RestartLimit within its ConfInterval (declared defaults 3 and 600 s). */
export function restartBudgetOf(attrs: Readonly<Record<string, unknown>>, now?: () => number): RestartBudget {
  return new RestartBudget(numberAttr(attrs, 'RestartLimit'), numberAttr(attrs, 'ConfInterval') * 1000, now);
}
