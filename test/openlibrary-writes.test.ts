import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dimensionsOf, form, makeImage } from './helpers/images.ts';
import { listFiles, startJacket, type RunningJacket } from './helpers/server.ts';

const urlencoded = (fields: Record<string, string | string[]>) => {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const item of Array.isArray(value) ? value : [value]) params.append(name, item);
  return params;
};

async function countCovers(jacket: RunningJacket): Promise<number> {
  const row = await jacket.services.db.selectFrom('covers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('Open Library writes: upload2, legacy upload, delete, touch', () => {
  let jacket: RunningJacket;
  let image: Buffer;
  before(async () => {
    jacket = await startJacket();
    image = await makeImage(600, 900);
  });
  after(() => jacket.close());

  test('writes need the Bearer token: 401 without, 401 with a wrong one', async () => {
    const covers = await countCovers(jacket);
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong-token' }, { authorization: 'Basic dGVzdDp0ZXN0' }]) {
      for (const path of ['/b/upload2', '/b/upload', '/a/upload2', '/b/delete', '/b/touch']) {
        const response = await jacket.get(path, { method: 'POST', headers, body: form({ olid: 'OL1M', id: '1', data: { bytes: image } }) });
        assert.equal(response.status, 401, path);
        assert.equal(response.headers.get('www-authenticate'), 'Bearer');
        const body = await response.json();
        assert.equal(body.error, 'unauthorized');
        assert.equal(typeof body.message, 'string');
      }
    }
    assert.equal(await countCovers(jacket), covers);
  });

  test('upload2 multipart: ok "true", repeatable identifier fields, author', async () => {
    const response = await jacket.get('/b/upload2', {
      method: 'POST',
      headers: jacket.admin,
      body: form({ olid: 'OL10M', author: 'someone', isbn: ['0385472579', '9780804429573'], lccn: ['85-2', '2001-12345'], oclc: '1, 2', data: { bytes: image, filename: 'cover.jpg', type: 'image/jpeg' } }),
    });
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.ok, 'true');
    assert.equal(typeof body.id, 'number');
    for (const path of ['/b/isbn/0-385-47257-9-M.jpg', '/b/isbn/080442957X-M.jpg', '/b/lccn/85000002-M.jpg', '/b/lccn/2001012345-M.jpg', '/b/oclc/1-M.jpg', '/b/oclc/2-M.jpg', '/b/olid/OL10M-M.jpg']) {
      const found = await jacket.get(`${path}?default=false`);
      assert.equal(found.status, 200, path);
      assert.equal(found.headers.get('etag'), `"${body.id}-m"`, path);
    }
    const json = await (await jacket.get(`/b/id/${body.id}.json`)).json();
    assert.equal(json.author, 'someone');
    assert.equal(json.olid, 'OL10M');
    assert.deepEqual([json.width, json.height], [600, 900]);
  });

  test('upload2 to /a and /w needs an OLID of that kind', async () => {
    const author = await jacket.get('/a/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL5A', data: { bytes: image } }) });
    assert.equal(author.status, 200);
    const wrong = await jacket.get('/a/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL5M', data: { bytes: image } }) });
    assert.equal(wrong.status, 400);
    const body = await wrong.json();
    assert.equal(body.code, 4);
    assert.equal(body.error, 'invalid_olid');
    assert.equal(typeof body.detail, 'string');
  });

  test('upload2 error codes: 1 no image, 3 invalid image, invalid identifier', async () => {
    const noImage = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL11M' }) });
    assert.equal(noImage.status, 400);
    assert.deepEqual(await noImage.json(), { code: 1, message: 'No image found', error: 'no_image', detail: 'No image was sent: give a file (`data`) or a `source_url`.' });
    const junk = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL11M', data: { bytes: Buffer.from('hello, not an image') } }) });
    assert.equal(junk.status, 400);
    const junkBody = await junk.json();
    assert.equal(junkBody.code, 3);
    assert.equal(junkBody.message, 'Invalid Image');
    const badIsbn = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL11M', isbn: '12-not-an-isbn', data: { bytes: image } }) });
    assert.equal(badIsbn.status, 400);
    assert.equal((await badIsbn.json()).error, 'invalid_identifier');
    assert.equal((await jacket.get('/b/olid/OL11M-S.jpg?default=false')).status, 404);
  });

  test('urlencoded upload2 without a source_url is "no image"; with one (feature off) is code 2', async () => {
    const none = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: urlencoded({ olid: 'OL12M' }) });
    assert.equal(none.status, 400);
    assert.equal((await none.json()).code, 1);
    const off = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: urlencoded({ olid: 'OL12M', source_url: 'https://covers.example.org/x.jpg' }) });
    assert.equal(off.status, 400);
    const body = await off.json();
    assert.equal(body.code, 2);
    assert.equal(body.message, 'Invalid URL');
    assert.equal(body.error, 'source_url_not_allowed');
    for (const bad of ['not a url', 'file:///etc/passwd', 'ftp://example.org/x.jpg', 'http://user:pw@example.org/x.jpg']) {
      const refused = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: urlencoded({ olid: 'OL12M', source_url: bad }) });
      assert.equal(refused.status, 400, bad);
      assert.equal((await refused.json()).code, 2, bad);
    }
  });

  test('legacy /upload answers 303 to success_url, or failure_url with errcode and errmsg', async () => {
    const ok = await jacket.get('/b/upload', {
      method: 'POST',
      headers: jacket.admin,
      body: form({ olid: 'OL20M', success_url: 'https://openlibrary.example/books/OL20M?done=1', failure_url: 'https://openlibrary.example/failed', file: { bytes: image } }),
    });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), 'https://openlibrary.example/books/OL20M?done=1');
    assert.equal((await jacket.get('/b/olid/OL20M-S.jpg?default=false')).status, 200);

    const noSuccessUrl = await jacket.get('/b/upload', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL21M', file: { bytes: image } }) });
    assert.equal(noSuccessUrl.status, 303);
    assert.match(noSuccessUrl.headers.get('location') ?? '', /^\/b\/id\/\d+\.json$/);

    const failed = await jacket.get('/b/upload', {
      method: 'POST',
      headers: jacket.admin,
      body: form({ olid: 'OL22M', success_url: 'https://openlibrary.example/ok', failure_url: 'https://openlibrary.example/failed?x=1', file: { bytes: Buffer.from('GIF89a not really') } }),
    });
    assert.equal(failed.status, 303);
    const location = new URL(failed.headers.get('location')!);
    assert.equal(location.origin + location.pathname, 'https://openlibrary.example/failed');
    assert.equal(location.searchParams.get('x'), '1');
    assert.equal(location.searchParams.get('errcode'), '3');
    assert.ok((location.searchParams.get('errmsg') ?? '').length > 10);
    assert.equal((await jacket.get('/b/olid/OL22M-S.jpg?default=false')).status, 404);

    const noImage = await jacket.get('/b/upload', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL22M', failure_url: '/failed' }) });
    assert.equal(noImage.status, 303);
    const relative = new URL(noImage.headers.get('location')!, 'http://x');
    assert.equal(relative.pathname, '/failed');
    assert.equal(relative.searchParams.get('errcode'), '1');

    const noOlid = await jacket.get('/b/upload', { method: 'POST', headers: jacket.admin, body: form({ failure_url: '/failed', file: { bytes: image } }) });
    assert.equal(noOlid.status, 303);
    assert.equal(new URL(noOlid.headers.get('location')!, 'http://x').searchParams.get('errcode'), '4');

    const noFailureUrl = await jacket.get('/b/upload', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL22M', file: { bytes: Buffer.from('nope') } }) });
    assert.equal(noFailureUrl.status, 400);
    assert.equal((await noFailureUrl.json()).code, 3);
  });

  test('redirect targets are percent-encoded, other schemes ignored, never a 500', async () => {
    const success = await jacket.get('/b/upload', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL23M', success_url: 'https://x.example/é\u0001?q', file: { bytes: image } }) });
    assert.equal(success.status, 303);
    assert.equal(success.headers.get('location'), 'https://x.example/%C3%A9%01?q');
    for (const hostile of ['javascript:alert(1)', '//evil.example/x', 'data:text/html,hi', '\\evil.example']) {
      const ignored = await jacket.get('/b/upload', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL23M', success_url: hostile, file: { bytes: image } }) });
      assert.equal(ignored.status, 303, hostile);
      assert.match(ignored.headers.get('location') ?? '', /^\/b\/id\/\d+\.json$/, hostile);
      const failed = await jacket.get('/b/upload', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL23M', failure_url: hostile, file: { bytes: Buffer.from('x') } }) });
      assert.equal(failed.status, 400, hostile);
      assert.equal((await failed.json()).code, 3);
    }
    const failed = await jacket.get('/b/upload', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL23M', failure_url: '/échec\u0000/x', file: { bytes: Buffer.from('x') } }) });
    assert.equal(failed.status, 303);
    assert.match(failed.headers.get('location') ?? '', /^\/%C3%A9chec%00\/x\?errcode=3&errmsg=/);
  });

  test('delete removes the cover from every route; deleted looks exactly like missing', async () => {
    const distinct = await makeImage(320, 480, { color: '#123456' });
    const response = await jacket.get('/b/upload2', {
      method: 'POST',
      headers: jacket.admin,
      body: form({ olid: 'OL30M', isbn: '0451526538', goodreads: '30', data: { bytes: distinct } }),
    });
    const { id } = await response.json();
    const bare = await (await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ isbn: '9781566199094', data: { bytes: distinct } }) })).json();
    const routes = [`/b/id/${id}-M.jpg`, `/b/id/${id}.jpg`, '/b/olid/OL30M-M.jpg', '/b/isbn/0451526538-M.jpg', '/b/isbn/9780451526533-L.jpg', '/b/goodreads/30-S.jpg', `/b/id/${id}-M.webp`];
    for (const path of routes) assert.equal((await jacket.get(`${path}?default=false`)).status, 200, path);
    assert.equal((await jacket.get(`/b/id/${id}.json`)).status, 200);
    assert.deepEqual(await (await jacket.get('/b/query?olid=OL30M')).json(), [id]);

    const deleted = await jacket.get('/b/delete', { method: 'POST', headers: jacket.admin, body: urlencoded({ id: String(id) }) });
    assert.equal(deleted.status, 200);
    assert.equal(await deleted.text(), 'cover has been deleted successfully.');

    for (const path of routes) {
      const blank = await jacket.get(path);
      assert.equal(blank.status, 200, path);
      assert.equal(blank.headers.get('content-type'), 'image/gif', path);
      assert.equal(blank.headers.get('etag'), null, path);
      assert.equal((await jacket.get(`${path}?default=false`)).status, 404, path);
      assert.equal((await jacket.get(`${path}?default=https://example.org/d.png`)).status, 303, path);
    }
    // Even a client holding the old ETag does not get a 304 for a deleted cover.
    assert.equal((await jacket.get(`/b/id/${id}-M.jpg?default=false`, { headers: { 'if-none-match': `"${id}-m"` } })).status, 404);
    const json = await jacket.get(`/b/id/${id}.json`);
    assert.equal(json.status, 404);
    assert.deepEqual(await json.json(), await (await jacket.get('/b/id/99999999.json')).json());
    assert.equal((await jacket.get('/b/olid/OL30M.json')).status, 404);
    assert.deepEqual(await (await jacket.get('/b/query?olid=OL30M')).json(), []);
    assert.deepEqual(await (await jacket.get('/b/query?olid=OL30M&cmd=ids')).json(), {});
    // The cover uploaded with the same bytes is unaffected.
    assert.equal((await jacket.get('/b/isbn/1566199093-M.jpg?default=false')).headers.get('etag'), `"${bare.id}-m"`);
    assert.deepEqual(await dimensionsOf(await (await jacket.get(`/b/id/${bare.id}-M.jpg`)).arrayBuffer()), { width: 180, height: 270, format: 'jpeg' });

    const again = await jacket.get('/b/delete', { method: 'POST', headers: jacket.admin, body: urlencoded({ id: String(id) }) });
    assert.equal(again.status, 404);
    assert.equal((await again.json()).error, 'not_found');
    const touchDeleted = await jacket.get('/b/touch', { method: 'POST', headers: jacket.admin, body: urlencoded({ id: String(id) }) });
    assert.equal(touchDeleted.status, 404);
    const withFile = await jacket.get('/b/delete', { method: 'POST', headers: jacket.admin, body: form({ id: String(bare.id), data: { bytes: image } }) });
    assert.equal(withFile.status, 400);
    assert.equal((await withFile.json()).error, 'unexpected_file');
    assert.equal((await jacket.get(`/b/id/${bare.id}.json`)).status, 200);
    for (const bad of ['', 'abc', '-1', '0', '1e5', '99999999999999999999']) {
      const refused = await jacket.get('/b/delete', { method: 'POST', headers: jacket.admin, body: urlencoded({ id: bad }) });
      assert.equal(refused.status, 400, bad);
      assert.equal((await refused.json()).error, 'invalid_id');
    }
  });

  test('delete with redirect_url answers 303 (browser form)', async () => {
    const { id } = await (await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL31M', data: { bytes: image } }) })).json();
    const response = await jacket.get('/b/delete', { method: 'POST', headers: jacket.admin, body: form({ id: String(id), redirect_url: '/done' }) });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/done');
    assert.equal((await jacket.get(`/b/id/${id}.json`)).status, 404);
  });

  test('nothing is left behind on disk by refused uploads', async () => {
    const blobs = await listFiles(`${jacket.dataDir}/blobs`);
    for (const bytes of [Buffer.alloc(0), Buffer.from('no')]) {
      await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL40M', data: { bytes } }) });
    }
    assert.deepEqual(await listFiles(`${jacket.dataDir}/blobs`), blobs);
  });
});
