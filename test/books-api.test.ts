import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dimensionsOf } from './helpers/images.ts';
import { rawGet, uploadBookCover } from './helpers/library-apis.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

const KOHA = 'KOHA.OpenLibrary.olCallBack';

/** The JSON inside `var _OLBookInfo = …;` or `callback(…);`, after checking the wrapper is exactly that. */
function unwrap(body: string, callback?: string): Record<string, any> {
  const prefix = callback ? `${callback}(` : 'var _OLBookInfo = ';
  const suffix = callback ? ');' : ';';
  assert.ok(body.startsWith(prefix), body.slice(0, 80));
  assert.ok(body.endsWith(suffix), body.slice(-20));
  return JSON.parse(body.slice(prefix.length, body.length - suffix.length));
}

describe('Books API: GET /api/books', () => {
  let jacket: RunningJacket;
  let edition: number;
  let bare: number;

  before(async () => {
    jacket = await startJacket();
    edition = await uploadBookCover(jacket, { olid: 'OL123M', isbn: '0-8044-2957-X', oclc: 'ocm00012345', lccn: '85-2' });
    // Identifiers attached to the cover itself: no edition record behind it.
    bare = await uploadBookCover(jacket, { isbn: '9780140328721' }, '#aa3300');
  });
  after(() => jacket.close());

  test('default: javascript, viewapi; a key the catalogue never heard of is left out', async () => {
    const response = await jacket.get('/api/books?bibkeys=ISBN:080442957x,ISBN:9999999999999');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^application\/javascript/);
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    const books = unwrap(await response.text());
    assert.deepEqual(Object.keys(books), ['ISBN:080442957x']);
    assert.deepEqual(books['ISBN:080442957x'], {
      bib_key: 'ISBN:080442957x',
      info_url: `${jacket.url}/ui/cover/${edition}`,
      preview: 'noview',
      preview_url: `${jacket.url}/ui/cover/${edition}`,
      thumbnail_url: `${jacket.url}/b/id/${edition}-S.jpg`,
    });
  });

  test("Koha's request: jscmd=data with its callback; cover.medium is a 180×270 JPEG", async () => {
    const response = await jacket.get(`/api/books?bibkeys=ISBN:9780804429573,ISBN:0140328726&callback=${KOHA}&jscmd=data`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^application\/javascript/);
    const books = unwrap(await response.text(), KOHA);
    assert.deepEqual(books['ISBN:9780804429573'], {
      url: `${jacket.url}/ui/cover/${edition}`,
      key: '/books/OL123M',
      cover: { small: `${jacket.url}/b/id/${edition}-S.jpg`, medium: `${jacket.url}/b/id/${edition}-M.jpg`, large: `${jacket.url}/b/id/${edition}-L.jpg` },
    });
    // The bare cover has no edition: its key is its own address.
    assert.equal(books['ISBN:0140328726'].key, `/b/id/${bare}`);
    const image = await fetch(books['ISBN:9780804429573'].cover.medium);
    assert.equal(image.status, 200);
    assert.deepEqual(await dimensionsOf(await image.arrayBuffer()), { width: 180, height: 270, format: 'jpeg' });
  });

  test('every key kind, ISBN-10/13 and hyphens, prefixes in any case; entries keyed exactly as sent', async () => {
    const bibkeys = ['ISBN:0-8044-2957-X', 'isbn:978-0-8044-2957-3', 'OCLC:12345', 'LCCN:85-2', 'OLID:OL123M', 'olid:ol123m', 'OL123M', '080442957X'];
    const response = await jacket.get(`/api/books?format=json&jscmd=data&bibkeys=${encodeURIComponent(bibkeys.join(','))}`);
    const books = await response.json();
    assert.deepEqual(Object.keys(books).sort(), [...bibkeys].sort());
    for (const bibkey of bibkeys) assert.equal(books[bibkey].cover.small, `${jacket.url}/b/id/${edition}-S.jpg`, bibkey);
  });

  test('format=json is JSON whatever the callback; unknown, malformed and foreign keys are left out', async () => {
    const response = await jacket.get(`/api/books?format=json&callback=${KOHA}&bibkeys=ISBN:123,OCLC:abc,LCCN:x,OLID:OL1A,ASIN:B000,ISBN:9780140328721`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^application\/json/);
    const books = await response.json();
    assert.deepEqual(Object.keys(books), ['ISBN:9780140328721']);
    assert.equal(books['ISBN:9780140328721'].thumbnail_url, `${jacket.url}/b/id/${bare}-S.jpg`);
  });

  test('nothing found: an empty object, still a script', async () => {
    const response = await jacket.get('/api/books?bibkeys=ISBN:9780000000002&callback=found');
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'found({});');
  });

  test('bad input: 400 with a machine code and a sentence', async () => {
    const cases: Array<[string, string]> = [
      ['/api/books?bibkeys=ISBN:0804429573&callback=alert(1)', 'invalid_callback'],
      ['/api/books?bibkeys=ISBN:0804429573&callback=a;b', 'invalid_callback'],
      ['/api/books?bibkeys=ISBN:0804429573&format=xml', 'invalid_format'],
      ['/api/books?bibkeys=ISBN:0804429573&jscmd=details', 'invalid_jscmd'],
      ['/api/books', 'missing_bibkeys'],
      ['/api/books?bibkeys=,,', 'missing_bibkeys'],
      [`/api/books?bibkeys=${Array.from({ length: 201 }, (_, n) => `OCLC:${n + 1}`).join(',')}`, 'too_many_bibkeys'],
    ];
    for (const [path, code] of cases) {
      const response = await jacket.get(path);
      assert.equal(response.status, 400, path);
      const body = await response.json();
      assert.equal(body.error, code, path);
      assert.ok(body.message.length > 10);
    }
  });

  test('a deleted cover leaves the answer at once (the shared resolution cache is dropped); the book stays, coverless', async () => {
    const extra = await uploadBookCover(jacket, { olid: 'OL77M', isbn: '9780261102217' }, '#00aa00');
    const before = await (await jacket.get('/api/books?format=json&bibkeys=ISBN:9780261102217')).json();
    assert.equal(before['ISBN:9780261102217'].thumbnail_url, `${jacket.url}/b/id/${extra}-S.jpg`);
    // The image route caches the same resolution.
    assert.equal((await jacket.get('/b/isbn/9780261102217-S.jpg?default=false')).status, 200);
    const deleted = await jacket.get('/b/delete', { method: 'POST', headers: { ...jacket.admin, 'content-type': 'application/x-www-form-urlencoded' }, body: `id=${extra}` });
    assert.equal(deleted.status, 200);
    // Still a known book, now without a cover: an entry with no cover in it, which catalogues show as "no image".
    assert.deepEqual(await (await jacket.get('/api/books?format=json&bibkeys=ISBN:9780261102217')).json(), {
      'ISBN:9780261102217': { bib_key: 'ISBN:9780261102217', preview: 'noview' },
    });
    assert.deepEqual(await (await jacket.get('/api/books?format=json&jscmd=data&bibkeys=ISBN:9780261102217,OLID:OL77M,ISBN:9780000000002')).json(), {
      'ISBN:9780261102217': { key: '/books/OL77M' },
      'OLID:OL77M': { key: '/books/OL77M' },
    });
    assert.equal((await jacket.get('/b/isbn/9780261102217-S.jpg?default=false')).status, 404);
  });

  test("absolute URLs use the request's Host; forwarded headers only from a trusted proxy", async () => {
    const path = '/api/books?format=json&bibkeys=OLID:OL123M';
    const plain = await rawGet(jacket, path, { host: 'opac.example:8080', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' });
    assert.equal(JSON.parse(plain.body)['OLID:OL123M'].thumbnail_url, `http://opac.example:8080/b/id/${edition}-S.jpg`);

    const trusting = await startJacket({ JACKET_TRUST_PROXY: 'true' });
    try {
      const id = await uploadBookCover(trusting, { olid: 'OL123M' });
      const proxied = await rawGet(trusting, path, { host: '127.0.0.1', 'x-forwarded-host': 'covers.library.example', 'x-forwarded-proto': 'https' });
      assert.equal(JSON.parse(proxied.body)['OLID:OL123M'].thumbnail_url, `https://covers.library.example/b/id/${id}-S.jpg`);
    } finally {
      await trusting.close();
    }
  });

  test('JACKET_PUBLIC_URL wins over the Host and proxy headers', async () => {
    const configured = await startJacket({ JACKET_PUBLIC_URL: 'https://covers.example.org', JACKET_TRUST_PROXY: 'true' });
    try {
      const id = await uploadBookCover(configured, { isbn: '9780140328721' });
      const response = await rawGet(configured, '/api/books?jscmd=data&bibkeys=ISBN:9780140328721', { host: 'other.example', 'x-forwarded-host': 'proxy.example' });
      assert.equal(unwrap(response.body)['ISBN:9780140328721'].cover.large, `https://covers.example.org/b/id/${id}-L.jpg`);
    } finally {
      await configured.close();
    }
  });
});
