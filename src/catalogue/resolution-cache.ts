import { LRUCache } from 'lru-cache';
import type { ChangeBus } from '../changes.ts';
import type { Cover } from './covers.ts';

/**
 * Identifier → cover resolutions, remembered in memory (found and not found alike) until the catalogue changes.
 * Every write publishes a change message and any change empties the cache: writes are rare next to lookups, and
 * "which cover does this ISBN show now" can depend on any row. A lookup that started before a change never stores
 * its (possibly stale) answer after it: each entry is written only if no change happened while it was loading.
 */
export class ResolutionCache {
  private readonly entries: LRUCache<string, { cover: Cover | undefined }>;
  private generation = 0;
  readonly stats = { hits: 0, misses: 0, clears: 0 };

  constructor(changes: ChangeBus, maxEntries = 50_000) {
    this.entries = new LRUCache({ max: maxEntries });
    changes.subscribe((message) => {
      if (message.type === 'covers' || message.type === 'cover-deleted') this.clear();
    });
  }

  /** The cached resolution of `key`, else `load()`'s answer (then cached). */
  async resolve(key: string, load: () => Promise<Cover | undefined>): Promise<Cover | undefined> {
    const cached = this.entries.get(key);
    if (cached) {
      this.stats.hits++;
      return cached.cover;
    }
    this.stats.misses++;
    const generation = this.generation;
    const cover = await load();
    if (generation === this.generation) this.entries.set(key, { cover });
    return cover;
  }

  clear(): void {
    this.generation++;
    this.stats.clears++;
    this.entries.clear();
  }
}
