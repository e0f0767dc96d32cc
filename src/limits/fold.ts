import type { Counter, CountersNow, LimitStore } from './limit-store.ts';

/** How often counts made in memory are added to the shared store, and the store's totals read back. */
export const FOLD_INTERVAL_MS = 1000;

interface Local {
  /** The total as this instance knows it: the store's last answer plus what was counted here since. */
  count: number;
  /** Counted here, not yet added to the store. */
  pending: number;
  expiresAt: number;
  /** Read from the store at least once (a counter only peeked at starts unknown). */
  known: boolean;
  /** When a hit last used it: while in use, each fold reads back the other instances' counts. */
  usedAt: number;
}

/** A counter unused for this long is no longer read back on every fold (a client that went quiet). */
const IN_USE_MS = FOLD_INTERVAL_MS * 10;

/**
 * Counters for the hot path in front of a shared store (Redis): each increment is answered from memory at once and
 * added to the store on the next fold, which also reads back the totals the other instances made. Limits stay shared
 * across instances within a fold, and a hit never waits for the network.
 */
export class FoldedCounters implements CountersNow {
  private readonly store: LimitStore;
  private readonly local = new Map<string, Local>();
  private timer: NodeJS.Timeout | undefined;
  private folding = false;

  constructor(store: LimitStore) {
    this.store = store;
  }

  incrementNow(key: string, amount: number, expiresAt: number): Counter {
    const entry = this.entry(key, expiresAt);
    entry.usedAt = Date.now();
    entry.count += amount;
    entry.pending += amount;
    this.schedule();
    return { count: entry.count, expiresAt: entry.expiresAt };
  }

  peekNow(key: string): Counter | undefined {
    const entry = this.local.get(key);
    if (entry && entry.expiresAt > Date.now()) {
      entry.usedAt = Date.now();
      return entry.known || entry.count > 0 ? { count: entry.count, expiresAt: entry.expiresAt } : undefined;
    }
    // Not seen here yet: unknown now, read from the store on the next fold.
    this.entry(key, Date.now() + FOLD_INTERVAL_MS * 5);
    this.schedule();
    return undefined;
  }

  private entry(key: string, expiresAt: number): Local {
    let entry = this.local.get(key);
    if (!entry || entry.expiresAt <= Date.now()) {
      entry = { count: 0, pending: 0, expiresAt, known: false, usedAt: Date.now() };
      this.local.set(key, entry);
    }
    return entry;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.fold();
    }, FOLD_INTERVAL_MS);
    // Counting never keeps a process alive.
    this.timer.unref();
  }

  /** Add what was counted here to the store and read back the totals; a store that fails keeps the counts for the next fold. */
  async fold(): Promise<void> {
    if (this.folding) return this.schedule();
    this.folding = true;
    try {
      const now = Date.now();
      const work: Promise<void>[] = [];
      for (const [key, entry] of this.local) {
        if (entry.expiresAt <= now) {
          this.local.delete(key);
          continue;
        }
        if (entry.pending > 0) {
          const amount = entry.pending;
          entry.pending = 0;
          work.push(
            this.store.increment(key, amount, entry.expiresAt).then(
              (counter) => {
                entry.count = counter.count + entry.pending;
                entry.expiresAt = counter.expiresAt;
                entry.known = true;
              },
              () => {
                entry.pending += amount;
              },
            ),
          );
        } else if (!entry.known || now - entry.usedAt < IN_USE_MS) {
          work.push(
            this.store.peek(key).then(
              (counter) => {
                entry.known = true;
                if (counter) {
                  entry.count = counter.count + entry.pending;
                  entry.expiresAt = counter.expiresAt;
                }
              },
              () => undefined,
            ),
          );
        }
      }
      await Promise.all(work);
      if ([...this.local.values()].some((entry) => entry.pending > 0 || now - entry.usedAt < IN_USE_MS)) this.schedule();
    } finally {
      this.folding = false;
    }
  }
}

const folds = new WeakMap<LimitStore, CountersNow>();

/** The counters the hot path uses for `store`: the store itself when it is in memory, else a fold in front of it. */
export function countersNowFor(store: LimitStore): CountersNow {
  if ('incrementNow' in store && 'peekNow' in store) return store as LimitStore & CountersNow;
  let counters = folds.get(store);
  if (!counters) folds.set(store, (counters = new FoldedCounters(store)));
  return counters;
}
