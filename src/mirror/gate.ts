import { JacketError } from '../errors.ts';

import type { Rate } from '../limits/rate.ts';

/**
 * Politeness towards one upstream: requests leave at most `limit` per `windowMs`, evenly spaced, whoever asks.
 * Waiters are chained, each leaving at least one spacing after the previous one actually left, so a late timer on a
 * loaded machine never lets two requests out close together. A Retry-After from the upstream pushes every later
 * request back. A caller that would have to wait longer than `maxWaitMs` is refused at once (503), never left hanging.
 */
export class UpstreamGate {
  private projected = 0;
  private blockedUntil = 0;
  private lastDeparture: Promise<number> = Promise.resolve(0);
  private readonly spacingMs: number;
  private readonly maxWaitMs: number;

  constructor(rate: Rate, maxWaitMs: number) {
    this.spacingMs = rate.windowMs / rate.limit;
    this.maxWaitMs = maxWaitMs;
  }

  async schedule<T>(request: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const slot = Math.max(now, this.projected, this.blockedUntil);
    if (slot - now > this.maxWaitMs) {
      throw new JacketError(503, 'upstream_busy', 'The upstream cover service is being asked as fast as politeness allows; try again shortly.', {
        'retry-after': String(Math.ceil((slot - now) / 1000)),
      });
    }
    this.projected = slot + this.spacingMs;
    const previous = this.lastDeparture;
    let depart!: (at: number) => void;
    this.lastDeparture = new Promise((resolve) => (depart = resolve));
    const previousAt = await previous;
    const wait = Math.max(previousAt + this.spacingMs, this.blockedUntil) - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    depart(Date.now());
    return request();
  }

  /** The upstream asked us to wait (429/503 with Retry-After). */
  backOff(retryAfterMs: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, Date.now() + retryAfterMs);
  }
}

export function retryAfterMs(header: string | string[] | undefined, fallbackMs: number): number {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return fallbackMs;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? fallbackMs : Math.max(0, date - Date.now());
}
