import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ChangeMessage } from '../src/changes.ts';
import { createTestDatabase, explainMissing, TEST_DATABASE_URL, type TestDatabase } from './helpers/backends.ts';
import { form, makeImage } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

const GROUP = 'c31a5e2b-0bf8-32e0-8aeb-ef4ba9973932';
const LATER = '20000000-0000-4000-8000-000000000001';
const EARLIER = '20000000-0000-4000-8000-000000000002';
const OTHER = '20000000-0000-4000-8000-000000000003';

interface UploadedImage {
  id: number;
  approved: boolean;
  status: string;
  position: number;
}

interface ListedImage {
  id: string;
  approved: boolean;
  front: boolean;
  back: boolean;
  types: string[];
}

async function putRelease(jacket: RunningJacket, mbid: string, body: object): Promise<void> {
  const response = await jacket.get(`/api/v1/releases/${mbid}`, {
    method: 'PUT',
    headers: { ...jacket.admin, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.ok(response.status === 200 || response.status === 201, await response.text());
}

async function upload(jacket: RunningJacket, mbid: string, bytes: Buffer, types: string): Promise<UploadedImage> {
  const response = await jacket.get(`/api/v1/releases/${mbid}/images`, { method: 'POST', headers: jacket.admin, body: form({ types, file: { bytes, filename: 'art' } }) });
  assert.equal(response.status, 201, await response.clone().text());
  return response.json();
}

async function listing(jacket: RunningJacket, mbid: string): Promise<ListedImage[]> {
  const response = await jacket.get(`/download/mbid-${mbid}/index.json`);
  assert.equal(response.status, 200);
  return (await response.json()).images;
}

const post = (jacket: RunningJacket, path: string, headers: Record<string, string> = jacket.admin) => jacket.get(path, { method: 'POST', headers });
const status = async (jacket: RunningJacket, id: number) => (await jacket.get(`/api/v1/images/${id}/status`)).json();
const pathOf = (jacket: RunningJacket, response: Response) => {
  assert.equal(response.status, 307);
  return response.headers.get('location')!.slice(jacket.url.length);
};

// The moderation state is a catalogue column (migration 011): run the whole story on PostgreSQL too when it is there.
const BACKENDS: Array<'SQLite' | 'PostgreSQL'> = TEST_DATABASE_URL ? ['SQLite', 'PostgreSQL'] : ['SQLite'];
if (!TEST_DATABASE_URL) explainMissing('PostgreSQL', 'TEST_DATABASE_URL');

for (const backend of BACKENDS) describe(`release images under moderation (JACKET_MODERATION=true), ${backend}`, () => {
  let jacket: RunningJacket;
  let database: TestDatabase | undefined;
  const messages: ChangeMessage[] = [];
  before(async () => {
    if (backend === 'PostgreSQL') database = await createTestDatabase();
    jacket = await startJacket({ JACKET_MODERATION: 'true', ...(database ? { DATABASE_URL: database.url } : {}) });
    jacket.services.changes.subscribe((message) => messages.push(message));
    await putRelease(jacket, LATER, { releaseGroup: GROUP, date: '2005' });
    await putRelease(jacket, EARLIER, { releaseGroup: GROUP, date: '1999' });
  });
  after(async () => {
    await jacket?.close();
    await database?.drop();
  });

  test('a pending image is listed with approved:false, never chosen as front, its files 404 to the public; approving serves it', async () => {
    const bytes = await makeImage(300, 300, { color: '#aa3311' });
    const pending = await upload(jacket, LATER, bytes, 'Front');
    assert.equal(pending.approved, false);
    assert.equal(pending.status, 'pending');
    assert.deepEqual(await status(jacket, pending.id), { id: pending.id, status: 'pending' });

    const [listed] = await listing(jacket, LATER);
    assert.equal(listed!.id, String(pending.id));
    assert.equal(listed!.approved, false);
    assert.equal(listed!.front, false, 'a pending image is not the derived front');
    assert.deepEqual(listed!.types, ['Front']);
    assert.equal(pathOf(jacket, await jacket.get(`/release/${LATER}/`)), `/download/mbid-${LATER}/index.json`);

    for (const path of [
      `/release/${LATER}/front`,
      `/release/${LATER}/front-250`,
      `/release/${LATER}/${pending.id}`,
      `/release/${LATER}/${pending.id}-500.jpg`,
      `/release-group/${GROUP}`,
      `/release-group/${GROUP}/front`,
      `/download/mbid-${LATER}/mbid-${LATER}-${pending.id}.jpg`,
      `/download/mbid-${LATER}/mbid-${LATER}-${pending.id}_thumb250.jpg`,
    ]) {
      assert.equal((await jacket.get(path)).status, 404, path);
    }

    // The moderator sees it in the queue and fetches its bytes through the administrator route.
    const queue = await (await jacket.get('/api/v1/moderation', { headers: jacket.admin })).json();
    assert.equal(queue.enabled, true);
    assert.deepEqual(queue.pending, [], 'the cover list keeps its shape');
    const queued = queue.pendingImages.find((image: { id: number }) => image.id === pending.id);
    assert.equal(queued.release, LATER);
    assert.equal(queued.status, 'pending');
    assert.equal(queued.approved, false);
    assert.deepEqual(queued.types, ['Front']);
    assert.equal((await jacket.get(`/api/v1/moderation/images/${pending.id}/image`)).status, 401);
    const original = await jacket.get(`/api/v1/moderation/images/${pending.id}/image`, { headers: jacket.admin });
    assert.equal(original.status, 200);
    assert.equal(original.headers.get('cache-control'), 'private, no-store');
    assert.deepEqual(Buffer.from(await original.arrayBuffer()), bytes);

    assert.equal((await post(jacket, `/api/v1/images/${pending.id}/approve`, {})).status, 401);
    assert.equal((await post(jacket, `/api/v1/images/${pending.id}/approve`, { authorization: 'Bearer wrong' })).status, 401);
    messages.length = 0;
    const approved = await post(jacket, `/api/v1/images/${pending.id}/approve`);
    assert.equal(approved.status, 200);
    assert.deepEqual(await approved.json(), { id: pending.id, release: LATER, status: 'approved' });
    assert.ok(messages.some((message) => message.type === 'releases'), 'approving publishes the releases change message');

    assert.deepEqual(await status(jacket, pending.id), { id: pending.id, status: 'approved' });
    const [nowListed] = await listing(jacket, LATER);
    assert.equal(nowListed!.approved, true);
    assert.equal(nowListed!.front, true);
    const file = `/download/mbid-${LATER}/mbid-${LATER}-${pending.id}.jpg`;
    assert.equal(pathOf(jacket, await jacket.get(`/release/${LATER}/front`)), file);
    const served = await jacket.get(file);
    assert.equal(served.status, 200);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), bytes);
    assert.equal((await jacket.get(`/download/mbid-${LATER}/mbid-${LATER}-${pending.id}_thumb250.jpg`)).status, 200);
    assert.equal(pathOf(jacket, await jacket.get(`/release-group/${GROUP}/front`)), file);
    const after = await (await jacket.get('/api/v1/moderation', { headers: jacket.admin })).json();
    assert.ok(!after.pendingImages.some((image: { id: number }) => image.id === pending.id));
  });

  test('a pending front on an earlier release does not win the release group; rejecting removes it from every listing', async () => {
    const chosenFront = pathOf(jacket, await jacket.get(`/release-group/${GROUP}/front`));
    const earlier = await upload(jacket, EARLIER, await makeImage(200, 200, { color: '#112233' }), 'Front');
    assert.equal(earlier.status, 'pending');
    // By date the 1999 release would represent the group, but its only front waits for a decision.
    assert.equal(pathOf(jacket, await jacket.get(`/release-group/${GROUP}/front`)), chosenFront);
    assert.equal(pathOf(jacket, await jacket.get(`/release-group/${GROUP}`)), `/download/mbid-${LATER}/index.json`);

    // A pending Back after the approved front: listed in order, not the back, and not served.
    const back = await upload(jacket, LATER, await makeImage(200, 100), 'Back');
    assert.equal(back.position, 2);
    const listed = await listing(jacket, LATER);
    assert.deepEqual(
      listed.map((image) => [image.id, image.approved, image.back]),
      [
        [listed[0]!.id, true, false],
        [String(back.id), false, false],
      ],
    );
    assert.equal((await jacket.get(`/release/${LATER}/back`)).status, 404);

    messages.length = 0;
    const rejected = await post(jacket, `/api/v1/images/${earlier.id}/reject`);
    assert.equal(rejected.status, 200);
    assert.deepEqual(await rejected.json(), { id: earlier.id, release: EARLIER, status: 'rejected' });
    assert.ok(messages.some((message) => message.type === 'releases'));
    assert.deepEqual(await status(jacket, earlier.id), { id: earlier.id, status: 'rejected' });
    assert.deepEqual(await listing(jacket, EARLIER), [], 'gone from index.json');
    assert.equal((await jacket.get(`/release/${EARLIER}/`)).status, 404, 'the release has no listed art left');
    assert.equal((await jacket.get(`/release/${EARLIER}/${earlier.id}`)).status, 404);
    assert.equal((await jacket.get(`/download/mbid-${EARLIER}/mbid-${EARLIER}-${earlier.id}.jpg`)).status, 404);
    assert.equal(pathOf(jacket, await jacket.get(`/release-group/${GROUP}/front`)), chosenFront);
    const queue = await (await jacket.get('/api/v1/moderation', { headers: jacket.admin })).json();
    assert.ok(!queue.pendingImages.some((image: { id: number }) => image.id === earlier.id));
    assert.ok(queue.pendingImages.some((image: { id: number }) => image.id === back.id), 'the Back still waits');
    // Kept for audit: the administrator can still look at it, but nobody can edit it back into the listing.
    assert.equal((await jacket.get(`/api/v1/moderation/images/${earlier.id}/image`, { headers: jacket.admin })).status, 200);
    const patch = await jacket.get(`/api/v1/images/${earlier.id}`, {
      method: 'PATCH',
      headers: { ...jacket.admin, 'content-type': 'application/json' },
      body: JSON.stringify({ comment: 'sneak it back' }),
    });
    assert.equal(patch.status, 409);
    assert.equal((await patch.json()).error, 'image_rejected');
    // The rejected image takes no place in the order: the next upload is first.
    const next = await upload(jacket, EARLIER, await makeImage(120, 120), 'Front');
    assert.equal(next.position, 1);

    // A decision can be revised: approving the rejected image brings it back at the end of the order.
    assert.equal((await post(jacket, `/api/v1/images/${earlier.id}/approve`)).status, 200);
    assert.deepEqual(
      (await listing(jacket, EARLIER)).map((image) => [image.id, image.approved, image.front]),
      [
        [String(next.id), false, false],
        [String(earlier.id), true, true],
      ],
    );
    assert.equal(pathOf(jacket, await jacket.get(`/release-group/${GROUP}/front`)), `/download/mbid-${EARLIER}/mbid-${EARLIER}-${earlier.id}.jpg`);
  });

  test('unknown, malformed and deleted images get clear errors', async () => {
    const missing = await post(jacket, '/api/v1/images/999999/approve');
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error, 'not_found');
    const malformed = await post(jacket, '/api/v1/images/abc/reject');
    assert.equal(malformed.status, 400);
    assert.equal((await malformed.json()).error, 'invalid_id');
    assert.equal((await jacket.get('/api/v1/images/999999/status')).status, 404);

    const image = await upload(jacket, OTHER, await makeImage(100, 100), 'Front');
    const deleted = await jacket.get(`/api/v1/images/${image.id}`, { method: 'DELETE', headers: jacket.admin });
    assert.equal(deleted.status, 204);
    assert.deepEqual(await status(jacket, image.id), { id: image.id, status: 'deleted' });
    const conflict = await post(jacket, `/api/v1/images/${image.id}/approve`);
    assert.equal(conflict.status, 409);
    assert.equal((await conflict.json()).error, 'image_deleted');
  });
});

describe('release images with moderation off (the default)', () => {
  let jacket: RunningJacket;
  before(async () => {
    jacket = await startJacket();
  });
  after(() => jacket.close());

  test('uploads are approved and served at once; nothing waits', async () => {
    const image = await upload(jacket, OTHER, await makeImage(100, 100), 'Front');
    assert.equal(image.approved, true);
    assert.equal(image.status, 'approved');
    const [listed] = await listing(jacket, OTHER);
    assert.equal(listed!.approved, true);
    assert.equal(listed!.front, true);
    assert.equal(pathOf(jacket, await jacket.get(`/release/${OTHER}/front`)), `/download/mbid-${OTHER}/mbid-${OTHER}-${image.id}.jpg`);
    assert.deepEqual(await status(jacket, image.id), { id: image.id, status: 'approved' });
    const queue = await (await jacket.get('/api/v1/moderation', { headers: jacket.admin })).json();
    assert.deepEqual(queue, { enabled: false, pending: [], pendingImages: [] });
  });
});
