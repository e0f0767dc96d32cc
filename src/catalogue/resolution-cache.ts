import { LRUCache } from 'lru-cache';
import type { ChangeBus } from '../changes.ts';
import type { Cover } from './covers.ts';

/** Memory for remembered resolutions: about 40,000 lookups of covers without source URLs (as many as 50,000 entries took before). */
export const RESOLUTION_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * The heap an entry holds, estimated on the safe side: the key and the cover's strings at two bytes a character, its
 * fields, and the cache's own bookkeeping. Measured on Node 24: about 630 bytes for a cover of a bulk import under
 * an ISBN key, which this puts at about 790.
 */
export function resolutionBytes(key: string, cover: Cover | undefined): number {
  let bytes = 160 + 2 * key.length;
  if (cover) {
    bytes += 200;
    for (const text of [cover.blobKey, cover.sha256, cover.mime, cover.olid, cover.sourceUrl, cover.author]) if (text) bytes += 16 + 2 * text.length;
  }
  return bytes;
}

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

  /** Bounded in bytes (an estimate of each entry's heap), not entries: a cover with a long source URL weighs more. */
  constructor(changes: ChangeBus, maxBytes = RESOLUTION_CACHE_BYTES) {
    this.entries = new LRUCache({ maxSize: maxBytes, sizeCalculation: (value, key) => resolutionBytes(key, value.cover) });
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
