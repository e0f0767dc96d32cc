import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BLANK_GIF } from '../src/http/common.ts';
import { dimensionsOf, form, makeImage } from './helpers/images.ts';
import { listFiles, startJacket, type RunningJacket } from './helpers/server.ts';

async function upload(jacket: RunningJacket, category: string, fields: Record<string, string | string[]>, bytes: Buffer): Promise<number> {
  const response = await jacket.get(`/${category}/upload2`, { method: 'POST', headers: jacket.admin, body: form({ ...fields, data: { bytes } }) });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.id;
}

const JSON_FIELDS = [
  'id',
  'category_id',
  'olid',
  'filename',
  'filename_s',
  'filename_m',
  'filename_l',
  'author',
  'source_url',
  'width',
  'height',
  'failed',
  'archived',
  'uploaded',
  'deleted',
  'created',
  'last_modified',
];

describe('Open Library lookups, missing covers, caching and .json', () => {
  let jacket: RunningJacket;
  let book: number;
  let author: number;
  let work: number;
  let bare: number;
  let image: Buffer;

  before(async () => {
    jacket = await startJacket();
    image = await makeImage(300, 450);
    book = await upload(
      jacket,
      'b',
      {
        olid: 'OL123M',
        isbn: ['0-8044-2957-X', '978 0 385 47257 9'],
        oclc: 'ocm00012345',
        lccn: '85-2',
        goodreads: '4567',
        librarything: '8901',
        author: 'OL1A',
      },
      image,
    );
    author = await upload(jacket, 'a', { olid: 'OL9A' }, await makeImage(200, 300, { color: '#aa0000' }));
    work = await upload(jacket, 'w', { olid: 'OL7W' }, await makeImage(320, 200, { color: '#00aa00' }));
    // Identifiers without an edition: they attach to the cover itself.
    bare = await upload(jacket, 'b', { isbn: '9781566199094', goodreads: '777' }, await makeImage(100, 100, { color: '#0000aa' }));
  });
  after(() => jacket.close());

  test('every key finds the cover', async () => {
    const cases: Array<[string, number]> = [
      [`/b/id/${book}-S.jpg`, book],
      ['/b/olid/OL123M-S.jpg', book],
      ['/b/olid/ol123m-S.jpg', book],
      ['/b/isbn/080442957X-S.jpg', book],
      ['/b/isbn/080442957x-S.jpg', book],
      ['/b/isbn/0-8044-2957-x-S.jpg', book],
      ['/b/isbn/9780804429573-S.jpg', book],
      ['/b/isbn/978-0-8044-2957-3-S.jpg', book],
      ['/b/isbn/0385472579-S.jpg', book],
      ['/b/isbn/978%200%20385%2047257%209-S.jpg', book],
      ['/b/oclc/12345-S.jpg', book],
      ['/b/oclc/00012345-S.jpg', book],
      ['/b/lccn/85000002-S.jpg', book],
      ['/b/lccn/85-2-S.jpg', book],
      ['/b/goodreads/4567-S.jpg', book],
      ['/b/librarything/8901-S.jpg', book],
      [`/a/id/${author}-S.jpg`, author],
      ['/a/olid/OL9A-S.jpg', author],
      [`/w/id/${work}-S.jpg`, work],
      ['/w/olid/OL7W-S.jpg', work],
      ['/b/isbn/1566199093-S.jpg', bare],
      ['/b/goodreads/777-S.jpg', bare],
      // The key segment is case-insensitive.
      ['/b/ISBN/0385472579-S.jpg', book],
      ['/b/Olid/OL123M-S.jpg', book],
      [`/b/ID/${book}-S.jpg`, book],
      ['/b/OCLC/12345-S.jpg', book],
    ];
    for (const [path, id] of cases) {
      const response = await jacket.get(`${path}?default=false`);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('etag'), `"${id}-s"`, path);
      assert.equal(response.headers.get('content-type'), 'image/jpeg', path);
    }
  });

  test('id works under any category; an olid of another kind does not', async () => {
    assert.equal((await jacket.get(`/a/id/${book}-S.jpg?default=false`)).status, 200);
    assert.equal((await jacket.get('/b/olid/OL9A-S.jpg?default=false')).status, 404);
    assert.equal((await jacket.get('/a/isbn/0385472579-S.jpg?default=false')).status, 404);
  });

  test('the newest upload becomes the entity cover; touch bumps an older one back', async () => {
    const older = await upload(jacket, 'b', { olid: 'OL555M', isbn: '0451526538' }, await makeImage(60, 90));
    const newer = await upload(jacket, 'b', { olid: 'OL555M' }, await makeImage(90, 60));
    assert.equal((await jacket.get('/b/olid/OL555M-S.jpg')).headers.get('etag'), `"${newer}-s"`);
    assert.equal((await jacket.get('/b/isbn/0451526538-S.jpg')).headers.get('etag'), `"${newer}-s"`);
    const touched = await jacket.get('/b/touch', { method: 'POST', headers: { ...jacket.admin, 'content-type': 'application/x-www-form-urlencoded' }, body: `id=${older}` });
    assert.equal(touched.status, 200);
    assert.equal(await touched.text(), 'cover has been touched successfully.');
    assert.equal((await jacket.get('/b/olid/OL555M-S.jpg')).headers.get('etag'), `"${older}-s"`);
    assert.equal((await jacket.get('/b/isbn/9780451526533-S.jpg')).headers.get('etag'), `"${older}-s"`);
    assert.deepEqual(await (await jacket.get('/b/query?olid=OL555M')).json(), [older, newer]);
  });

  test('If-Modified-Since on an identifier URL sees a touched older cover', async () => {
    const seed = await upload(jacket, 'b', {}, await makeImage(70, 70, { color: '#abcdef' }));
    const original = (await jacket.services.catalogue.getCover(seed))!;
    const day = 86_400_000;
    const add = (createdAt: number) =>
      jacket.services.catalogue.addCover({ ...original, id: undefined, olid: 'OL556M', olidKind: 'edition', sourceUrl: undefined, author: undefined, createdAt });
    const older = await add(Date.now() - 2 * day);
    const newer = await add(Date.now() - day);
    const current = await jacket.get('/b/olid/OL556M-S.jpg');
    assert.equal(current.headers.get('etag'), `"${newer.id}-s"`);
    const seen = current.headers.get('last-modified')!;
    assert.equal((await jacket.get('/b/olid/OL556M-S.jpg', { headers: { 'if-modified-since': seen } })).status, 304);
    await jacket.get('/b/touch', { method: 'POST', headers: jacket.admin, body: new URLSearchParams({ id: String(older.id) }) });
    const after = await jacket.get('/b/olid/OL556M-S.jpg', { headers: { 'if-modified-since': seen } });
    assert.equal(after.status, 200);
    assert.equal(after.headers.get('etag'), `"${older.id}-s"`);
    // The id URL of the touched cover still carries its creation time: the image itself did not change.
    assert.equal((await jacket.get(`/b/id/${older.id}-S.jpg`)).headers.get('last-modified'), new Date(older.createdAt).toUTCString());
  });

  test('missing covers: blank GIF, default=false in any case, default=URL', async () => {
    for (const path of ['/b/id/987654-M.jpg', '/b/isbn/0000000000-S.jpg', '/b/olid/OL999999M.jpg', '/b/id/abc-L.jpg', `/b/id/${book}-s.jpg`, `/b/id/${book}-XL.jpg`, '/b/nokey/1-S.jpg']) {
      const blank = await jacket.get(path);
      assert.equal(blank.status, 200, path);
      assert.equal(blank.headers.get('content-type'), 'image/gif', path);
      const bytes = Buffer.from(await blank.arrayBuffer());
      assert.ok(bytes.equals(BLANK_GIF), path);
      assert.deepEqual(await dimensionsOf(bytes), { width: 1, height: 1, format: 'gif' });
      assert.equal(blank.headers.get('access-control-allow-origin'), '*');
      for (const value of ['false', 'FALSE', 'False', 'fAlSe']) {
        const missing = await jacket.get(`${path}?default=${value}`);
        assert.equal(missing.status, 404, `${path} ${value}`);
        assert.equal(missing.headers.get('access-control-allow-origin'), '*');
        assert.equal((await missing.json()).error, 'not_found');
      }
    }
    for (const fallback of ['https://example.org/none.png', 'http://example.org/a/b.jpg?x=1']) {
      const redirect = await jacket.get(`/b/isbn/0000000000-M.jpg?default=${encodeURIComponent(fallback)}`);
      assert.equal(redirect.status, 303);
      assert.equal(redirect.headers.get('location'), fallback);
      assert.equal(redirect.headers.get('access-control-allow-origin'), '*');
    }
    for (const [fallback, location] of [
      ['https://example.org/é', 'https://example.org/%C3%A9'],
      ['https://example.org/a\u0001b\u007f', 'https://example.org/a%01b%7F'],
    ]) {
      const redirect = await jacket.get(`/b/isbn/0000000000-M.jpg?default=${encodeURIComponent(fallback!)}`);
      assert.equal(redirect.status, 303, fallback);
      assert.equal(redirect.headers.get('location'), location);
    }
    // Not a URL, not "false": the blank GIF (never a redirect to javascript: or another scheme).
    for (const odd of ['javascript:alert(1)', 'ftp://example.org/x', '']) {
      const response = await jacket.get(`/b/isbn/0000000000-M.jpg?default=${encodeURIComponent(odd)}`);
      assert.equal(response.status, 200, odd);
      assert.equal(response.headers.get('content-type'), 'image/gif');
    }
    // A repeated parameter is not a crash.
    const twice = await jacket.get('/b/isbn/0000000000-M.jpg?default=false&default=false');
    assert.equal(twice.status, 404);
  });

  test('caching headers: ETag, Last-Modified, 304 both ways, long for id and short for other keys', async () => {
    const created = (await (await jacket.get(`/b/id/${book}.json`)).json()).created;
    for (const [suffix, tag] of [['-S.jpg', 's'], ['-M.jpg', 'm'], ['-L.jpg', 'l'], ['.jpg', '']] as const) {
      const response = await jacket.get(`/b/id/${book}${suffix}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('etag'), `"${book}-${tag}"`);
      assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      const lastModified = response.headers.get('last-modified')!;
      assert.equal(lastModified, new Date(created).toUTCString());
      const byTag = await jacket.get(`/b/id/${book}${suffix}`, { headers: { 'if-none-match': `"${book}-${tag}"` } });
      assert.equal(byTag.status, 304);
      assert.equal(byTag.headers.get('access-control-allow-origin'), '*');
      assert.equal(byTag.headers.get('etag'), `"${book}-${tag}"`);
      assert.equal((await byTag.arrayBuffer()).byteLength, 0);
      const byDate = await jacket.get(`/b/id/${book}${suffix}`, { headers: { 'if-modified-since': lastModified } });
      assert.equal(byDate.status, 304);
      const later = await jacket.get(`/b/id/${book}${suffix}`, { headers: { 'if-modified-since': new Date(Date.now() + 86_400_000).toUTCString() } });
      assert.equal(later.status, 304);
      const earlier = await jacket.get(`/b/id/${book}${suffix}`, { headers: { 'if-modified-since': new Date(Date.parse(created) - 86_400_000).toUTCString() } });
      assert.equal(earlier.status, 200);
      const otherTag = await jacket.get(`/b/id/${book}${suffix}`, { headers: { 'if-none-match': '"1-x"' } });
      assert.equal(otherTag.status, 200);
    }
    for (const path of ['/b/isbn/0385472579-M.jpg', '/b/olid/OL123M-M.jpg', '/b/oclc/12345.jpg']) {
      const response = await jacket.get(path);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('cache-control'), 'public, max-age=600', path);
      assert.ok(response.headers.get('etag'));
      assert.ok(response.headers.get('last-modified'));
      const revalidated = await jacket.get(path, { headers: { 'if-none-match': response.headers.get('etag')! } });
      assert.equal(revalidated.status, 304);
    }
    assert.equal((await jacket.get('/b/isbn/0000000000-M.jpg')).headers.get('cache-control'), 'public, max-age=600');
  });

  test('revalidation is cheap: a 304 for a rendition never made makes no image', async () => {
    const id = await upload(jacket, 'b', {}, await makeImage(700, 700, { color: '#654321' }));
    const made = jacket.services.renditions.stats.made;
    const files = await listFiles(`${jacket.dataDir}/blobs/renditions`);
    for (const suffix of ['-S.jpg', '-M.jpg', '-L.jpg', '-L.webp', '-M.avif']) {
      const tag = `"${id}-${suffix[1]!.toLowerCase()}${suffix.endsWith('.jpg') ? '' : suffix.slice(2)}"`;
      const response = await jacket.get(`/b/id/${id}${suffix}`, { headers: { 'if-none-match': tag } });
      assert.equal(response.status, 304, suffix);
      const byDate = await jacket.get(`/b/id/${id}${suffix}`, { headers: { 'if-modified-since': new Date().toUTCString() } });
      assert.equal(byDate.status, 304, suffix);
    }
    assert.equal(jacket.services.renditions.stats.made, made);
    assert.deepEqual(await listFiles(`${jacket.dataDir}/blobs/renditions`), files);
  });

  test('CORS on every response; OPTIONS on any path; HEAD wherever GET is', async () => {
    for (const path of ['/', `/b/id/${book}-M.jpg`, '/b/query', `/b/id/${book}.json`, '/b/isbn/1.json', '/no/such/path', '/b/upload2']) {
      const options = await jacket.get(path, { method: 'OPTIONS' });
      assert.equal(options.status, 200, path);
      assert.equal((await options.arrayBuffer()).byteLength, 0);
      assert.equal(options.headers.get('access-control-allow-origin'), '*');
      assert.match(options.headers.get('access-control-allow-methods') ?? '', /GET/);
    }
    for (const path of [`/b/id/${book}-M.jpg`, '/b/id/987654-S.jpg?default=false', '/b/query?callback=1x']) {
      assert.match((await jacket.get(path)).headers.get('access-control-allow-methods') ?? '', /GET, HEAD, OPTIONS/, path);
    }
    const unauthorized = await jacket.get('/b/upload2', { method: 'POST', body: form({ olid: 'OL1M' }) });
    assert.equal(unauthorized.status, 401);
    assert.equal(unauthorized.headers.get('access-control-allow-origin'), '*');
    const badCallback = await jacket.get('/b/query?callback=alert(1)');
    assert.equal(badCallback.headers.get('access-control-allow-origin'), '*');

    for (const path of [`/b/id/${book}-M.jpg`, `/b/id/${book}.jpg`, '/b/isbn/0385472579-L.jpg', '/b/id/987654-S.jpg', `/b/id/${book}.json`, '/b/query?olid=OL123M', '/', `/b/id/${book}-M.webp`]) {
      const get = await jacket.get(path);
      const getBody = Buffer.from(await get.arrayBuffer());
      const head = await jacket.get(path, { method: 'HEAD' });
      assert.equal(head.status, get.status, path);
      assert.equal((await head.arrayBuffer()).byteLength, 0, path);
      for (const name of ['content-type', 'etag', 'last-modified', 'cache-control', 'access-control-allow-origin']) {
        assert.equal(head.headers.get(name), get.headers.get(name), `${path} ${name}`);
      }
      const length = head.headers.get('content-length');
      if (length !== null) assert.equal(Number(length), getBody.length, path);
    }
    const headMissing = await jacket.get('/b/id/987654-S.jpg?default=false', { method: 'HEAD' });
    assert.equal(headMissing.status, 404);
    const head304 = await jacket.get(`/b/id/${book}-M.jpg`, { method: 'HEAD', headers: { 'if-none-match': `"${book}-m"` } });
    assert.equal(head304.status, 304);
  });

  test('.json: the spec fields, no ip, 302 from other keys, 404 when missing', async () => {
    const response = await jacket.get(`/b/id/${book}.json`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const body = await response.json();
    for (const field of JSON_FIELDS) assert.ok(field in body, field);
    assert.equal('ip' in body, false);
    const padded = String(book).padStart(10, '0');
    assert.equal(body.id, book);
    assert.equal(body.category_id, 1);
    assert.equal(body.olid, 'OL123M');
    assert.equal(body.filename, `${padded}.jpg`);
    assert.equal(body.filename_s, `${padded}-S.jpg`);
    assert.equal(body.filename_m, `${padded}-M.jpg`);
    assert.equal(body.filename_l, `${padded}-L.jpg`);
    assert.equal(body.author, 'OL1A');
    assert.equal(body.source_url, null);
    assert.deepEqual([body.width, body.height], [300, 450]);
    assert.equal(body.deleted, false);
    assert.equal(body.failed, false);
    assert.equal(body.archived, false);
    assert.equal(body.uploaded, true);
    for (const date of [body.created, body.last_modified]) {
      // Python's isoformat() of a UTC time, as coverstore writes it.
      assert.match(date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/);
      assert.ok(Math.abs(Date.parse(`${date}Z`) - Date.now()) < 600_000);
    }
    assert.equal((await (await jacket.get(`/a/id/${author}.json`)).json()).category_id, 2);
    assert.equal((await (await jacket.get(`/w/id/${work}.json`)).json()).category_id, 3);

    for (const path of ['/b/isbn/0385472579.json', '/b/olid/OL123M.json', '/b/oclc/12345.json', '/b/ISBN/978-0-385-47257-9.json']) {
      const redirect = await jacket.get(path);
      assert.equal(redirect.status, 302, path);
      assert.equal(redirect.headers.get('location'), `/b/id/${book}.json`);
      assert.equal(redirect.headers.get('access-control-allow-origin'), '*');
    }
    for (const path of ['/b/id/987654.json', '/b/isbn/0000000000.json', '/b/olid/OL999M.json', '/b/id/abc.json']) {
      const missing = await jacket.get(path);
      assert.equal(missing.status, 404, path);
      assert.equal((await missing.json()).error, 'not_found');
    }
  });

  test('/query: olid lists, offset, limit, details, cmd=ids, JSONP', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push(await upload(jacket, 'b', { olid: 'OL42M' }, await makeImage(40 + i, 60)));
    const other = await upload(jacket, 'b', { olid: 'OL43M' }, await makeImage(50, 60));
    const newestFirst = [...ids].reverse();
    assert.deepEqual(await (await jacket.get('/b/query?olid=OL42M')).json(), newestFirst);
    assert.deepEqual(await (await jacket.get('/b/query?olid=ol42m')).json(), newestFirst);
    assert.deepEqual(await (await jacket.get('/b/query?olid=OL42M,OL43M')).json(), [other, ...newestFirst]);
    assert.deepEqual(await (await jacket.get('/b/query?olid=OL42M&offset=1')).json(), newestFirst.slice(1));
    assert.deepEqual(await (await jacket.get('/b/query?olid=OL42M&limit=2')).json(), newestFirst.slice(0, 2));
    assert.deepEqual(await (await jacket.get('/b/query?olid=OL42M&offset=1&limit=1')).json(), [newestFirst[1]]);
    assert.deepEqual(await (await jacket.get('/b/query?olid=OL404M')).json(), []);
    assert.deepEqual(await (await jacket.get('/b/query?olid=OL42M,OL43M&cmd=ids')).json(), { OL42M: newestFirst[0], OL43M: other });
    const details = await (await jacket.get('/b/query?olid=OL43M&details=true')).json();
    assert.equal(details.length, 1);
    assert.deepEqual(Object.keys(details[0]).sort(), ['created', 'height', 'id', 'last_modified', 'olid', 'source_url', 'width']);
    assert.equal(details[0].id, other);
    assert.equal(details[0].olid, 'OL43M');
    assert.deepEqual([details[0].width, details[0].height], [50, 60]);
    // Other categories are separate.
    assert.deepEqual(await (await jacket.get('/a/query?olid=OL9A')).json(), [author]);
    assert.deepEqual(await (await jacket.get('/w/query')).json(), [work]);

    const jsonp = await jacket.get('/b/query?olid=OL43M&callback=handle_covers');
    assert.equal(jsonp.status, 200);
    assert.match(jsonp.headers.get('content-type') ?? '', /javascript/);
    assert.equal(await jsonp.text(), `handle_covers(${JSON.stringify([other])});`);
    assert.equal(await (await jacket.get('/b/query?olid=OL43M&cmd=ids&callback=ns.cb')).text(), `ns.cb({"OL43M":${other}});`);
    for (const callback of ['alert(1)', 'a;b', '</script>', '1abc', 'x y', 'a'.repeat(300)]) {
      const refused = await jacket.get(`/b/query?callback=${encodeURIComponent(callback)}`);
      assert.equal(refused.status, 400, callback);
      const body = await refused.json();
      assert.equal(body.error, 'invalid_callback');
      assert.equal(typeof body.message, 'string');
    }
    // Numbers are read as leniently as the original reads them; only a deep offset is refused.
    for (const lenient of ['offset=-1', 'offset=abc', 'limit=x', 'limit=1.5']) assert.equal((await jacket.get(`/b/query?${lenient}`)).status, 200, lenient);
    const deep = await jacket.get('/b/query?offset=2000000');
    assert.equal(deep.status, 400);
    assert.equal((await deep.json()).error, 'invalid_offset');
    // Repeated parameters are not a crash.
    assert.equal((await jacket.get('/b/query?olid=OL42M&olid=OL43M')).status, 200);
    assert.equal((await jacket.get('/b/query?limit=2&limit=3')).status, 200);
  });

  test('/query: limit defaults to 10 and is capped at 100', async () => {
    const fresh = await startJacket();
    try {
      const small = await makeImage(8, 8);
      const ids: number[] = [await upload(fresh, 'w', { olid: 'OL5W' }, small)];
      // The other 104 rows straight into the catalogue (same original): this test is about paging, not uploading.
      const first = (await fresh.services.catalogue.getCover(ids[0]!))!;
      for (let i = 1; i < 105; i++) {
        const cover = await fresh.services.catalogue.addCover({ ...first, id: undefined, olid: 'OL5W', olidKind: 'work', sourceUrl: undefined, author: undefined, createdAt: first.createdAt + i });
        ids.push(cover.id);
      }
      const newestFirst = ids.reverse();
      assert.deepEqual(await (await fresh.get('/w/query?olid=OL5W')).json(), newestFirst.slice(0, 10));
      assert.deepEqual(await (await fresh.get('/w/query?olid=OL5W&limit=1000')).json(), newestFirst.slice(0, 100));
      assert.deepEqual(await (await fresh.get('/w/query?olid=OL5W&limit=100&offset=100')).json(), newestFirst.slice(100));
      assert.deepEqual(await (await fresh.get('/w/query')).json(), newestFirst.slice(0, 10));
    } finally {
      await fresh.close();
    }
  });
});
