import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, explainMissing, TEST_DATABASE_URL, type TestDatabase } from './helpers/backends.ts';
import { form, makeImage } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

async function upload(jacket: RunningJacket, fields: Record<string, string>, width = 200): Promise<number> {
  const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ ...fields, data: { bytes: await makeImage(width, 300), type: 'image/jpeg' } }) });
  assert.equal(response.status, 200);
  return (await response.json()).id;
}

// The search and counts are SQL of their own: run them on PostgreSQL too when it is there.
const BACKENDS: Array<'SQLite' | 'PostgreSQL'> = TEST_DATABASE_URL ? ['SQLite', 'PostgreSQL'] : ['SQLite'];
if (!TEST_DATABASE_URL) explainMissing('PostgreSQL', 'TEST_DATABASE_URL');

for (const backend of BACKENDS) describe(`collection API, ${backend}`, () => {
  let jacket: RunningJacket;
  let database: TestDatabase | undefined;
  before(async () => {
    if (backend === 'PostgreSQL') database = await createTestDatabase();
    jacket = await startJacket({ JACKET_MODERATION: 'true', ...(database ? { DATABASE_URL: database.url } : {}) });
  });
  after(async () => {
    await jacket?.close();
    await database?.drop();
  });

  test('lists every cover newest first with a total, filters by status and category, searches by normalised identifier', async () => {
    const first = await upload(jacket, { isbn: '9780306406157' }, 201);
    const second = await upload(jacket, { isbn: '0-8044-2957-X' }, 202);
    await jacket.get(`/api/v1/covers/${first}/approve`, { method: 'POST', headers: jacket.admin });

    assert.equal((await jacket.get('/api/v1/covers')).status, 401);
    const all = await (await jacket.get('/api/v1/covers?limit=1', { headers: jacket.admin })).json();
    assert.equal(all.total, 2);
    assert.deepEqual(all.covers.map((c: { id: number }) => c.id), [second]);

    const pending = await (await jacket.get('/api/v1/covers?status=pending', { headers: jacket.admin })).json();
    assert.deepEqual(pending.covers.map((c: { id: number }) => c.id), [second]);
    assert.equal((await (await jacket.get('/api/v1/covers?category=a', { headers: jacket.admin })).json()).total, 0);

    // An ISBN-10 finds the cover stored under its ISBN-13, as /b/isbn/ does.
    const found = await (await jacket.get('/api/v1/covers?q=0-306-40615-2', { headers: jacket.admin })).json();
    assert.deepEqual(found.covers.map((c: { id: number }) => c.id), [first]);
    const byKind = await (await jacket.get('/api/v1/covers?q=isbn:9780804429573', { headers: jacket.admin })).json();
    assert.deepEqual(byKind.covers.map((c: { id: number }) => c.id), [second]);

    // A wrong check digit is still a string lookups keep as it is: it finds nothing here, not the neighbour.
    assert.equal((await (await jacket.get('/api/v1/covers?q=9780306406158', { headers: jacket.admin })).json()).total, 0);
    // Text that is no identifier is words of a title or an author: nothing has these.
    assert.equal((await (await jacket.get('/api/v1/covers?q=shelf:12', { headers: jacket.admin })).json()).total, 0);
    for (const q of ['isbn:12345', '%20!!%20', 'one two three four five six seven eight nine']) {
      const bad = await jacket.get(`/api/v1/covers?q=${q}`, { headers: jacket.admin });
      assert.equal(bad.status, 400, q);
      const body = await bad.json();
      assert.equal(body.error, 'invalid_query', q);
      assert.equal(typeof body.message, 'string');
    }
    for (const query of ['sort=title', 'limit=1000', 'offset=-1', 'identifiers=some', 'status=lost']) {
      const bad = await jacket.get(`/api/v1/covers?${query}`, { headers: jacket.admin });
      assert.equal(bad.status, 400, query);
      assert.equal(typeof (await bad.json()).message, 'string', query);
    }
  });

  test('titles and authors: given at upload, corrected by PATCH, found by their words at once', async () => {
    const id = await upload(jacket, { isbn: '9780385474542', title: 'Things Fall Apart', author: 'Chinua Achebe' }, 211);
    // Open Library's site sends the uploader's account as `author`: that is no author of the book.
    const bySite = await upload(jacket, { title: 'Arrow of God', author: '/people/librarian' }, 212);
    const search = async (q: string) => (await (await jacket.get(`/api/v1/covers?q=${encodeURIComponent(q)}`, { headers: jacket.admin })).json()).covers;
    const [found] = await search('achebe thin');
    assert.deepEqual([found.id, found.title, found.authors], [id, 'Things Fall Apart', ['Chinua Achebe']]);
    const [site] = await search('arrow');
    assert.deepEqual([site.id, site.author, site.authors], [bySite, '/people/librarian', []]);

    const patched = await jacket.get(`/api/v1/covers/${id}`, {
      method: 'PATCH',
      headers: { ...jacket.admin, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Le monde s’effondre', authors: ['Chinua Achebe', 'Michel Ligny'] }),
    });
    assert.equal(patched.status, 200, await patched.clone().text());
    assert.deepEqual((await patched.json()).authors, ['Chinua Achebe', 'Michel Ligny']);
    assert.deepEqual(await search('things fall'), []);
    assert.deepEqual((await search('MONDE effondre ligny')).map((cover: { id: number }) => cover.id), [id]);

    for (const [body, code] of [
      [{ title: 'x'.repeat(501) }, 'invalid_title'],
      [{ title: 'a\u0007b' }, 'invalid_title'],
      [{ authors: Array.from({ length: 21 }, (_, i) => `Author ${i}`) }, 'invalid_authors'],
    ] as const) {
      const refused = await jacket.get(`/api/v1/covers/${id}`, { method: 'PATCH', headers: { ...jacket.admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(refused.status, 400);
      assert.equal((await refused.json()).error, code);
    }
    const badUpload = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ title: 'y'.repeat(600), data: { bytes: await makeImage(213, 300), type: 'image/jpeg' } }) });
    assert.equal(badUpload.status, 400);
    assert.deepEqual(await badUpload.json().then((body) => [body.code, body.error]), [5, 'invalid_title']);
  });

  test('filters: covers without identifiers, oldest first, a bare OLID', async () => {
    const bare = await upload(jacket, {}, 221);
    const edition = await upload(jacket, { olid: 'OL4242M' }, 222);
    const without = await (await jacket.get('/api/v1/covers?identifiers=none&limit=200', { headers: jacket.admin })).json();
    const ids = without.covers.map((cover: { id: number }) => cover.id);
    assert.ok(ids.includes(bare) && ids.includes(edition), 'covers no identifier leads to');
    assert.ok(without.covers.every((cover: { identifiers: unknown[] }) => cover.identifiers.length === 0));
    const oldest = await (await jacket.get('/api/v1/covers?sort=oldest&limit=200', { headers: jacket.admin })).json();
    const newest = await (await jacket.get('/api/v1/covers?sort=recent&limit=200', { headers: jacket.admin })).json();
    assert.deepEqual(oldest.covers.map((cover: { id: number }) => cover.id), newest.covers.map((cover: { id: number }) => cover.id).reverse());
    const byOlid = await (await jacket.get('/api/v1/covers?q=ol4242m', { headers: jacket.admin })).json();
    assert.deepEqual(byOlid.covers.map((cover: { id: number }) => cover.id), [edition]);
  });

  test('the OpenAPI description documents the collection API: parameters, bodies, answers', async () => {
    const description = await (await jacket.get('/docs/json')).json();
    const listing = description.paths['/api/v1/covers'].get;
    assert.deepEqual(listing.parameters.map((parameter: { name: string }) => parameter.name).sort(), ['category', 'identifiers', 'limit', 'offset', 'q', 'sort', 'status']);
    assert.ok(listing.responses['200'].content['application/json'].schema.properties.covers.items.properties.title);
    const one = description.paths['/api/v1/covers/{id}'];
    assert.deepEqual(Object.keys(one.patch.requestBody.content['application/json'].schema.properties).sort(), ['authors', 'identifiers', 'olid', 'title']);
    assert.ok(one.delete.responses['200'] && one.delete.responses['404']);
    assert.ok(description.paths['/api/v1/covers/{id}/replace'].post.responses['201']);
    assert.ok(description.paths['/api/v1/covers/{id}/history'].get.responses['200']);
  });

  test('DELETE removes a cover from every route and from the collection', async () => {
    const id = await upload(jacket, { isbn: '9781861972712' }, 203);
    await jacket.get(`/api/v1/covers/${id}/approve`, { method: 'POST', headers: jacket.admin });
    assert.equal((await jacket.get('/b/isbn/9781861972712-S.jpg?default=false')).status, 200);
    assert.equal((await jacket.get(`/api/v1/covers/${id}`, { method: 'DELETE' })).status, 401);
    const response = await jacket.get(`/api/v1/covers/${id}`, { method: 'DELETE', headers: jacket.admin });
    assert.deepEqual(await response.json(), { id, status: 'deleted' });
    assert.equal((await jacket.get('/b/isbn/9781861972712-S.jpg?default=false')).status, 404);
    assert.equal((await jacket.get(`/api/v1/covers/${id}`, { method: 'DELETE', headers: jacket.admin })).status, 404);
    const listed = await (await jacket.get('/api/v1/covers?q=9781861972712', { headers: jacket.admin })).json();
    assert.equal(listed.total, 0);
  });
});
