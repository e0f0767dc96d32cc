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

/** Debian's python3-musicbrainzngs (installed by .ci/run), the library behind many taggers, against Jacket. */
const PYTHON_CLIENT = `
import hashlib, json, sys
import musicbrainzngs as mb
mb.set_caa_hostname(sys.argv[1])
release, group = sys.argv[2], sys.argv[3]
out = {}
listing = mb.get_image_list(release)
out['ids'] = [image['id'] for image in listing['images']]
out['fronts'] = [image['front'] for image in listing['images']]
out['thumb'] = listing['images'][0]['thumbnails']['large']
out['group_release'] = mb.get_release_group_image_list(group)['release']
out['front_sha256'] = hashlib.sha256(mb.get_image_front(release)).hexdigest()
out['back_250_magic'] = mb.get_image_back(release, size='250')[:3].hex()
out['by_id_sha256'] = hashlib.sha256(mb.get_image(release, out['ids'][0])).hexdigest()
try:
    mb.get_image_front('99b09d02-9cc9-3fed-8431-f162165a9371')
    out['missing'] = 'no error'
except mb.ResponseError as error:
    out['missing'] = error.cause.code
print(json.dumps(out))
`;

describe('python musicbrainzngs against Jacket', () => {
  test('image list, release-group list, front, back thumbnail, image by id, 404', async () => {
    const { execFile } = await import('node:child_process');
    const { createHash } = await import('node:crypto');
    const jacket = await startJacket();
    try {
      await jacket.get(`/api/v1/releases/${RELEASE}`, {
        method: 'PUT',
        headers: { ...jacket.admin, 'content-type': 'application/json' },
        body: JSON.stringify({ releaseGroup: GROUP }),
      });
      const frontBytes = await makeImage(80, 50, { format: 'png' });
      const ids: number[] = [];
      for (const [types, bytes] of [['Front', frontBytes], ['Back', await makeImage(400, 300)]] as const) {
        const response = await jacket.get(`/api/v1/releases/${RELEASE}/images`, { method: 'POST', headers: jacket.admin, body: form({ types, file: { bytes } }) });
        ids.push((await response.json()).id);
      }
      const host = new URL(jacket.url).host;
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile('/usr/bin/python3', ['-c', PYTHON_CLIENT, host, RELEASE, GROUP], { timeout: 20_000 }, (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out))),
      );
      const result = JSON.parse(stdout);
      const frontSha = createHash('sha256').update(frontBytes).digest('hex');
      assert.deepEqual(result, {
        ids: ids.map(String),
        fronts: [true, false],
        thumb: `${jacket.url}/release/${RELEASE}/${ids[0]}-500.jpg`,
        group_release: `https://musicbrainz.org/release/${RELEASE}`,
        front_sha256: frontSha,
        back_250_magic: 'ffd8ff',
        by_id_sha256: frontSha,
        missing: 404,
      });
    } finally {
      await jacket.close();
    }
  });
});
