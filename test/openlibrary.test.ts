import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dimensionsOf, form, makeImage } from './helpers/images.ts';
import { listFiles, startJacket, type RunningJacket } from './helpers/server.ts';

describe('Open Library Covers API', () => {
  let jacket: RunningJacket;
  let coverId: number;
  let original: Buffer;

  before(async () => {
    jacket = await startJacket();
    original = await makeImage(1200, 1920);
    const response = await jacket.get('/b/upload2', {
      method: 'POST',
      headers: jacket.admin,
      body: form({ olid: 'OL1M', isbn: '0-385-47257-9', oclc: '12345', data: { bytes: original, type: 'image/jpeg' } }),
    });
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.ok, 'true');
    coverId = body.id;
  });
  after(() => jacket.close());

  test('sizes follow the two-step arithmetic over real HTTP', async () => {
    for (const [size, width, height] of [['S', 36, 58], ['M', 180, 288], ['L', 312, 500]] as const) {
      const response = await jacket.get(`/b/id/${coverId}-${size}.jpg`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'image/jpeg');
      assert.deepEqual(await dimensionsOf(await response.arrayBuffer()), { width, height, format: 'jpeg' });
    }
  });

  test('the original is byte-identical', async () => {
    const response = await jacket.get(`/b/id/${coverId}.jpg`);
    assert.equal(response.status, 200);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(original));
  });

  test('ISBN-10 and ISBN-13, with hyphens, find the same cover; OLID and OCLC too', async () => {
    for (const path of ['/b/isbn/0385472579-S.jpg', '/b/isbn/978-0-385-47257-9-S.jpg', '/b/ISBN/9780385472579-S.jpg', '/b/olid/OL1M-S.jpg', '/b/oclc/12345-S.jpg']) {
      const response = await jacket.get(path);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('etag'), `"${coverId}-s"`, path);
    }
  });

  test('missing covers: blank GIF, 404 with default=false, 303 to a default URL', async () => {
    const blank = await jacket.get('/b/isbn/9999999999-M.jpg');
    assert.equal(blank.status, 200);
    assert.equal(blank.headers.get('content-type'), 'image/gif');
    const notFound = await jacket.get('/b/isbn/9999999999-M.jpg?default=False');
    assert.equal(notFound.status, 404);
    const redirect = await jacket.get('/b/id/999999-M.jpg?default=https://example.org/x.png');
    assert.equal(redirect.status, 303);
    assert.equal(redirect.headers.get('location'), 'https://example.org/x.png');
    assert.equal((await jacket.get(`/b/id/${coverId}-s.jpg?default=false`)).status, 404);
    assert.equal((await jacket.get(`/b/id/${coverId}-XL.jpg?default=false`)).status, 404);
  });

  test('ETag and 304 on revalidation; CORS everywhere', async () => {
    const first = await jacket.get(`/b/id/${coverId}-M.jpg`);
    assert.equal(first.headers.get('etag'), `"${coverId}-m"`);
    assert.equal(first.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(first.headers.get('access-control-allow-origin'), '*');
    const second = await jacket.get(`/b/id/${coverId}-M.jpg`, { headers: { 'if-none-match': `"${coverId}-m"` } });
    assert.equal(second.status, 304);
    const viaIsbn = await jacket.get('/b/isbn/0385472579-M.jpg');
    assert.equal(viaIsbn.headers.get('cache-control'), 'public, max-age=600');
    const error = await jacket.get('/nothing/here');
    assert.equal(error.status, 404);
    assert.equal(error.headers.get('access-control-allow-origin'), '*');
  });

  test('.json metadata, with a 302 from other keys and no IP address', async () => {
    const response = await jacket.get(`/b/id/${coverId}.json`);
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.id, coverId);
    assert.equal(body.width, 1200);
    assert.equal(body.height, 1920);
    assert.equal(body.olid, 'OL1M');
    assert.equal('ip' in body, false);
    const redirect = await jacket.get('/b/isbn/0385472579.json');
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), `/b/id/${coverId}.json`);
    assert.equal((await jacket.get('/b/id/424242.json')).status, 404);
  });

  test('uploads need the admin token and bad images store nothing', async () => {
    // Renditions made by the tests before are stored after their responses: let them land first.
    await jacket.services.renditions.flush();
    const before = await listFiles(jacket.dataDir + '/blobs');
    const unauthenticated = await jacket.get('/b/upload2', { method: 'POST', body: form({ data: { bytes: original } }) });
    assert.equal(unauthenticated.status, 401);
    const truncated = original.subarray(0, Math.floor(original.length / 2));
    for (const bytes of [Buffer.alloc(0), Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), truncated, Buffer.from('%PDF-1.4 nope')]) {
      const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL2M', data: { bytes } }) });
      assert.equal(response.status, 400);
      const body = await response.json();
      assert.ok([1, 3].includes(body.code), JSON.stringify(body));
      assert.equal(typeof body.error, 'string');
    }
    assert.deepEqual(await listFiles(jacket.dataDir + '/blobs'), before);
    assert.equal((await jacket.get('/b/olid/OL2M-S.jpg?default=false')).status, 404);
  });
});
