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
    for (const q of ['not-an-isbn', 'shelf:12']) {
      const bad = await jacket.get(`/api/v1/covers?q=${q}`, { headers: jacket.admin });
      assert.equal(bad.status, 400, q);
      const body = await bad.json();
      assert.equal(body.error, 'invalid_query', q);
    }
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
