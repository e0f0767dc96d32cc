import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalChangeBus } from '../src/changes.ts';
import type { Cover } from '../src/catalogue/covers.ts';
import { ResolutionCache, resolutionBytes } from '../src/catalogue/resolution-cache.ts';

function cover(id: number, sourceUrl: string | null): Cover {
  const sha256 = id.toString(16).padStart(64, '0');
  return {
    id, category: 'b', olid: `OL${id}M`, sourceUrl, author: null, createdAt: 0, modifiedAt: 0, deleted: false, status: 'approved',
    blobKey: `originals/${sha256.slice(0, 2)}/${sha256}.jpg`, sha256, mime: 'image/jpeg', width: 10, height: 10, byteSize: 100,
  } as Cover;
}

test('the resolution cache is bounded in bytes: covers with long source URLs take more of it than short ones', async () => {
  const budget = 2 * 1024 * 1024;
  const cache = new ResolutionCache(new LocalChangeBus(), budget);
  const long = 'https://example.org/' + 'x'.repeat(4000);
  for (let id = 1; id <= 2000; id++) await cache.resolve(`b/id/${id}`, async () => cover(id, long));
  const entries = (cache as unknown as { entries: { size: number; calculatedSize: number } }).entries;
  assert.ok(entries.calculatedSize <= budget);
  assert.ok(entries.size < 300, `${entries.size} entries of about ${resolutionBytes('b/id/1', cover(1, long))} bytes each`);
  cache.clear();
  for (let id = 1; id <= 2000; id++) await cache.resolve(`b/id/${id}`, async () => cover(id, null));
  assert.equal(entries.size, 2000, 'small entries all fit');
});
