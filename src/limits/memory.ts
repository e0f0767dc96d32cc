import type { Counter, CountersNow, LimitStore } from './limit-store.ts';

/** Counters in this process's memory: the embedded default, and the fallback when Redis is unreachable. */
export class MemoryLimitStore implements LimitStore, CountersNow {
  private readonly counters = new Map<string, Counter>();
  private sweepAt = 0;

  private sweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + 60_000;
    for (const [key, counter] of this.counters) if (counter.expiresAt <= now) this.counters.delete(key);
  }

  async increment(key: string, amount: number, expiresAt: number): Promise<Counter> {
    return { ...this.incrementNow(key, amount, expiresAt) };
  }

  /** The counter itself, not a copy (the hot path reads it and lets go): callers must not change it. */
  incrementNow(key: string, amount: number, expiresAt: number): Counter {
    const now = Date.now();
    this.sweep(now);
    let counter = this.counters.get(key);
    if (!counter || counter.expiresAt <= now) {
      counter = { count: 0, expiresAt };
      this.counters.set(key, counter);
    }
    counter.count += amount;
    return counter;
  }

  async peek(key: string): Promise<Counter | undefined> {
    const counter = this.peekNow(key);
    return counter && { ...counter };
  }

  /** The counter itself, as incrementNow gives it. */
  peekNow(key: string): Counter | undefined {
    const counter = this.counters.get(key);
    return counter && counter.expiresAt > Date.now() ? counter : undefined;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.counters.clear();
  }
}
