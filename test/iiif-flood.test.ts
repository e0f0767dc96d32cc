// Distinct IIIF sizes are a way to make a server render forever: a flood of them gets only 200, 429 (the IIIF rate
// limit) and 503 (the image queue is full), nothing is written to the blob store, and memory stays bounded.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { createKey, freshWindow, uploadBookCover } from './helpers/library-apis.ts';
import { listFiles, startJacket, type RunningJacket } from './helpers/server.ts';

const CACHE_BYTES = 2 * 1024 * 1024;

describe('a flood of distinct IIIF sizes', () => {
  let jacket: RunningJacket;
  let base: string;

  before(async () => {
    jacket = await startJacket({ JACKET_IIIF_RATE_LIMIT: '30/10m', JACKET_IMAGE_CONCURRENCY: '1', JACKET_IMAGE_QUEUE: '2', JACKET_RENDITION_CACHE_MB: '2' });
    // Noise: every rendition of it is large, so a few of them are more than the memory cache holds.
    const noise = await sharp(randomBytes(1500 * 2000 * 3), { raw: { width: 1500, height: 2000, channels: 3 } }).jpeg({ quality: 70 }).toBuffer();
    base = `/iiif/3/cover-${await uploadBookCover(jacket, {}, noise)}`;
    // Warm up: the listed sizes (Open Library's S, M and L of 1500×2000) are made and stored as on every other route.
    for (const width of [43, 180, 375]) assert.equal((await jacket.get(`${base}/full/${width},/0/default.jpg`)).status, 200);
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

  test('without a key: only 200, 429 and 503; no more renders than the limit; nothing stored; memory bounded', async (t) => {
    await freshWindow(600_000, 60_000);
    const stored = await listFiles(jacket.dataDir);
    const rssBefore = process.memoryUsage().rss;
    const seen = await flood(400, 300);
    t.diagnostic(`statuses ${JSON.stringify(Object.fromEntries(seen))}, RSS +${Math.round((process.memoryUsage().rss - rssBefore) / 1048576)} MiB, cache ${jacket.services.renditions.cachedBytes} bytes`);
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

  test('with a developer key the limit is lifted, and the bounded queue still answers 503 past its depth', async (t) => {
    const { key } = await createKey(jacket);
    const stored = await listFiles(jacket.dataDir);
    const seen = await flood(800, 120, `?key=${key}`);
    t.diagnostic(`statuses ${JSON.stringify(Object.fromEntries(seen))}, cache ${jacket.services.renditions.cachedBytes} bytes`);
    assert.deepEqual([...seen.keys()].filter((status) => ![200, 503].includes(status)), [], JSON.stringify([...seen]));
    assert.ok((seen.get(503) ?? 0) > 0, 'the queue refused some');
    assert.ok((seen.get(200) ?? 0) > 0, 'the queue made some');
    // Made a few at a time (within the queue), many times the cache in bytes: the cache keeps to its size.
    let made = 0;
    for (let batch = 0; batch < 6; batch++) {
      const sizes = [0, 1, 2].map((i) => 1000 + batch * 3 + i);
      for (const response of await Promise.all(sizes.map((width) => jacket.get(`${base}/full/${width},/0/default.jpg?key=${key}`)))) {
        assert.equal(response.status, 200);
        made += (await response.arrayBuffer()).byteLength;
      }
    }
    t.diagnostic(`made ${made} bytes in 18 images; the cache holds ${jacket.services.renditions.cachedBytes}`);
    assert.ok(made > 2 * CACHE_BYTES, `${made} bytes made`);
    assert.ok(jacket.services.renditions.cachedBytes <= CACHE_BYTES);
    await jacket.services.renditions.flush();
    assert.deepEqual(await listFiles(jacket.dataDir), stored);
    assert.equal((await jacket.get(`${base}/info.json`)).status, 200);
  });
});
