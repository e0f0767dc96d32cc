import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { blobStoreContract } from './contracts/blobstore.ts';
import { startS3, uniqueName } from './helpers/backends.ts';
import { makeTempDir } from './helpers/server.ts';
import { FsBlobStore } from '../src/storage/fs.ts';
import { S3BlobStore } from '../src/storage/s3.ts';

blobStoreContract('filesystem', async () => {
  const root = await makeTempDir('jacket-blobs-');
  return { store: new FsBlobStore(root), cleanup: () => fs.rm(root, { recursive: true, force: true }) };
});

blobStoreContract('S3 (s3rver)', async () => {
  const s3 = await startS3();
  const store = new S3BlobStore({
    bucket: s3.bucket,
    prefix: `${uniqueName('contract')}/`,
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: s3.credentials,
    // Small pages so the listing test walks several of them.
    pageSize: 3,
  });
  return { store, cleanup: () => s3.close() };
});

describe('filesystem store: folders removed under a running store', () => {
  test('a put into a folder someone removed makes the folder again', async () => {
    const root = await makeTempDir('jacket-blobs-');
    try {
      const store = new FsBlobStore(root);
      await store.put('renditions/ab/one-1x1.jpg', Buffer.from('one'), { regenerable: true });
      await fs.rm(path.join(root, 'renditions', 'ab'), { recursive: true });
      await store.put('renditions/ab/two-1x1.jpg', Buffer.from('two'), { regenerable: true });
      assert.deepEqual(await store.get('renditions/ab/two-1x1.jpg'), Buffer.from('two'));
      assert.deepEqual(await fs.readdir(path.join(root, '.tmp')), [], 'no temp file left behind');
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
