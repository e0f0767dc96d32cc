import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dimensionsOf } from './helpers/images.ts';
import { rawGet, uploadBookCover } from './helpers/library-apis.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

describe('Read API: /api/volumes/brief/…', () => {
  let jacket: RunningJacket;
  let edition: number;
  let other: number;
  let bare: number;

  const coversOf = (id: number, base = jacket.url) => ({ small: `${base}/b/id/${id}-S.jpg`, medium: `${base}/b/id/${id}-M.jpg`, large: `${base}/b/id/${id}-L.jpg` });

  before(async () => {
    jacket = await startJacket();
    edition = await uploadBookCover(jacket, { olid: 'OL123M', isbn: '0-8044-2957-X', oclc: 'ocm00012345', lccn: '85-2' });
    other = await uploadBookCover(jacket, { olid: 'OL456M', isbn: '9780261102217' }, '#00aa00');
    bare = await uploadBookCover(jacket, { isbn: '9780140328721' }, '#aa3300');
  });
  after(() => jacket.close());

  test('single form, every kind: the edition record keyed by its key, with its cover and identifiers', async () => {
    for (const path of ['isbn/080442957X', 'isbn/978-0-8044-2957-3', 'oclc/12345', 'lccn/85-2', 'olid/OL123M', 'ISBN/9780804429573']) {
      const response = await jacket.get(`/api/volumes/brief/${path}.json`);
      assert.equal(response.status, 200, path);
      assert.match(response.headers.get('content-type')!, /^application\/json/);
      assert.deepEqual(
        await response.json(),
        {
          records: {
            '/books/OL123M': {
              recordURL: `${jacket.url}/ui/cover/${edition}`,
              data: { url: `${jacket.url}/ui/cover/${edition}`, key: '/books/OL123M', cover: coversOf(edition) },
              isbns: ['9780804429573'],
              oclcs: ['12345'],
              lccns: ['85000002'],
              olids: ['OL123M'],
              issns: [],
              publishDates: [],
            },
          },
          items: [],
        },
        path,
      );
    }
  });

  test("Evergreen's request: the multi form with one ISBN; the cover it reads is 180×270 at medium", async () => {
    const response = await jacket.get('/api/volumes/brief/json/isbn:9780804429573');
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.deepEqual(Object.keys(body), ['isbn:9780804429573']);
    const records = Object.values(body['isbn:9780804429573'].records) as Array<{ data: { cover: { medium: string } } }>;
    assert.equal(records.length, 1);
    const image = await fetch(records[0]!.data.cover.medium);
    assert.deepEqual(await dimensionsOf(await image.arrayBuffer()), { width: 180, height: 270, format: 'jpeg' });
  });

  test('multi form: | separates requests, ; identifiers of one book; each request answered under its own text', async () => {
    const requests = ['isbn:080442957X;lccn:85-2', 'olid:OL456M', 'isbn:9780140328721', 'isbn:9780000000002', 'isbn:080442957X;isbn:9780261102217'];
    const response = await jacket.get(`/api/volumes/brief/json/${requests.join('|')}`);
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.deepEqual(Object.keys(body), requests);
    assert.deepEqual(Object.keys(body['isbn:080442957X;lccn:85-2'].records), ['/books/OL123M']);
    assert.deepEqual(body['olid:OL456M'].records['/books/OL456M'].data.cover, coversOf(other));
    // A cover with identifiers but no edition is keyed by its own address.
    assert.deepEqual(body['isbn:9780140328721'].records[`/b/id/${bare}`].data.cover, coversOf(bare));
    assert.deepEqual(body['isbn:9780140328721'].records[`/b/id/${bare}`].olids, []);
    assert.deepEqual(body['isbn:9780000000002'], { records: {}, items: [] });
    // Two identifiers naming two editions: both records.
    assert.deepEqual(Object.keys(body['isbn:080442957X;isbn:9780261102217'].records).sort(), ['/books/OL123M', '/books/OL456M']);
    for (const answer of Object.values(body) as Array<{ items: unknown[] }>) assert.deepEqual(answer.items, []);
  });

  test('unknown or malformed identifiers answer 200 with no records, never 404', async () => {
    for (const path of ['/api/volumes/brief/isbn/9780000000002.json', '/api/volumes/brief/isbn/abc.json', '/api/volumes/brief/olid/OL1A.json', '/api/volumes/brief/oclc/x.json']) {
      const response = await jacket.get(path);
      assert.equal(response.status, 200, path);
      assert.deepEqual(await response.json(), { records: {}, items: [] }, path);
    }
    const multi = await jacket.get('/api/volumes/brief/json/lccn:nope');
    assert.deepEqual(await multi.json(), { 'lccn:nope': { records: {}, items: [] } });
  });

  test('kinds Jacket does not look up name nothing (200, no records); a part that is not kind:value is a 400', async () => {
    const single = await jacket.get('/api/volumes/brief/iaid/foo00bar.json');
    assert.equal(single.status, 200);
    assert.deepEqual(await single.json(), { records: {}, items: [] });
    const multi = await jacket.get('/api/volumes/brief/json/iaid:foo00bar|asin:B000;isbn:9780261102217');
    const body = await multi.json();
    assert.deepEqual(body['iaid:foo00bar'], { records: {}, items: [] });
    assert.deepEqual(Object.keys(body['asin:B000;isbn:9780261102217'].records), ['/books/OL456M']);
    const cases: Array<[string, string]> = [
      ['/api/volumes/brief/isbn/080442957X', 'invalid_path'],
      ['/api/volumes/brief/json/080442957X', 'invalid_identifier'],
      ['/api/volumes/brief/json/isbn:1|:2', 'invalid_identifier'],
      [`/api/volumes/brief/json/${Array.from({ length: 51 }, () => 'isbn:1').join('|')}`, 'too_many_requests_in_url'],
      ['/api/volumes/brief/json/isbn:1?callback=x(1)', 'invalid_callback'],
    ];
    for (const [path, code] of cases) {
      const response = await jacket.get(path);
      assert.equal(response.status, 400, path);
      const error = await response.json();
      assert.equal(error.error, code, path);
      assert.ok(error.message.length > 10);
    }
  });

  test("the read-API script's JSONP call: id: labels key the answers, callback wraps them", async () => {
    const response = await jacket.get('/api/volumes/brief/json/id:0;isbn:080442957X|id:1;isbn:9780000000002?show_all_items=true&callback=jQuery3610_17&_=17');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^application\/javascript/);
    const text = await response.text();
    assert.ok(text.startsWith('jQuery3610_17(') && text.endsWith(');'), text.slice(0, 40));
    const body = JSON.parse(text.slice('jQuery3610_17('.length, -2));
    assert.deepEqual(Object.keys(body), ['0', '1']);
    assert.deepEqual(Object.keys(body['0'].records), ['/books/OL123M']);
    assert.deepEqual(body['1'], { records: {}, items: [] });
  });

  test("absolute URLs follow the request's Host (no public URL, no trusted proxy)", async () => {
    const response = await rawGet(jacket, '/api/volumes/brief/olid/OL456M.json', { host: 'evergreen.example', 'x-forwarded-host': 'evil.example' });
    assert.deepEqual(JSON.parse(response.body).records['/books/OL456M'].data.cover, coversOf(other, 'http://evergreen.example'));
  });
});
