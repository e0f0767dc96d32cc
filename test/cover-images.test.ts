import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { negotiateFormat } from '../src/http/cover-images.ts';
import { dimensionsOf, form, makeImage } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

test('Accept negotiation picks the best format the client takes, JPEG by default', () => {
  assert.equal(negotiateFormat(undefined), 'jpeg');
  assert.equal(negotiateFormat('*/*'), 'jpeg');
  assert.equal(negotiateFormat('image/*'), 'jpeg');
  assert.equal(negotiateFormat('text/html'), 'jpeg');
  assert.equal(negotiateFormat('image/avif,image/webp,image/apng,image/*,*/*;q=0.8'), 'avif');
  assert.equal(negotiateFormat('image/webp,*/*'), 'webp');
  assert.equal(negotiateFormat('image/avif;q=0.5, image/webp;q=0.9, image/jpeg'), 'jpeg');
  assert.equal(negotiateFormat('image/avif;q=0, image/webp'), 'webp');
  assert.equal(negotiateFormat('IMAGE/AVIF ; Q=0.9, image/jpeg;q=0.8'), 'avif');
});

describe('GET /api/v1/covers/{id}/image', () => {
  let jacket: RunningJacket;
  let id: number;

  before(async () => {
    jacket = await startJacket();
    const bytes = await makeImage(600, 900);
    const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ data: { bytes, type: 'image/jpeg' } }) });
    id = (await response.json()).id;
  });
  after(() => jacket.close());

  test('answers AVIF, WebP or JPEG by Accept, with Vary: Accept and per-format ETags', async () => {
    for (const [accept, mime, format, etag] of [
      ['image/avif,image/webp,*/*;q=0.8', 'image/avif', 'heif', `"${id}-m.avif"`],
      ['image/webp,*/*', 'image/webp', 'webp', `"${id}-m.webp"`],
      ['*/*', 'image/jpeg', 'jpeg', `"${id}-m"`],
    ] as const) {
      const response = await jacket.get(`/api/v1/covers/${id}/image?size=M`, { headers: { accept } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), mime);
      assert.equal(response.headers.get('vary'), 'Accept');
      assert.equal(response.headers.get('etag'), etag);
      assert.deepEqual(await dimensionsOf(await response.arrayBuffer()), { width: 180, height: 270, format });
      const again = await jacket.get(`/api/v1/covers/${id}/image?size=M`, { headers: { accept, 'if-none-match': etag } });
      assert.equal(again.status, 304);
    }
    // The same bytes as the Open Library route for the same rendition.
    const native = Buffer.from(await (await jacket.get(`/api/v1/covers/${id}/image?size=m`, { headers: { accept: 'image/webp' } })).arrayBuffer());
    const openLibrary = Buffer.from(await (await jacket.get(`/b/id/${id}-M.webp`)).arrayBuffer());
    assert.ok(native.equals(openLibrary));
  });

  test('bad ids and sizes are 400s, unknown covers 404s, in the native error shape', async () => {
    for (const [path, status, code] of [
      [`/api/v1/covers/abc/image`, 400, 'invalid_id'],
      [`/api/v1/covers/${id}/image?size=XL`, 400, 'invalid_size'],
      [`/api/v1/covers/999999/image`, 404, 'not_found'],
    ] as const) {
      const response = await jacket.get(path);
      assert.equal(response.status, status, path);
      assert.equal((await response.json()).error, code);
    }
  });

  test('a repeated size parameter counts by its first value (no 500)', async () => {
    const response = await jacket.get(`/api/v1/covers/${id}/image?size=S&size=L`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'image/jpeg');
    const small = await jacket.get(`/api/v1/covers/${id}/image?size=S`);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), Buffer.from(await small.arrayBuffer()));
  });
});
