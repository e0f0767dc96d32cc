import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { test } from 'node:test';
import sharp from 'sharp';
import { RenditionEngine } from '../src/renditions/engine.ts';
import { originalKey, type BlobStore } from '../src/storage/blobstore.ts';
import { FsBlobStore } from '../src/storage/fs.ts';
import { dimensionsOf, makeImage } from './helpers/images.ts';
import { makeTempDir } from './helpers/server.ts';

/** The same files, seen through a store that cannot hand out local paths (as S3 cannot). */
function withoutLocalPaths(store: FsBlobStore): BlobStore {
  return {
    put: (key, bytes) => store.put(key, bytes),
    get: (key) => store.get(key),
    stat: (key) => store.stat(key),
    delete: (key) => store.delete(key),
    list: (prefix) => store.list(prefix),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

test('a rendition made from the original file on disk is the one made from its bytes', async (t) => {
  const root = await makeTempDir('jacket-local-original-');
  const otherRoot = await makeTempDir('jacket-local-original-');
  const store = new FsBlobStore(root);
  const other = new FsBlobStore(otherRoot);
  // EXIF orientation 6: stored 900×600, upright 600×900.
  const bytes = await sharp(await makeImage(900, 600)).withMetadata({ orientation: 6 }).jpeg().toBuffer();
  const original = { sha256: 'cd'.repeat(32), blobKey: originalKey('cd'.repeat(32)), width: 600, height: 900 };
  await store.put(original.blobKey, bytes);
  await other.put(original.blobKey, bytes);
  const target = { width: 200, height: 300 };
  const engines = [store, withoutLocalPaths(other)].map((blobs) => new RenditionEngine({ blobs, cacheBytes: 0, concurrency: 1, queueLimit: 4 }));
  t.after(async () => {
    // The made renditions are stored after they are returned: let those writes land before the folders are removed.
    await Promise.all(engines.map((engine) => engine.flush()));
    await Promise.all([root, otherRoot].map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });
  const fromFile = await engines[0]!.get(original, target, 'jpeg');
  const fromBytes = await engines[1]!.get(original, target, 'jpeg');
  assert.equal(fromFile.made, true);
  assert.equal(fromBytes.made, true);
  assert.deepEqual(await dimensionsOf(fromFile.bytes), { ...target, format: 'jpeg' });
  assert.ok(fromFile.bytes.equals(fromBytes.bytes), 'the file and the bytes give the same rendition');
  assert.equal((await sharp(fromFile.bytes).metadata()).orientation, undefined, 'metadata stripped');
});

test('a missing or unreadable original file is reported as such, and nothing is stored', async (t) => {
  const root = await makeTempDir('jacket-local-original-');
  t.after(() => fs.rm(root, { recursive: true, force: true }));
  const store = new FsBlobStore(root);
  const engine = new RenditionEngine({ blobs: store, cacheBytes: 0, concurrency: 1, queueLimit: 4 });
  const missing = { sha256: 'ef'.repeat(32), blobKey: originalKey('ef'.repeat(32)), width: 600, height: 900 };
  await assert.rejects(engine.get(missing, { width: 200, height: 300 }, 'jpeg'), /original blob .* is missing/);
  const broken = { sha256: 'ab'.repeat(32), blobKey: originalKey('ab'.repeat(32)), width: 600, height: 900 };
  await store.put(broken.blobKey, Buffer.from('not an image at all'));
  await assert.rejects(engine.get(broken, { width: 200, height: 300 }, 'jpeg'), (error: Error) => !/is missing/.test(error.message));
  await engine.flush();
  const stored: string[] = [];
  for await (const key of store.list('renditions/')) stored.push(key);
  assert.deepEqual(stored, []);
});
