// Open Library's coverstore tests its web application over HTTP (upload2, .json details, the image and its sizes,
// touch, delete, author photos served like book covers). Those cases are restated here as facts about Jacket's
// answers, together with what coverstore's request code does that its tests do not pin: unquoted If-None-Match, the
// scheme test of `?default=`, the columns and date format of `.json`, the lenient `/query` parameters and an upload
// whose image is a urlencoded `data=` field. Jacket's writes need the administrator's token (coverstore trusts its
// network): that difference is documented in the README and is the only one taken here.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

/** Every byte as a percent-escape: the most a form encoder can do to an image. */
function percentEncoded(bytes: Buffer): string {
  return [...bytes].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
}

describe('coverstore web application tests, against Jacket', () => {
  let jacket: RunningJacket;
  let origin: http.Server;
  let originUrl: string;
  let logoEn: Buffer;
  let logoIt: Buffer;

  async function upload(olid: string, bytes: Buffer, category = 'b'): Promise<number> {
    const response = await jacket.get(`/${category}/upload2`, { method: 'POST', headers: jacket.admin, body: form({ olid, data: { bytes } }) });
    assert.equal(response.status, 200, await response.clone().text());
    const body = await response.json();
    assert.equal(body.ok, 'true');
    return body.id;
  }

  async function post(path: string, fields: Record<string, string>): Promise<Response> {
    return jacket.get(path, { method: 'POST', headers: { ...jacket.admin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  }

  async function verifyUpload(id: number, bytes: Buffer, expected: Record<string, unknown>): Promise<void> {
    const info = await (await jacket.get(`/b/id/${id}.json`)).json();
    for (const [key, value] of Object.entries(expected)) assert.equal(info[key], value, key);
    const original = await jacket.get(`/b/id/${id}.jpg`);
    assert.equal(original.status, 200);
    assert.equal(original.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(Buffer.from(await original.arrayBuffer()), bytes);
    for (const size of ['S', 'M', 'L']) assert.equal((await jacket.get(`/b/id/${id}-${size}.jpg`)).status, 200, size);
  }

  before(async () => {
    logoEn = await makeImage(400, 600, { color: '#336699' });
    logoIt = await makeImage(400, 600, { color: '#993366' });
    origin = http.createServer((request, response) => {
      if (request.url !== '/bookcovers/1.jpg') return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': logoEn.length }).end(logoEn);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    jacket = await startJacket({ JACKET_SOURCE_URL_HOSTS: '127.0.0.1', JACKET_SOURCE_URL_ALLOW_PRIVATE: 'true' });
  });
  after(async () => {
    await jacket.close();
    origin.close();
  });

  test('the root answers 200', async () => {
    assert.equal((await jacket.get('/')).status, 200);
  });

  test('upload2 with olid and data: the .json names the olid, the original comes back byte for byte, S, M and L are served', async () => {
    const id = await upload('OL1234M', logoEn);
    await verifyUpload(id, logoEn, { olid: 'OL1234M' });
  });

  test('upload2 with a source_url: the image is fetched from it and the .json keeps the URL', async () => {
    const sourceUrl = `${originUrl}/bookcovers/1.jpg`;
    const response = await post('/b/upload2', { olid: 'OL1235M', source_url: sourceUrl });
    assert.equal(response.status, 200, await response.clone().text());
    await verifyUpload((await response.json()).id, logoEn, { source_url: sourceUrl, olid: 'OL1235M' });
  });

  test('a new cover is neither archived nor deleted', async () => {
    const info = await (await jacket.get(`/b/id/${await upload('OL1M', logoEn)}.json`)).json();
    assert.equal(info.archived, false);
    assert.equal(info.deleted, false);
  });

  test('touch: of two covers of one edition the newer is served, until the older is touched', async () => {
    const first = await upload('OL2M', logoEn);
    const second = await upload('OL2M', logoIt);
    assert.ok(first < second);
    assert.deepEqual(Buffer.from(await (await jacket.get('/b/olid/OL2M.jpg')).arrayBuffer()), logoIt);
    const touched = await post('/b/touch', { id: String(first) });
    assert.equal(touched.status, 200);
    assert.equal(await touched.text(), 'cover has been touched successfully.');
    assert.deepEqual(Buffer.from(await (await jacket.get('/b/olid/OL2M.jpg')).arrayBuffer()), logoEn);
  });

  test('delete answers its sentence', async () => {
    const id = await upload('OL3M', logoEn);
    const deleted = await post('/b/delete', { id: String(id) });
    assert.equal(deleted.status, 200);
    assert.match(deleted.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await deleted.text(), 'cover has been deleted successfully.');
  });

  test('author photos are served like book covers, at every size, under /a and by id under /b', async () => {
    const id = await upload('OL1A', logoEn, 'a');
    for (const category of ['a', 'b']) {
      for (const suffix of ['', '-S', '-M', '-L']) assert.equal((await jacket.get(`/${category}/id/${id}${suffix}.jpg?default=false`)).status, 200, `${category} ${suffix}`);
    }
    assert.equal((await jacket.get('/a/olid/OL1A-M.jpg?default=false')).status, 200);
  });
});

describe("coverstore's request code, where its tests are silent", () => {
  let jacket: RunningJacket;
  let image: Buffer;
  let id: number;

  before(async () => {
    jacket = await startJacket();
    image = await makeImage(500, 750);
    const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL10M', data: { bytes: image } }) });
    id = (await response.json()).id;
  });
  after(() => jacket.close());

  test('If-None-Match is compared with its quotes stripped', async () => {
    for (const tag of [`${id}-m`, `"${id}-m"`, ` ${id}-m , other`]) {
      assert.equal((await jacket.get(`/b/id/${id}-M.jpg`, { headers: { 'if-none-match': tag } })).status, 304, tag);
    }
    assert.equal((await jacket.get(`/b/id/${id}-M.jpg`, { headers: { 'if-none-match': `${id}-s` } })).status, 200);
  });

  test('?default= is a URL only when it starts with http:// or https:// in lower case; false in any case is a 404', async () => {
    const missing = '/b/id/99999999-M.jpg';
    const redirected = await jacket.get(`${missing}?default=https://example.org/blank.png`);
    assert.equal(redirected.status, 303);
    assert.equal(redirected.headers.get('location'), 'https://example.org/blank.png');
    for (const fallback of ['HTTP://example.org/blank.png', 'ftp://example.org/blank.png', 'true', '']) {
      const blank = await jacket.get(`${missing}?default=${encodeURIComponent(fallback)}`);
      assert.equal(blank.status, 200, fallback);
      assert.equal(blank.headers.get('content-type'), 'image/gif', fallback);
    }
    for (const fallback of ['false', 'FALSE', 'False']) assert.equal((await jacket.get(`${missing}?default=${fallback}`)).status, 404, fallback);
  });

  test('.json carries the columns of coverstore’s table, dates as Python writes them, and no IP address', async () => {
    const info = await (await jacket.get(`/b/id/${id}.json`)).json();
    for (const column of ['id', 'category_id', 'olid', 'filename', 'filename_s', 'filename_m', 'filename_l', 'author', 'source_url', 'source', 'isbn', 'width', 'height', 'archived', 'deleted', 'created', 'last_modified']) {
      assert.ok(column in info, column);
    }
    assert.equal(info.category_id, 1);
    assert.equal('ip' in info, false);
    for (const time of [info.created, info.last_modified]) assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/);
    assert.ok(Math.abs(Date.parse(`${info.created}Z`) - Date.now()) < 60_000, info.created);
    const details = await (await jacket.get('/b/query?olid=OL10M&details=true')).json();
    assert.equal(details[0].created, info.created);
  });

  test('/query reads its numbers leniently: not a number is the default, a limit over 100 is 100, details in any case', async () => {
    for (let n = 0; n < 11; n++) {
      await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: `OL2${n}M`, data: { bytes: await makeImage(50 + n, 50) } }) });
    }
    assert.equal((await (await jacket.get('/b/query?limit=abc&offset=xyz')).json()).length, 10);
    assert.equal((await (await jacket.get('/b/query?limit=1000')).json()).length, 12);
    assert.equal((await (await jacket.get('/b/query?limit=%2B3')).json()).length, 3);
    assert.deepEqual(await (await jacket.get('/b/query?limit=0')).json(), []);
    const [first] = await (await jacket.get('/b/query?limit=1&details=TRUE')).json();
    assert.equal(typeof first.width, 'number');
  });

  test('upload2 with the image in a urlencoded data= field stores its exact bytes', async () => {
    const response = await jacket.get('/b/upload2', {
      method: 'POST',
      headers: { ...jacket.admin, 'content-type': 'application/x-www-form-urlencoded' },
      body: `olid=OL11M&author=${encodeURIComponent('Łukasz')}&data=${percentEncoded(image)}`,
    });
    assert.equal(response.status, 200, await response.clone().text());
    const { id: uploaded } = await response.json();
    assert.deepEqual(Buffer.from(await (await jacket.get(`/b/id/${uploaded}.jpg`)).arrayBuffer()), image);
    const info = await (await jacket.get(`/b/id/${uploaded}.json`)).json();
    assert.equal(info.olid, 'OL11M');
    assert.equal(info.author, 'Łukasz');
    const empty = await jacket.get('/b/upload2', { method: 'POST', headers: { ...jacket.admin, 'content-type': 'application/x-www-form-urlencoded' }, body: 'olid=OL12M&data=' });
    assert.equal(empty.status, 400);
    assert.equal((await empty.json()).code, 1);
  });
});
