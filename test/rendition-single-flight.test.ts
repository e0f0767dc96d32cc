import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { test } from 'node:test';
import { RedisRenditionCoordinator } from '../src/renditions/redis-coordinator.ts';
import { RenditionEngine } from '../src/renditions/engine.ts';
import { originalKey } from '../src/storage/blobstore.ts';
import { FsBlobStore } from '../src/storage/fs.ts';
import { explainMissing, redisPrefix, TEST_REDIS_URL } from './helpers/backends.ts';
import { dimensionsOf, makeImage } from './helpers/images.ts';
import { makeTempDir } from './helpers/server.ts';

const redisUrl = TEST_REDIS_URL;
if (redisUrl) {
  test('two instances asked for the same new rendition at once make it once, through Redis', async (t) => {
    const { prefix, cleanup } = await redisPrefix(redisUrl);
    const root = await makeTempDir('jacket-shared-blobs-');
    const coordinators = [new RedisRenditionCoordinator({ url: redisUrl, prefix }), new RedisRenditionCoordinator({ url: redisUrl, prefix })];
    // One shared store (as the S3 bucket is), one engine per instance.
    const shared = new FsBlobStore(root);
    const engines = coordinators.map((coordinator) => new RenditionEngine({ blobs: shared, cacheBytes: 0, concurrency: 1, queueLimit: 8, coordinator }));
    t.after(async () => {
      // Made renditions are stored (and their claims released) after they are returned: let that finish first.
      await Promise.all(engines.map((engine) => engine.flush()));
      await Promise.all(coordinators.map((coordinator) => coordinator.close()));
      await cleanup();
      await fs.rm(root, { recursive: true, force: true });
    });
    const bytes = await makeImage(2400, 3600);
    const original = { sha256: 'ab'.repeat(32), blobKey: originalKey('ab'.repeat(32)), width: 2400, height: 3600 };
    await shared.put(original.blobKey, bytes);
    for (const coordinator of coordinators) assert.equal(await coordinator.connected(3000), true, `Redis at ${redisUrl} is not reachable`);

    const targets = [{ width: 1600, height: 2400 }, { width: 1200, height: 1800 }];
    const results = await Promise.all(targets.flatMap((target) => engines.map((engine) => engine.get(original, target, 'webp'))));
    assert.equal(results.filter((result) => result.made).length, targets.length, 'each rendition was made by exactly one instance');
    assert.equal(engines[0]!.stats.made + engines[1]!.stats.made, targets.length);
    for (const [index, target] of targets.entries()) {
      const [first, second] = [results[index * 2]!, results[index * 2 + 1]!];
      assert.ok(first.bytes.equals(second.bytes), 'both instances answer the same bytes');
      assert.deepEqual(await dimensionsOf(first.bytes), { ...target, format: 'webp' });
    }
  });
} else {
  explainMissing('Redis single-flight', 'TEST_REDIS_URL');
}
