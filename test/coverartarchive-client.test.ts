import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoverArtArchiveApi } from 'musicbrainz-api';
import { form, makeImage } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

const RELEASE = '76df3287-6cda-33eb-8e9a-044b5e15ffdd';
const GROUP = 'c31a5e2b-0bf8-32e0-8aeb-ef4ba9973932';

/** The npm `musicbrainz-api` client, pointed at a running Jacket through its private base URL field. */
function clientFor(jacket: RunningJacket): CoverArtArchiveApi {
  const client = new CoverArtArchiveApi();
  (client as unknown as { httpClient: { httpOptions: { baseUrl: string } } }).httpClient.httpOptions.baseUrl = jacket.url;
  return client;
}

describe('musicbrainz-api CoverArtArchiveApi against Jacket', () => {
  let jacket: RunningJacket;
  const ids: number[] = [];

  before(async () => {
    jacket = await startJacket();
    const put = await jacket.get(`/api/v1/releases/${RELEASE}`, {
      method: 'PUT',
      headers: { ...jacket.admin, 'content-type': 'application/json' },
      body: JSON.stringify({ releaseGroup: GROUP, date: '1997-05-21' }),
    });
    assert.equal(put.status, 201);
    for (const types of ['Front', 'Back']) {
      const response = await jacket.get(`/api/v1/releases/${RELEASE}/images`, {
        method: 'POST',
        headers: jacket.admin,
        body: form({ types, file: { bytes: await makeImage(60, 60), filename: `${types}.jpg` } }),
      });
      assert.equal(response.status, 201);
      ids.push((await response.json()).id);
    }
  });
  after(() => jacket.close());

  test('release listing', async () => {
    const info = await clientFor(jacket).getReleaseCovers(RELEASE);
    assert.equal(info.release, `https://musicbrainz.org/release/${RELEASE}`);
    assert.deepEqual(
      info.images.map((image) => [image.id, image.types, image.front, image.back]),
      [
        [String(ids[0]), ['Front'], true, false],
        [String(ids[1]), ['Back'], false, true],
      ],
    );
    assert.equal(info.images[0]!.thumbnails.small, `${jacket.url}/release/${RELEASE}/${ids[0]}-250.jpg`);
    assert.equal(info.images[0]!.thumbnails['1200'], `${jacket.url}/release/${RELEASE}/${ids[0]}-1200.jpg`);
  });

  test('release-group listing', async () => {
    const info = await clientFor(jacket).getReleaseGroupCovers(GROUP);
    assert.equal(info.release, `https://musicbrainz.org/release/${RELEASE}`);
    assert.equal(info.images.length, 2);
  });

  test('front and back redirects, and a fetchable front', async () => {
    const client = clientFor(jacket);
    const front = await client.getReleaseCover(RELEASE, 'front');
    assert.equal(front.url, `${jacket.url}/download/mbid-${RELEASE}/mbid-${RELEASE}-${ids[0]}.jpg`);
    const back = await client.getReleaseCover(RELEASE, 'back');
    assert.equal(back.url, `${jacket.url}/download/mbid-${RELEASE}/mbid-${RELEASE}-${ids[1]}.jpg`);
    const groupFront = await client.getReleaseGroupCover(GROUP, 'front');
    assert.equal(groupFront.url, front.url);
    const image = await fetch(front.url!);
    assert.equal(image.status, 200);
    assert.equal(image.headers.get('content-type'), 'image/jpeg');
    // No art: the client reports null rather than throwing.
    assert.equal((await client.getReleaseCover('99b09d02-9cc9-3fed-8431-f162165a9371', 'front')).url, null);
    await assert.rejects(client.getReleaseCover('not-an-mbid', 'front'), /Invalid UUID/);
  });
});
