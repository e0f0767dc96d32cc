import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BlobStore } from '../src/storage/blobstore.ts';
import { form, makeImage } from './helpers/images.ts';
import { makeTempDir, startJacket, type RunningJacket } from './helpers/server.ts';

/** Count every read of a blob store (the engine holds this very instance, so it sees the counting methods). */
function countReads(blobs: BlobStore): string[] {
  const reads: string[] = [];
  const get = blobs.get.bind(blobs);
  const stat = blobs.stat.bind(blobs);
  blobs.get = async (key) => {
    reads.push(key);
    return get(key);
  };
  blobs.stat = async (key) => {
    reads.push(key);
    return stat(key);
  };
  return reads;
}

async function upload(jacket: RunningJacket, fields: Record<string, string>, color: string): Promise<number> {
  const bytes = await makeImage(600, 900, { color });
  const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ ...fields, data: { bytes, type: 'image/jpeg' } }) });
  assert.equal(response.status, 200);
  return (await response.json()).id;
}

describe('revalidation and the hot path', () => {
  let dataDir: string;
  let jacket: RunningJacket;
  let coverId: number;
  let etag: string;

  before(async () => {
    dataDir = await makeTempDir();
    jacket = await startJacket({ JACKET_DATA_DIR: dataDir });
    coverId = await upload(jacket, { olid: 'OL1M', isbn: '0385472579' }, '#884422');
    const made = await jacket.get(`/b/id/${coverId}-M.jpg`);
    assert.equal(made.status, 200);
    etag = made.headers.get('etag')!;
    assert.equal(etag, `"${coverId}-m"`);
    await made.arrayBuffer();
  });
  after(async () => {
    await jacket.close();
    const { rm } = await import('node:fs/promises');
    await rm(dataDir, { recursive: true, force: true });
  });

  test('a matching ETag costs no image work and no blob read, warm or cold', async () => {
    for (const phase of ['warm', 'cold'] as const) {
      if (phase === 'cold') {
        // A fresh process on the same data: nothing in memory, so any blob read would show.
        await jacket.close();
        jacket = await startJacket({ JACKET_DATA_DIR: dataDir });
      }
      const { renditions } = jacket.services;
      const reads = countReads(jacket.services.blobs);
      const before = { ...renditions.stats };
      for (const path of [`/b/id/${coverId}-M.jpg`, `/b/isbn/0385472579-M.jpg`, `/b/isbn/978-0-385-47257-9-M.jpg`]) {
        const response = await jacket.get(path, { headers: { 'if-none-match': etag } });
        assert.equal(response.status, 304, `${phase} ${path}`);
        assert.equal(response.headers.get('etag'), etag);
        assert.equal((await response.arrayBuffer()).byteLength, 0);
      }
      assert.deepEqual(reads, [], `${phase}: no blob was read`);
      assert.deepEqual(renditions.stats, before, `${phase}: no rendition was looked up or made`);
      assert.equal(renditions.queue.depth, 0);
    }
  });

  test('a repeated hit is answered from the hot table with the same bytes and headers, and revalidates there', async () => {
    const hot = jacket.services.hotResponses!;
    const first = await jacket.get(`/b/id/${coverId}-S.jpg`);
    const firstBytes = Buffer.from(await first.arrayBuffer());
    const served = hot.stats.served;
    const reads = countReads(jacket.services.blobs);
    const second = await jacket.get(`/b/id/${coverId}-S.jpg`);
    assert.equal(second.status, 200);
    assert.equal(hot.stats.served, served + 1);
    assert.ok(Buffer.from(await second.arrayBuffer()).equals(firstBytes));
    for (const name of ['content-type', 'etag', 'last-modified', 'cache-control', 'access-control-allow-origin', 'content-length']) {
      assert.equal(second.headers.get(name), first.headers.get(name), name);
    }
    const conditional = await jacket.get(`/b/id/${coverId}-S.jpg`, { headers: { 'if-none-match': `W/"${coverId}-s", "other"` } });
    assert.equal(conditional.status, 304);
    assert.equal(conditional.headers.get('cache-control'), first.headers.get('cache-control'));
    assert.equal(conditional.headers.get('content-type'), null);
    const stale = await jacket.get(`/b/id/${coverId}-S.jpg`, { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(stale.status, 200);
    await stale.arrayBuffer();
    assert.deepEqual(reads, []);
    // A response to a request with credentials is never remembered.
    const personal = `/b/id/${coverId}-L.avif`;
    const servedBefore = hot.stats.served;
    for (let i = 0; i < 2; i++) await (await jacket.get(personal, { headers: jacket.admin })).arrayBuffer();
    assert.equal(hot.stats.served, servedBefore);
    // A query string or HEAD is not the remembered response: Fastify answers them.
    const head = await jacket.get(`/b/id/${coverId}-S.jpg`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(firstBytes.length));
  });

  test('writes invalidate: a newer cover takes over an ISBN, a deleted cover disappears at once', async () => {
    const byIsbn = async () => {
      const response = await jacket.get('/b/isbn/0385472579-M.jpg');
      await response.arrayBuffer();
      return response;
    };
    assert.equal((await byIsbn()).headers.get('etag'), `"${coverId}-m"`);
    assert.equal((await byIsbn()).headers.get('etag'), `"${coverId}-m"`); // now from the hot table
    const newer = await upload(jacket, { olid: 'OL1M' }, '#224488');
    assert.equal((await byIsbn()).headers.get('etag'), `"${newer}-m"`);

    const delete_ = await jacket.get('/b/delete', { method: 'POST', headers: { ...jacket.admin, 'content-type': 'application/x-www-form-urlencoded' }, body: `id=${newer}` });
    assert.equal(delete_.status, 200);
    assert.equal((await byIsbn()).headers.get('etag'), `"${coverId}-m"`);
    const gone = await jacket.get(`/b/id/${newer}-M.jpg`);
    assert.equal(gone.headers.get('content-type'), 'image/gif');
    await gone.arrayBuffer();
  });

  test('identifier hits answered from the hot table are counted by the lookup limit (on by default), id hits are not', async () => {
    const hot = jacket.services.hotResponses!;
    const path = '/b/isbn/0385472579-L.jpg';
    await (await jacket.get(path)).arrayBuffer();
    const countNow = jacket.services.hooks.openLibraryLookupNow!;
    let counted = 0;
    jacket.services.hooks.openLibraryLookupNow = (address) => {
      counted++;
      return countNow(address);
    };
    try {
      const served = hot.stats.served;
      const response = await jacket.get(path);
      assert.equal(response.status, 200);
      await response.arrayBuffer();
      assert.equal(hot.stats.served, served + 1, 'answered from the hot table');
      assert.equal(counted, 1, 'and counted there');
      await (await jacket.get(`/b/id/${coverId}-L.jpg`)).arrayBuffer();
      await (await jacket.get(`/b/id/${coverId}-L.jpg`)).arrayBuffer();
      assert.equal(hot.stats.served, served + 2, 'id hits are answered there too');
      assert.equal(counted, 1, 'without counting');
    } finally {
      jacket.services.hooks.openLibraryLookupNow = countNow;
    }
  });
});
