/**
 * Shared counters for rate limits and quotas. One small interface, one file per implementation (memory here, Redis
 * for scale-out), one contract test suite every implementation passes.
 */
export interface Counter {
  count: number;
  /** When the counter disappears (epoch ms). */
  expiresAt: number;
}

export interface LimitStore {
  /**
   * Atomically add `amount` (may be 0) to counter `key`. A counter that does not exist (or has expired) starts at 0
   * and expires at `expiresAt`; an existing counter keeps its expiry.
   */
  increment(key: string, amount: number, expiresAt: number): Promise<Counter>;
  /** The counter, or undefined when it does not exist or has expired. */
  peek(key: string): Promise<Counter | undefined>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The same counters answered at once, without waiting for a store: what the hot path counts with. In this
 * process's memory they are the store itself; a shared store is folded into about once a second (limits/fold.ts).
 */
export interface CountersNow {
  incrementNow(key: string, amount: number, expiresAt: number): Counter;
  peekNow(key: string): Counter | undefined;
}
