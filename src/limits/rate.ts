import type { CountersNow, LimitStore } from './limit-store.ts';

/** "N requests per window": what `100/5m` or `1/1s` means. */
export interface Rate {
  limit: number;
  windowMs: number;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `100/5m`, `1/1s`, `10/s`, `500/1h`, `5000/1d` → a rate; `off` (or `none`, `0`, empty) → undefined. Throws a
 * RangeError with a readable sentence for anything else, so a typo in a setting stops the start instead of
 * silently disabling a limit.
 */
export function parseRate(raw: string | undefined): Rate | undefined {
  const text = (raw ?? '').trim().toLowerCase();
  if (text === '' || text === 'off' || text === 'none' || text === '0' || text === 'false') return undefined;
  const match = /^(\d{1,9})\s*\/\s*(\d{1,9})?\s*(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new RangeError(`"${raw}" is not a rate: write it as COUNT/WINDOW, e.g. 100/5m, 1/1s, 1000/1d, or off`);
  const limit = Number(match[1]);
  const windowMs = Number(match[2] ?? '1') * UNITS[match[3]!]!;
  if (limit < 1) throw new RangeError(`"${raw}" allows no requests at all; use off to disable the limit`);
  if (windowMs < 1) throw new RangeError(`"${raw}" has an empty window`);
  return { limit, windowMs };
}

/** The canonical text of a rate (for listings and messages). */
export function formatRate(rate: Rate | undefined): string {
  if (!rate) return 'off';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNITS[unit]!;
    if (rate.windowMs % size === 0) return `${rate.limit}/${rate.windowMs / size}${unit}`;
  }
  return `${rate.limit}/${rate.windowMs}ms`;
}

/** The fixed window `now` falls in: counters for it live until `end`. */
export function windowOf(now: number, windowMs: number): { start: number; end: number } {
  const start = Math.floor(now / windowMs) * windowMs;
  return { start, end: start + windowMs };
}

/** Whole seconds from `now` until `at`, at least 1 (a Retry-After of 0 invites an immediate retry loop). */
export function secondsUntil(at: number, now: number): number {
  return Math.max(1, Math.ceil((at - now) / 1000));
}

/** The next UTC midnight after `now`: when daily quotas reset. */
export function nextUtcMidnight(now: number): number {
  const date = new Date(now);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1);
}

/** `YYYY-MM-DD` of `now` in UTC: the daily quota's counter name. */
export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

export interface RateDecision {
  allowed: boolean;
  count: number;
  limit: number;
  /** Seconds until the current window ends (for Retry-After). */
  retryAfter: number;
}

/**
 * A request counter per subject (client IP, key id) kept in the shared LimitStore, so every Jacket process behind
 * one Redis sees the same counts. It is a sliding window estimated from two fixed windows (the previous window's
 * count, weighted by how much of it still overlaps the last `windowMs`, plus the current one), so a burst at a window
 * edge cannot pass twice the limit as a plain fixed window would. One increment and one read per request.
 */
const MAX_KEPT_SUBJECTS = 10_000;

export class RateLimiter {
  readonly name: string;
  readonly rate: Rate;
  private readonly store: LimitStore;
  /** The hot path's counter names per subject for the window in `keysFor` (made once per client and window, not per hit). */
  private keysWindow = -1;
  private readonly keysFor = new Map<string, { current: string; previous: string }>();

  constructor(name: string, rate: Rate, store: LimitStore) {
    this.name = name;
    this.rate = rate;
    this.store = store;
  }

  private key(subject: string, start: number): string {
    return `rate:${this.name}:${subject}:${start}`;
  }

  async hit(subject: string, now = Date.now()): Promise<RateDecision> {
    const window = windowOf(now, this.rate.windowMs);
    // The current window's counter lives one window longer, to serve as the next window's "previous".
    const [current, previous] = await Promise.all([
      this.store.increment(this.key(subject, window.start), 1, window.end + this.rate.windowMs),
      this.store.peek(this.key(subject, window.start - this.rate.windowMs)),
    ]);
    return this.decide(window, current.count, previous?.count ?? 0, now);
  }

  /** Whether one more would still be allowed, without counting it. */
  async wouldAllow(subject: string, now = Date.now()): Promise<RateDecision> {
    const window = windowOf(now, this.rate.windowMs);
    const [current, previous] = await Promise.all([
      this.store.peek(this.key(subject, window.start)),
      this.store.peek(this.key(subject, window.start - this.rate.windowMs)),
    ]);
    return this.decide(window, (current?.count ?? 0) + 1, previous?.count ?? 0, now);
  }

  /** The same count and decision at once, from counters in memory: the hot path's (limits/fold.ts). */
  hitNow(subject: string, counters: CountersNow, now = Date.now()): RateDecision {
    const window = windowOf(now, this.rate.windowMs);
    // Made again for a new window, and when many clients came in one (the names are only a saving).
    if (window.start !== this.keysWindow || this.keysFor.size >= MAX_KEPT_SUBJECTS) {
      this.keysWindow = window.start;
      this.keysFor.clear();
    }
    let keys = this.keysFor.get(subject);
    if (!keys) {
      keys = { current: this.key(subject, window.start), previous: this.key(subject, window.start - this.rate.windowMs) };
      this.keysFor.set(subject, keys);
    }
    const current = counters.incrementNow(keys.current, 1, window.end + this.rate.windowMs);
    const previous = counters.peekNow(keys.previous);
    return this.decide(window, current.count, previous?.count ?? 0, now);
  }

  private decide(window: { start: number; end: number }, currentCount: number, previousCount: number, now: number): RateDecision {
    const { windowMs, limit } = this.rate;
    const overlap = (window.end - now) / windowMs;
    const estimate = previousCount * overlap + currentCount;
    const allowed = estimate <= limit;
    const count = Math.ceil(estimate);
    let retryAt = window.end;
    if (!allowed && currentCount < limit && previousCount > 0) {
      // The previous window's weight fades linearly: the estimate falls to the limit at this moment.
      retryAt = window.start + windowMs * (1 - (limit - currentCount) / previousCount);
    }
    return { allowed, count, limit, retryAfter: secondsUntil(retryAt, now) };
  }
}

export interface QuotaUsage {
  counted: number;
  limit: number;
  remaining: number;
  resetAt: number;
}

/**
 * Daily quota per developer key: renditions made from the original count, nothing else. A slot is reserved before
 * making (one atomic increment) and given back when nothing was made, so concurrent requests cannot overshoot.
 */
export class DailyQuota {
  private readonly store: LimitStore;

  constructor(store: LimitStore) {
    this.store = store;
  }

  private counterKey(keyId: string, now: number): string {
    return `quota:${keyId}:${utcDay(now)}`;
  }

  async usage(keyId: string, limit: number, now = Date.now()): Promise<QuotaUsage> {
    const counter = await this.store.peek(this.counterKey(keyId, now));
    const counted = Math.max(0, counter?.count ?? 0);
    return { counted, limit, remaining: Math.max(0, limit - counted), resetAt: nextUtcMidnight(now) };
  }

  /** Take one slot if there is one left today: a reservation to give back with `release`, or undefined. */
  async reserve(keyId: string, limit: number, now = Date.now()): Promise<QuotaReservation | undefined> {
    const reservation = { counterKey: this.counterKey(keyId, now), expiresAt: nextUtcMidnight(now) };
    const counter = await this.store.increment(reservation.counterKey, 1, reservation.expiresAt);
    if (counter.count <= limit) return reservation;
    await this.release(reservation);
    return undefined;
  }

  /** Count one rendition made without a reservation (a stored one vanished between look and fetch). */
  async record(keyId: string, now = Date.now()): Promise<void> {
    await this.store.increment(this.counterKey(keyId, now), 1, nextUtcMidnight(now));
  }

  /** Give back a reserved slot (nothing was made after all), on the day it was taken. */
  async release(reservation: QuotaReservation): Promise<void> {
    await this.store.increment(reservation.counterKey, -1, reservation.expiresAt);
  }
}

export interface QuotaReservation {
  counterKey: string;
  expiresAt: number;
}
