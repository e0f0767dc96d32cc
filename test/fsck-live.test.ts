import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fsck } from '../src/fsck.ts';
import type { BlobStore } from '../src/storage/blobstore.ts';
import { FsBlobStore } from '../src/storage/fs.ts';
import { form, makeImage } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

const keyOf = (bytes: Buffer) => {
  const sha = createHash('sha256').update(bytes).digest('hex');
  return `originals/${sha.slice(0, 2)}/${sha.slice(2, 4)}/${sha}`;
};
const anHourAgo = () => new Date(Date.now() - 3600_000);

/** An old orphan: the bytes of an image nobody refers to, written an hour ago (a crash long ago, a deleted upload). */
async function plantOldOrphan(jacket: RunningJacket, bytes: Buffer): Promise<string> {
  const file = path.join(jacket.dataDir, 'blobs', ...keyOf(bytes).split('/'));
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, bytes);
  await fs.utimes(file, anHourAgo(), anHourAgo());
  return file;
}

async function upload(jacket: RunningJacket, bytes: Buffer): Promise<number> {
  const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ data: { bytes, type: 'image/jpeg' } }) });
  assert.equal(response.status, 200);
  return (await response.json()).id;
}

describe('fsck --repair beside a live server', () => {
  let jacket: RunningJacket;
  before(async () => {
    jacket = await startJacket();
  });
  after(() => jacket.close());

  test('an upload that re-uses an old orphan blob (same bytes) makes it count as just written', async () => {
    const bytes = await makeImage(100, 150, { color: '#445500' });
    const file = await plantOldOrphan(jacket, bytes);
    await upload(jacket, bytes);
    const age = Date.now() - (await fs.stat(file)).mtimeMs;
    assert.ok(age < 60_000, `the re-used blob still looks ${Math.round(age / 1000)} s old: fsck would take it for garbage`);
  });

  test('an upload acknowledged while the repair is deleting keeps its blob', async () => {
    const images = [await makeImage(100, 150, { color: '#aa0055' }), await makeImage(100, 150, { color: '#0055aa' })];
    for (const bytes of images) await plantOldOrphan(jacket, bytes);
    const store = new FsBlobStore(path.join(jacket.dataDir, 'blobs'));
    // The repair deletes one orphan after another; while it deletes the first, a client uploads the other's bytes.
    let uploaded: { id: number; bytes: Buffer } | undefined;
    const deleted: string[] = [];
    const blobs: BlobStore = Object.assign(Object.create(store) as BlobStore, {
      async delete(key: string) {
        if (!uploaded) {
          const bytes = images.find((image) => keyOf(image) !== key)!;
          uploaded = { id: await upload(jacket, bytes), bytes };
        }
        deleted.push(key);
        await store.delete(key);
      },
    });
    const report = await fsck(jacket.services.db, blobs, { repair: true, graceMs: 300_000 });
    assert.ok(uploaded, 'the repair deleted something');
    assert.deepEqual(deleted, images.filter((image) => image !== uploaded!.bytes).map(keyOf), 'only the orphan nobody uploaded is deleted');
    assert.deepEqual(report.repaired.map((item) => item.key), deleted);

    assert.ok(await store.get(keyOf(uploaded.bytes)), 'the acknowledged upload still has its blob');
    const again = await fsck(jacket.services.db, store);
    assert.deepEqual(again.missing, []);
    const served = await jacket.get(`/b/id/${uploaded.id}.jpg`);
    assert.equal(served.status, 200);
    assert.ok(Buffer.from(await served.arrayBuffer()).equals(uploaded.bytes));
  });
});
