import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { startCountingProxy, type CountingProxy } from './helpers/proxy.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

const RELEASE = '76df3287-6cda-33eb-8e9a-044b5e15ffdd';
const GROUP = '48140466-cff6-3222-bd55-63c27e43190d';
const MISSING = '99b09d02-9cc9-3fed-8431-f162165a9371';

/** Follow a 307 from the mirror to its own file route. */
async function fetchFollowing(jacket: RunningJacket, path: string, init?: RequestInit): Promise<Response> {
  const first = await jacket.get(path, init);
  assert.equal(first.status, 307, `${path} → ${first.status}`);
  const location = first.headers.get('location')!;
  assert.ok(location.startsWith(jacket.url), `the mirror redirects to itself, not upstream: ${location}`);
  return fetch(location, init);
}

describe('mirror mode, Cover Art Archive dialect', () => {
  let upstream: RunningJacket;
  let proxy: CountingProxy;
  let mirror: RunningJacket;
  const originals: Record<string, Buffer> = {};
  const ids: number[] = [];

  before(async () => {
    upstream = await startJacket();
    const put = await upstream.get(`/api/v1/releases/${RELEASE}`, {
      method: 'PUT',
      headers: { ...upstream.admin, 'content-type': 'application/json' },
      body: JSON.stringify({ releaseGroup: GROUP, date: '1999-03' }),
    });
    assert.ok([200, 201].includes(put.status));
    for (const [types, comment, color] of [['Front', 'the front', '#aa3300'], ['Back', '', '#0033aa'], ['Booklet,Other', 'page 2', '#33aa00']] as const) {
      const bytes = await makeImage(600, 600, { format: types === 'Back' ? 'png' : 'jpeg', color });
      const response = await upstream.get(`/api/v1/releases/${RELEASE}/images`, { method: 'POST', headers: upstream.admin, body: form({ file: { bytes }, types, comment }) });
      assert.equal(response.status, 201);
      const id = (await response.json()).id;
      ids.push(Number(id));
      originals[types] = bytes;
    }
    proxy = await startCountingProxy(upstream.url);
    mirror = await startJacket({ JACKET_UPSTREAM_COVERARTARCHIVE: proxy.url, JACKET_UPSTREAM_RATE: '20/1s' });
  });
  after(async () => {
    await mirror.close();
    await proxy.close();
    await upstream.close();
  });

  test('a release miss is filled from the upstream: same ids, types, comments, order and bytes', async () => {
    const front = await fetchFollowing(mirror, `/release/${RELEASE}/front`);
    assert.equal(front.status, 200);
    assert.ok(Buffer.from(await front.arrayBuffer()).equals(originals.Front!));
    const listing = await fetchFollowing(mirror, `/release/${RELEASE}/`, { headers: { accept: 'application/json' } });
    const index = await listing.json();
    assert.deepEqual(
      index.images.map((image: { id: string; types: string[]; comment: string; front: boolean; back: boolean }) => [image.id, image.types, image.comment, image.front, image.back]),
      [
        [String(ids[0]), ['Front'], 'the front', true, false],
        [String(ids[1]), ['Back'], '', false, true],
        [String(ids[2]), ['Booklet', 'Other'], 'page 2', false, false],
      ],
    );
    const back = await fetchFollowing(mirror, `/release/${RELEASE}/back`);
    assert.equal(back.headers.get('content-type'), 'image/png');
    assert.ok(Buffer.from(await back.arrayBuffer()).equals(originals.Back!));
  });

  test('after the fill, requests are answered locally', async () => {
    const before = proxy.requests.length;
    await fetchFollowing(mirror, `/release/${RELEASE}/front-250`);
    await fetchFollowing(mirror, `/release/${RELEASE}/${ids[2]}`);
    assert.equal(proxy.requests.length, before);
  });

  test('a release-group miss is filled through the upstream group listing', async () => {
    const fresh = await startJacket({ JACKET_UPSTREAM_COVERARTARCHIVE: proxy.url, JACKET_UPSTREAM_RATE: '20/1s' });
    try {
      const front = await fetchFollowing(fresh, `/release-group/${GROUP}/front`);
      assert.ok(Buffer.from(await front.arrayBuffer()).equals(originals.Front!));
      assert.equal((await fresh.get(`/release/${RELEASE}/back`)).status, 307);
    } finally {
      await fresh.close();
    }
  });

  test('absence upstream is a 404 here, remembered for the negative-cache lifetime', async () => {
    const before = proxy.requests.length;
    assert.equal((await mirror.get(`/release/${MISSING}/front`)).status, 404);
    const asked = proxy.requests.length - before;
    assert.ok(asked >= 1);
    assert.equal((await mirror.get(`/release/${MISSING}/`)).status, 404);
    assert.equal(proxy.requests.length - before, asked, 'the second miss did not ask the upstream');
  });

  test('an administrator can refresh a mirrored release (changes upstream arrive) and purge it (fetched anew)', async () => {
    // The upstream changes a comment and drops the booklet.
    const patch = await upstream.get(`/api/v1/images/${ids[0]}`, {
      method: 'PATCH',
      headers: { ...upstream.admin, 'content-type': 'application/json' },
      body: JSON.stringify({ comment: 'the new front' }),
    });
    assert.equal(patch.status, 200);
    assert.equal((await upstream.get(`/api/v1/images/${ids[2]}`, { method: 'DELETE', headers: upstream.admin })).status, 204);
    assert.equal((await mirror.get(`/api/v1/mirror/releases/${RELEASE}/refresh`, { method: 'POST' })).status, 401);
    const refresh = await mirror.get(`/api/v1/mirror/releases/${RELEASE}/refresh`, { method: 'POST', headers: mirror.admin });
    assert.equal(refresh.status, 200);
    assert.deepEqual(await refresh.json(), { release: RELEASE, images: 2, removed: 1 });
    const index = await (await fetchFollowing(mirror, `/release/${RELEASE}/`, { headers: { accept: 'application/json' } })).json();
    assert.deepEqual(index.images.map((image: { comment: string }) => image.comment), ['the new front', '']);

    assert.equal((await mirror.get(`/api/v1/mirror/releases/${MISSING}`, { method: 'DELETE', headers: mirror.admin })).status, 404);
    assert.equal((await mirror.get(`/api/v1/mirror/releases/${RELEASE}`, { method: 'DELETE', headers: mirror.admin })).status, 204);
    const before = proxy.requests.length;
    const front = await fetchFollowing(mirror, `/release/${RELEASE}/front`);
    assert.ok(Buffer.from(await front.arrayBuffer()).equals(originals.Front!));
    assert.ok(proxy.requests.length > before, 'the purged release was fetched from the upstream again');
  });

  test('the mirror keeps serving after the upstream is stopped', async () => {
    await proxy.close();
    await upstream.close();
    const front = await fetchFollowing(mirror, `/release/${RELEASE}/front-500`);
    assert.equal(front.status, 200);
    assert.equal(front.headers.get('content-type'), 'image/jpeg');
  });
});
