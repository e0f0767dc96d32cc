import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dimensionsOf, form, makeImage } from './helpers/images.ts';
import fs from 'node:fs/promises';
import { makeTempDir, startJacket, type RunningJacket } from './helpers/server.ts';

/** The spec's reference table: original → S, M, L (every row must hold over HTTP). */
const SIZE_TABLE: Array<[number, number, [number, number], [number, number], [number, number]]> = [
  [1000, 1500, [38, 58], [180, 270], [333, 500]],
  [1500, 1000, [87, 58], [180, 120], [500, 333]],
  [1200, 1920, [36, 58], [180, 288], [312, 500]],
  [2000, 2000, [58, 58], [180, 180], [500, 500]],
  [180, 270, [38, 58], [180, 270], [180, 270]],
  [100, 200, [29, 58], [100, 200], [100, 200]],
  [50, 50, [50, 50], [50, 50], [50, 50]],
  [3000, 100, [116, 3], [180, 6], [500, 16]],
];

async function upload(jacket: RunningJacket, bytes: Buffer, fields: Record<string, string> = {}): Promise<number> {
  const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ ...fields, data: { bytes } }) });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.equal(body.ok, 'true');
  return body.id;
}

describe('Open Library images over HTTP', () => {
  let jacket: RunningJacket;
  before(async () => {
    jacket = await startJacket();
  });
  after(() => jacket.close());

  test('every row of the size table, S/M/L, as JPEG', async () => {
    for (const [width, height, ...sizes] of SIZE_TABLE) {
      const id = await upload(jacket, await makeImage(width, height));
      const json = await (await jacket.get(`/b/id/${id}.json`)).json();
      assert.deepEqual([json.width, json.height], [width, height]);
      for (const [index, letter] of (['S', 'M', 'L'] as const).entries()) {
        const response = await jacket.get(`/b/id/${id}-${letter}.jpg`);
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('content-type'), 'image/jpeg');
        const [w, h] = sizes[index]!;
        assert.deepEqual(await dimensionsOf(await response.arrayBuffer()), { width: w, height: h, format: 'jpeg' }, `${width}×${height} ${letter}`);
      }
    }
  });

  for (const orientation of [6, 8]) {
    test(`EXIF orientation ${orientation}: renditions and .json are the upright image's`, async () => {
      // Stored 1500 wide × 1000 high, displayed rotated a quarter turn: upright it is 1000×1500.
      const original = await makeImage(1500, 1000, { orientation });
      assert.equal((await dimensionsOf(original)).width, 1500);
      const id = await upload(jacket, original);
      const json = await (await jacket.get(`/b/id/${id}.json`)).json();
      assert.deepEqual([json.width, json.height], [1000, 1500]);
      for (const [letter, w, h] of [['S', 38, 58], ['M', 180, 270], ['L', 333, 500]] as const) {
        const bytes = Buffer.from(await (await jacket.get(`/b/id/${id}-${letter}.jpg`)).arrayBuffer());
        assert.deepEqual(await dimensionsOf(bytes), { width: w, height: h, format: 'jpeg' });
        const sharp = (await import('sharp')).default;
        const metadata = await sharp(bytes).metadata();
        assert.equal(metadata.orientation, undefined, 'metadata stripped, no orientation tag left');
        assert.equal(metadata.exif, undefined);
      }
      const originalBack = Buffer.from(await (await jacket.get(`/b/id/${id}.jpg`)).arrayBuffer());
      assert.ok(originalBack.equals(original), 'the original keeps its EXIF and exact bytes');
    });
  }

  for (const [format, mime] of [
    ['png', 'image/png'],
    ['gif', 'image/gif'],
    ['webp', 'image/webp'],
    ['avif', 'image/avif'],
  ] as const) {
    test(`${format} originals: byte-identical with ${mime}, JPEG renditions`, async () => {
      const original = await makeImage(400, 600, { format });
      const id = await upload(jacket, original);
      const json = await (await jacket.get(`/b/id/${id}.json`)).json();
      assert.deepEqual([json.width, json.height], [400, 600]);
      const response = await jacket.get(`/b/id/${id}.jpg`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), mime);
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(original));
      const medium = await jacket.get(`/b/id/${id}-M.jpg`);
      assert.equal(medium.headers.get('content-type'), 'image/jpeg');
      assert.deepEqual(await dimensionsOf(await medium.arrayBuffer()), { width: 180, height: 270, format: 'jpeg' });
    });
  }

  test('concurrent requests for a missing rendition make it once; it is kept for the next ones', async () => {
    const id = await upload(jacket, await makeImage(900, 1400, { color: '#778899' }));
    const before = jacket.services.renditions.stats.made;
    const responses = await Promise.all(Array.from({ length: 8 }, () => jacket.get(`/b/id/${id}-L.jpg`)));
    const bodies = await Promise.all(responses.map(async (response) => Buffer.from(await response.arrayBuffer())));
    assert.ok(responses.every((response) => response.status === 200));
    assert.ok(bodies.every((body) => body.equals(bodies[0]!)));
    assert.equal(jacket.services.renditions.stats.made, before + 1);
    assert.deepEqual(await dimensionsOf(bodies[0]!), { width: 321, height: 500, format: 'jpeg' });
    const again = Buffer.from(await (await jacket.get(`/b/id/${id}-L.jpg`)).arrayBuffer());
    assert.equal(jacket.services.renditions.stats.made, before + 1);
    assert.ok(again.equals(bodies[0]!));
  });

  test('renditions are kept: after a restart on the same data they are served from the store, not made again', async () => {
    const dataDir = await makeTempDir();
    try {
      const first = await startJacket({ JACKET_DATA_DIR: dataDir });
      const id = await upload(first, await makeImage(640, 480));
      const made = Buffer.from(await (await first.get(`/b/id/${id}-M.jpg`)).arrayBuffer());
      assert.equal(first.services.renditions.stats.made, 1);
      await first.close();
      const second = await startJacket({ JACKET_DATA_DIR: dataDir });
      try {
        const served = Buffer.from(await (await second.get(`/b/id/${id}-M.jpg`)).arrayBuffer());
        assert.ok(served.equals(made));
        assert.equal(second.services.renditions.stats.made, 0);
        assert.equal(second.services.renditions.stats.storeHits, 1);
      } finally {
        await second.close();
      }
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  test('.webp and .avif variants of the same paths', async () => {
    const id = await upload(jacket, await makeImage(1000, 1500), { olid: 'OL77M', isbn: '0385472579' });
    for (const [extension, mime, format] of [
      ['webp', 'image/webp', 'webp'],
      ['avif', 'image/avif', 'heif'],
    ] as const) {
      for (const path of [`/b/id/${id}-M.${extension}`, `/b/olid/OL77M-M.${extension}`, `/b/isbn/978-0-385-47257-9-M.${extension}`]) {
        const response = await jacket.get(path);
        assert.equal(response.status, 200, path);
        assert.equal(response.headers.get('content-type'), mime, path);
        assert.deepEqual(await dimensionsOf(await response.arrayBuffer()), { width: 180, height: 270, format }, path);
        assert.equal(response.headers.get('etag'), `"${id}-m.${extension}"`);
      }
      const small = await jacket.get(`/b/id/${id}-S.${extension}`);
      assert.deepEqual(await dimensionsOf(await small.arrayBuffer()), { width: 38, height: 58, format });
      const full = await jacket.get(`/b/id/${id}.${extension}`);
      assert.equal(full.headers.get('content-type'), mime);
      assert.deepEqual(await dimensionsOf(await full.arrayBuffer()), { width: 1000, height: 1500, format });
      const revalidated = await jacket.get(`/b/id/${id}-M.${extension}`, { headers: { 'if-none-match': `"${id}-m.${extension}"` } });
      assert.equal(revalidated.status, 304);
    }
  });
});
