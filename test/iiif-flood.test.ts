// Distinct IIIF sizes are a way to make a server render forever: a flood of them gets only 200, 429 (the IIIF rate
// limit) and 503 (the image queue is full), nothing is written to the blob store, and memory stays bounded.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeImage } from './helpers/images.ts';
import { createKey, freshWindow, uploadBookCover } from './helpers/library-apis.ts';
import { listFiles, startJacket, type RunningJacket } from './helpers/server.ts';

const CACHE_BYTES = 2 * 1024 * 1024;

describe('a flood of distinct IIIF sizes', () => {
  let jacket: RunningJacket;
  let base: string;

  before(async () => {
    jacket = await startJacket({ JACKET_IIIF_RATE_LIMIT: '30/10m', JACKET_IMAGE_CONCURRENCY: '1', JACKET_IMAGE_QUEUE: '2', JACKET_RENDITION_CACHE_MB: '2' });
    base = `/iiif/3/cover-${await uploadBookCover(jacket, {}, await makeImage(2000, 3000))}`;
    // Warm up: the listed sizes are made and stored as on every other route.
    for (const width of [39, 180, 333]) assert.equal((await jacket.get(`${base}/full/${width},/0/default.jpg`)).status, 200);
    await jacket.services.renditions.flush();
  });
  after(() => jacket.close());

  /** Many distinct sizes at once; the statuses seen, by count. */
  async function flood(first: number, count: number, query = ''): Promise<Map<number, number>> {
    const responses = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const response = await jacket.get(`${base}/full/${first + i},/0/default.jpg${query}`);
        if (response.status === 200) await response.arrayBuffer();
        else {
          assert.ok(Number(response.headers.get('retry-after')) >= 1, `${response.status} has Retry-After`);
          assert.equal((await response.json()).error, response.status === 429 ? 'rate_limited' : 'busy');
        }
        return response.status;
      }),
    );
    const seen = new Map<number, number>();
    for (const status of responses) seen.set(status, (seen.get(status) ?? 0) + 1);
    return seen;
  }

  test('without a key: only 200, 429 and 503; no more renders than the limit; nothing stored; memory bounded', async () => {
    await freshWindow(600_000, 60_000);
    const stored = await listFiles(jacket.dataDir);
    const rssBefore = process.memoryUsage().rss;
    const seen = await flood(400, 300);
    assert.deepEqual([...seen.keys()].filter((status) => ![200, 429, 503].includes(status)), [], JSON.stringify([...seen]));
    assert.ok((seen.get(200) ?? 0) <= 30, `${seen.get(200)} made, the limit is 30`);
    assert.ok((seen.get(429) ?? 0) >= 200, `${seen.get(429)} refused by the rate limit`);
    await jacket.services.renditions.flush();
    assert.deepEqual(await listFiles(jacket.dataDir), stored, 'nothing written to the blob store');
    assert.ok(jacket.services.renditions.cachedBytes <= CACHE_BYTES);
    assert.ok(process.memoryUsage().rss - rssBefore < 256 * 1024 * 1024, `RSS grew by ${Math.round((process.memoryUsage().rss - rssBefore) / 1048576)} MiB`);
    // The listed sizes are still ordinary hits, free of the IIIF limit.
    assert.equal((await jacket.get(`${base}/full/180,/0/default.jpg`)).status, 200);
  });

  test('with a developer key the limit is lifted, and the bounded queue still answers 503 past its depth', async () => {
    const { key } = await createKey(jacket);
    const stored = await listFiles(jacket.dataDir);
    const seen = await flood(800, 120, `?key=${key}`);
    assert.deepEqual([...seen.keys()].filter((status) => ![200, 503].includes(status)), [], JSON.stringify([...seen]));
    assert.ok((seen.get(503) ?? 0) > 0, 'the queue refused some');
    assert.ok((seen.get(200) ?? 0) > 0, 'the queue made some');
    await jacket.services.renditions.flush();
    assert.deepEqual(await listFiles(jacket.dataDir), stored);
    assert.ok(jacket.services.renditions.cachedBytes <= CACHE_BYTES);
    assert.equal((await jacket.get(`${base}/info.json`)).status, 200);
  });
});
