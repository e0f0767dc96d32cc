import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

async function upload(jacket: RunningJacket, fields: Record<string, string>): Promise<{ id: number; status: string }> {
  const response = await jacket.get('/b/upload2', {
    method: 'POST',
    headers: jacket.admin,
    body: form({ ...fields, data: { bytes: await makeImage(200, 300), type: 'image/jpeg' } }),
  });
  assert.equal(response.status, 200);
  return response.json();
}

const post = (jacket: RunningJacket, path: string, headers: Record<string, string> = jacket.admin) => jacket.get(path, { method: 'POST', headers });

describe('moderation API (JACKET_MODERATION=true)', () => {
  let jacket: RunningJacket;
  before(async () => {
    jacket = await startJacket({ JACKET_MODERATION: 'true' });
  });
  after(() => jacket.close());

  test('an upload waits as pending, is served to nobody, and is listed for the administrator', async () => {
    const { id, status } = await upload(jacket, { olid: 'OL5M', isbn: '9780306406157' });
    assert.equal(status, 'pending');
    for (const path of [`/b/id/${id}-M.jpg?default=false`, '/b/isbn/9780306406157-M.jpg?default=false', '/b/olid/OL5M-S.jpg?default=false', `/b/id/${id}.json`]) {
      assert.equal((await jacket.get(path)).status, 404, path);
    }
    assert.deepEqual(await (await jacket.get('/b/query?olid=OL5M')).json(), []);
    assert.equal((await jacket.get(`/api/v1/covers/${id}`)).status, 404, 'the public cover record hides pending covers');
    assert.deepEqual(await (await jacket.get(`/api/v1/covers/${id}/status`)).json(), { id, status: 'pending' });

    const queue = await jacket.get('/api/v1/moderation', { headers: jacket.admin });
    assert.equal(queue.status, 200);
    const body = await queue.json();
    assert.equal(body.enabled, true);
    const listed = body.pending.find((cover: { id: number }) => cover.id === id);
    assert.equal(listed.status, 'pending');
    assert.equal(listed.olid, 'OL5M');
    assert.deepEqual(listed.identifiers, [{ scheme: 'isbn', value: '9780306406157' }]);

    const image = await jacket.get(`/api/v1/moderation/${id}/image`, { headers: jacket.admin });
    assert.equal(image.status, 200);
    assert.equal(image.headers.get('content-type'), 'image/jpeg');
    assert.equal(image.headers.get('cache-control'), 'private, no-store');
    const record = await jacket.get(`/api/v1/covers/${id}`, { headers: jacket.admin });
    assert.equal((await record.json()).status, 'pending', 'the administrator sees the record');
  });

  test('approve makes the cover served; reject keeps it hidden; both are administrator-only', async () => {
    const first = await upload(jacket, { isbn: '9781861972712' });
    const second = await upload(jacket, { isbn: '9780140449136' });
    for (const [path, headers, expected] of [
      [`/api/v1/covers/${first.id}/approve`, {}, 401],
      [`/api/v1/covers/${first.id}/approve`, { authorization: 'Bearer wrong' }, 401],
      [`/api/v1/moderation`, {}, 401],
      [`/api/v1/moderation/${first.id}/image`, {}, 401],
    ] as const) {
      const response = path === '/api/v1/moderation' || path.endsWith('/image') ? await jacket.get(path, { headers }) : await post(jacket, path, headers);
      assert.equal(response.status, expected, path);
    }
    assert.equal((await jacket.get('/b/isbn/9781861972712-S.jpg?default=false')).status, 404);

    const approved = await post(jacket, `/api/v1/covers/${first.id}/approve`);
    assert.equal(approved.status, 200);
    assert.deepEqual(await approved.json(), { id: first.id, status: 'approved' });
    const served = await jacket.get('/b/isbn/9781861972712-S.jpg?default=false');
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('etag'), `"${first.id}-s"`);
    assert.deepEqual(await (await jacket.get(`/api/v1/covers/${first.id}/status`)).json(), { id: first.id, status: 'approved' });

    const rejected = await post(jacket, `/api/v1/covers/${second.id}/reject`);
    assert.deepEqual(await rejected.json(), { id: second.id, status: 'rejected' });
    assert.equal((await jacket.get('/b/isbn/9780140449136-S.jpg?default=false')).status, 404);
    assert.deepEqual(await (await jacket.get(`/api/v1/covers/${second.id}/status`)).json(), { id: second.id, status: 'rejected' });

    const queue = await (await jacket.get('/api/v1/moderation', { headers: jacket.admin })).json();
    const ids = queue.pending.map((cover: { id: number }) => cover.id);
    assert.ok(!ids.includes(first.id) && !ids.includes(second.id));

    // A decision can be revised: the rejected cover approved later is served.
    await post(jacket, `/api/v1/covers/${second.id}/approve`);
    assert.equal((await jacket.get('/b/isbn/9780140449136-S.jpg?default=false')).status, 200);
  });

  test('unknown, malformed and deleted covers get clear errors', async () => {
    const missing = await post(jacket, '/api/v1/covers/999999/approve');
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error, 'not_found');
    const malformed = await post(jacket, '/api/v1/covers/abc/reject');
    assert.equal(malformed.status, 400);
    assert.equal((await malformed.json()).error, 'invalid_id');
    assert.equal((await jacket.get('/api/v1/covers/999999/status')).status, 404);
    assert.equal((await jacket.get('/api/v1/moderation?limit=0', { headers: jacket.admin })).status, 400);

    const { id } = await upload(jacket, { isbn: '0385472579' });
    await post(jacket, `/api/v1/covers/${id}/approve`);
    const deleted = await jacket.get('/b/delete', { method: 'POST', headers: { ...jacket.admin, 'content-type': 'application/x-www-form-urlencoded' }, body: `id=${id}` });
    assert.equal(deleted.status, 200);
    assert.deepEqual(await (await jacket.get(`/api/v1/covers/${id}/status`)).json(), { id, status: 'deleted' });
    const conflict = await post(jacket, `/api/v1/covers/${id}/approve`);
    assert.equal(conflict.status, 409);
    assert.equal((await conflict.json()).error, 'cover_deleted');
  });
});

describe('moderation off (the default)', () => {
  let jacket: RunningJacket;
  before(async () => {
    jacket = await startJacket();
  });
  after(() => jacket.close());

  test('uploads are served at once, the queue says moderation is off, and the cover record is public', async () => {
    const { id, status } = await upload(jacket, { olid: 'OL9M', isbn: '9780306406157', oclc: '424242' });
    assert.equal(status, 'approved');
    assert.equal((await jacket.get('/b/isbn/9780306406157-S.jpg?default=false')).status, 200);
    const queue = await (await jacket.get('/api/v1/moderation', { headers: jacket.admin })).json();
    assert.deepEqual(queue, { enabled: false, pending: [], pendingImages: [] });
    const record = await jacket.get(`/api/v1/covers/${id}`);
    assert.equal(record.status, 200);
    const body = await record.json();
    assert.equal(body.id, id);
    assert.equal(body.status, 'approved');
    assert.equal(body.olid, 'OL9M');
    assert.equal(body.width, 200);
    assert.deepEqual(body.identifiers, [
      { scheme: 'isbn', value: '9780306406157' },
      { scheme: 'oclc', value: '424242' },
    ]);
  });
});
