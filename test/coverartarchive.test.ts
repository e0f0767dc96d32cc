import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { caaImageIdAt } from '../src/catalogue/releases.ts';
import { JacketError } from '../src/errors.ts';
import { acceptsJson, isArtSegment, parseArtSegment } from '../src/http/coverartarchive.ts';
import { dimensionsOf, form, makeImage } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

const RELEASE = '76df3287-6cda-33eb-8e9a-044b5e15ffdd';
const EMPTY_RELEASE = '99b09d02-9cc9-3fed-8431-f162165a9371';
const UNKNOWN = 'b5b2c1f4-0000-4000-8000-000000000000';
const GROUP = 'c31a5e2b-0bf8-32e0-8aeb-ef4ba9973932';
const GROUP_RELEASES = {
  rawEarliest: '10000000-0000-4000-8000-000000000001',
  feb2003: '10000000-0000-4000-8000-000000000002',
  jan2003: '10000000-0000-4000-8000-000000000003',
  undated: '10000000-0000-4000-8000-000000000004',
  year2003: '10000000-0000-4000-8000-000000000005',
  noFront: '10000000-0000-4000-8000-000000000006',
};
const EMPTY_GROUP = 'c31a5e2b-0bf8-32e0-8aeb-000000000000';

interface Uploaded {
  id: number;
  edit: number;
  position: number;
  types: string[];
}

async function putRelease(jacket: RunningJacket, mbid: string, body: object): Promise<Response> {
  return jacket.get(`/api/v1/releases/${mbid}`, {
    method: 'PUT',
    headers: { ...jacket.admin, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function upload(jacket: RunningJacket, mbid: string, bytes: Buffer, fields: Record<string, string> = {}): Promise<Uploaded> {
  const response = await jacket.get(`/api/v1/releases/${mbid}/images`, {
    method: 'POST',
    headers: jacket.admin,
    body: form({ ...fields, file: { bytes, filename: 'cover' } }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return response.json();
}

async function follow(jacket: RunningJacket, location: string, init?: RequestInit): Promise<Response> {
  assert.ok(location.startsWith(jacket.url), location);
  return jacket.get(location.slice(jacket.url.length), init);
}

function assertRedirect(response: Response, location: string): void {
  assert.equal(response.status, 307);
  assert.equal(response.headers.get('location'), location);
  assert.equal(response.headers.get('access-control-allow-origin'), '*');
}

/** Object keys in the raw JSON text, in the order they were written, checked level by level. */
function keysSortedInText(text: string): boolean {
  const stack: string[][] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"(\s*:)?|[{}]/g;
  for (const match of text.matchAll(pattern)) {
    if (match[0] === '{') stack.push([]);
    else if (match[0] === '}') {
      const keys = stack.pop()!;
      if (keys.join('\u0000') !== [...keys].sort().join('\u0000')) return false;
    } else if (match[2]) stack[stack.length - 1]!.push(match[1]!);
  }
  return true;
}

describe('path parsing', () => {
  test('front, back, ids with leading digits, rightmost-dash thumbnails, ignored extensions', () => {
    assert.deepEqual(parseArtSegment('front'), { selector: 'front', size: undefined, format: 'jpeg' });
    assert.deepEqual(parseArtSegment('back-1200.png'), { selector: 'back', size: 1200, format: 'jpeg' });
    assert.deepEqual(parseArtSegment('123.png'), { selector: 123, size: undefined, format: 'jpeg' });
    assert.deepEqual(parseArtSegment('123abc-250.jpg'), { selector: 123, size: 250, format: 'jpeg' });
    assert.deepEqual(parseArtSegment('front-500.webp'), { selector: 'front', size: 500, format: 'webp' });
    assert.deepEqual(parseArtSegment('front.webp'), { selector: 'front', size: undefined, format: 'jpeg' });
    // As the original reads a GET: an unknown size is the full-size image, a size is known by how the suffix starts.
    assert.deepEqual(parseArtSegment('front-100'), { selector: 'front', size: undefined, format: 'jpeg' });
    assert.deepEqual(parseArtSegment('back-250x'), { selector: 'back', size: 250, format: 'jpeg' });
    assert.deepEqual(parseArtSegment('front-back-500'), { selector: 'front', size: 500, format: 'jpeg' });
    assert.deepEqual(parseArtSegment('1200-front'), { selector: 1200, size: undefined, format: 'jpeg' });
    for (const bad of ['foo', 'index.json', '-250', '']) assert.equal(parseArtSegment(bad), undefined, bad);
    // OPTIONS reads it strictly.
    for (const good of ['front', 'back-1200.png', '123', '123-250.jpg']) assert.ok(isArtSegment(good), good);
    for (const bad of ['foo', 'front-100', '-250', 'front-back-500', '1200-front', '123abc']) assert.ok(!isArtSegment(bad), bad);
  });

  test('Accept negotiation for listings', () => {
    assert.ok(acceptsJson(undefined));
    assert.ok(acceptsJson('application/json'));
    assert.ok(acceptsJson('text/html, */*;q=0.1'));
    assert.ok(!acceptsJson('image/png'));
    assert.ok(!acceptsJson('application/json;q=0, text/html'));
  });
});

describe('Cover Art Archive API', () => {
  let jacket: RunningJacket;
  let front: Uploaded;
  let back: Uploaded;
  let booklet: Uploaded;
  let largePng: Buffer;
  let smallJpeg: Buffer;

  before(async () => {
    jacket = await startJacket();
    largePng = await makeImage(1600, 1000, { format: 'png' });
    smallJpeg = await makeImage(300, 200, { color: '#aa3333' });
    assert.equal((await putRelease(jacket, RELEASE, { releaseGroup: GROUP, date: '2005-06-07' })).status, 201);
    assert.equal((await putRelease(jacket, RELEASE, { releaseGroup: GROUP, date: '2005-06-07' })).status, 200);
    front = await upload(jacket, RELEASE, largePng, { types: 'Front', comment: '' });
    back = await upload(jacket, RELEASE, smallJpeg, { types: 'Back' });
    // Inserted at position 1: it comes first in the listing, but the front is still the first image typed Front.
    booklet = await upload(jacket, RELEASE, smallJpeg, { types: 'Booklet,Other', comment: 'inner sleeve', position: '1' });
    assert.equal((await putRelease(jacket, EMPTY_RELEASE, {})).status, 201);

  });
  after(() => jacket.close());

  test('image ids follow the CAA formula and are unique; edits are numbered', () => {
    const now = caaImageIdAt(Date.now());
    for (const image of [front, back, booklet]) {
      assert.ok(image.id <= now && image.id > now - 60 * 100, String(image.id));
      assert.ok(Number.isInteger(image.edit));
    }
    assert.equal(new Set([front.id, back.id, booklet.id]).size, 3);
    assert.deepEqual([front.position, back.position, booklet.position], [1, 2, 1]);
  });

  test('/release/{mbid} and /release/{mbid}/ answer 307 to index.json with an absolute Location and See: body', async () => {
    const expected = `${jacket.url}/download/mbid-${RELEASE}/index.json`;
    for (const path of [`/release/${RELEASE}`, `/release/${RELEASE}/`, `/release/${RELEASE.toUpperCase()}`]) {
      const response = await jacket.get(path, { headers: { accept: 'application/json' } });
      assertRedirect(response, expected);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(await response.text(), `See: ${expected}\n`);
    }
  });

  test('index.json: sorted keys, images in order, derived front/back, string ids, thumbnails with small/large', async () => {
    const response = await jacket.get(`/download/mbid-${RELEASE}/index.json`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const text = await response.text();
    const listing = JSON.parse(text);
    assert.ok(keysSortedInText(text), text);
    assert.ok(text.includes('"thumbnails":{"1200":'), text);
    assert.deepEqual(Object.keys(listing), ['images', 'release']);
    assert.equal(listing.release, `https://musicbrainz.org/release/${RELEASE}`);
    assert.deepEqual(
      listing.images.map((image: { id: string }) => image.id),
      [booklet.id, front.id, back.id].map(String),
    );
    const [first, second, third] = listing.images;
    assert.deepEqual(first.types, ['Booklet', 'Other']);
    assert.equal(first.comment, 'inner sleeve');
    assert.deepEqual([first.front, second.front, third.front], [false, true, false]);
    assert.deepEqual([first.back, second.back, third.back], [false, false, true]);
    assert.equal(second.approved, true);
    assert.equal(second.edit, front.edit);
    const base = `${jacket.url}/release/${RELEASE}/${front.id}`;
    assert.equal(second.image, `${base}.png`);
    assert.deepEqual(second.thumbnails, {
      '1200': `${base}-1200.jpg`,
      '250': `${base}-250.jpg`,
      '500': `${base}-500.jpg`,
      large: `${base}-500.jpg`,
      small: `${base}-250.jpg`,
    });
    assert.equal(third.image, `${jacket.url}/release/${RELEASE}/${back.id}.jpg`);
    const etag = response.headers.get('etag')!;
    assert.equal((await jacket.get(`/download/mbid-${RELEASE}/index.json`, { headers: { 'if-none-match': etag } })).status, 304);
  });

  test('front, back and ids redirect to the original files; extensions are ignored', async () => {
    const file = (image: Uploaded, extension: string) => `${jacket.url}/download/mbid-${RELEASE}/mbid-${RELEASE}-${image.id}.${extension}`;
    assertRedirect(await jacket.get(`/release/${RELEASE}/front`), file(front, 'png'));
    assertRedirect(await jacket.get(`/release/${RELEASE}/front.jpg`), file(front, 'png'));
    assertRedirect(await jacket.get(`/release/${RELEASE}/back`), file(back, 'jpg'));
    assertRedirect(await jacket.get(`/release/${RELEASE}/${booklet.id}`), file(booklet, 'jpg'));
    assertRedirect(await jacket.get(`/release/${RELEASE}/${booklet.id}.png`), file(booklet, 'jpg'));
    const original = await jacket.get(`/download/mbid-${RELEASE}/mbid-${RELEASE}-${front.id}.png`);
    assert.equal(original.status, 200);
    assert.equal(original.headers.get('content-type'), 'image/png');
    assert.equal(original.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.ok(Buffer.from(await original.arrayBuffer()).equals(largePng));
    // The file exists only under its true extension.
    assert.equal((await jacket.get(`/download/mbid-${RELEASE}/mbid-${RELEASE}-${front.id}.jpg`)).status, 404);
  });

  test('thumbnails: rightmost-dash sizes, longest side 250/500/1200, JPEG, never enlarged', async () => {
    const expectations: Array<[string, Uploaded, number, number]> = [
      ['front-250', front, 250, 156],
      ['front-500.jpg', front, 500, 313],
      ['front-1200', front, 1200, 750],
      [`${back.id}-500`, back, 300, 200],
      ['back-1200.jpg', back, 300, 200],
    ];
    for (const [segment, image, width, height] of expectations) {
      const size = /-(\d+)/.exec(segment)![1];
      const location = `${jacket.url}/download/mbid-${RELEASE}/mbid-${RELEASE}-${image.id}_thumb${size}.jpg`;
      const response = await jacket.get(`/release/${RELEASE}/${segment}`);
      assertRedirect(response, location);
      const thumbnail = await follow(jacket, location);
      assert.equal(thumbnail.status, 200, segment);
      assert.equal(thumbnail.headers.get('content-type'), 'image/jpeg');
      assert.deepEqual(await dimensionsOf(await thumbnail.arrayBuffer()), { width, height, format: 'jpeg' }, segment);
    }
  });

  test('WebP and AVIF thumbnails on request', async () => {
    const location = `${jacket.url}/download/mbid-${RELEASE}/mbid-${RELEASE}-${front.id}_thumb500.webp`;
    assertRedirect(await jacket.get(`/release/${RELEASE}/front-500.webp`), location);
    const webp = await follow(jacket, location);
    assert.equal(webp.headers.get('content-type'), 'image/webp');
    assert.deepEqual(await dimensionsOf(await webp.arrayBuffer()), { width: 500, height: 313, format: 'webp' });
    const avif = await jacket.get(`/release/${RELEASE}/back-250.avif`);
    assert.equal(avif.status, 307);
    const avifFile = await follow(jacket, avif.headers.get('location')!);
    assert.equal(avifFile.headers.get('content-type'), 'image/avif');
  });

  test('files: ETag, 304 and byte ranges', async () => {
    const path = `/download/mbid-${RELEASE}/mbid-${RELEASE}-${back.id}.jpg`;
    // Revalidating an original reads nothing: the 304 is decided before any blob is loaded.
    const reads: string[] = [];
    const { blobs } = jacket.services;
    const get = blobs.get;
    blobs.get = async (key) => {
      reads.push(key);
      return get.call(blobs, key);
    };
    const known = `"${createHash('sha256').update(smallJpeg).digest('hex').slice(0, 32)}"`;
    try {
      assert.equal((await jacket.get(path, { headers: { 'if-none-match': known } })).status, 304);
    } finally {
      blobs.get = get;
    }
    assert.deepEqual(reads, []);
    const whole = await jacket.get(path);
    const etag = whole.headers.get('etag')!;
    assert.equal(etag, known);
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.equal((await jacket.get(path, { headers: { 'if-none-match': etag } })).status, 304);
    const part = await jacket.get(path, { headers: { range: 'bytes=0-9' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 0-9/${smallJpeg.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(smallJpeg.subarray(0, 10)));
    const tail = await jacket.get(path, { headers: { range: 'bytes=-5' } });
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(smallJpeg.subarray(smallJpeg.length - 5)));
    assert.equal((await jacket.get(path, { headers: { range: `bytes=${smallJpeg.length}-` } })).status, 416);
    const thumb = `/download/mbid-${RELEASE}/mbid-${RELEASE}-${back.id}_thumb250.jpg`;
    const thumbEtag = (await jacket.get(thumb)).headers.get('etag')!;
    assert.equal((await jacket.get(thumb, { headers: { 'if-none-match': thumbEtag } })).status, 304);
  });

  test('404: no art, unknown release, no back, an id of another release', async () => {
    for (const path of [
      `/release/${EMPTY_RELEASE}`,
      `/release/${EMPTY_RELEASE}/front`,
      `/release/${UNKNOWN}/`,
      `/release/${UNKNOWN}/front-250`,
      `/release/${GROUP_RELEASES.feb2003}/back`,
      `/release/${RELEASE}/1234`,
      `/release/${GROUP_RELEASES.feb2003}/${front.id}`,
    ]) {
      const response = await jacket.get(path);
      assert.equal(response.status, 404, path);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain/, path);
      assert.equal(response.headers.get('access-control-allow-origin'), '*', path);
    }
  });

  test('400: invalid MBIDs (trailing newline, extra characters), bad image ids and sizes', async () => {
    for (const path of [
      '/release/foo',
      '/release/foo/front',
      `/release/${RELEASE}%0A`,
      `/release/${RELEASE}%0A/front`,
      `/release/x${RELEASE}/front`,
      `/release-group/${GROUP}x`,
    ]) {
      const response = await jacket.get(path);
      assert.equal(response.status, 400, path);
      assert.equal(await response.text(), 'invalid MBID specified\n', path);
      assert.equal(response.headers.get('access-control-allow-origin'), '*', path);
    }
    for (const segment of ['foo', 'index.json', '-250']) {
      assert.equal((await jacket.get(`/release/${RELEASE}/${segment}`)).status, 400, segment);
    }
    assertRedirect(await jacket.get(`/release/${RELEASE.toUpperCase()}/back`), `${jacket.url}/download/mbid-${RELEASE}/mbid-${RELEASE}-${back.id}.jpg`);
  });

  test('OPTIONS: 200 with Allow and no body; invalid paths 400', async () => {
    for (const path of [`/release/${RELEASE}`, `/release/${UNKNOWN}/front-250`, `/release-group/${GROUP}/`, `/release-group/${GROUP}/front`]) {
      const response = await jacket.get(path, { method: 'OPTIONS' });
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('allow'), 'GET, HEAD, OPTIONS');
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
      assert.equal(await response.text(), '');
    }
    for (const path of ['/release/foo', `/release/${RELEASE}/front-100`, `/release/${RELEASE}/foo`]) {
      assert.equal((await jacket.get(path, { method: 'OPTIONS' })).status, 400, path);
    }
  });

  test('405 with Allow, 406 on listings, HEAD like GET without a body', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const response = await jacket.get(`/release/${RELEASE}/front`, { method });
      assert.equal(response.status, 405, method);
      assert.equal(response.headers.get('allow'), 'GET, HEAD, OPTIONS');
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
    }
    assert.equal((await jacket.get(`/release-group/${GROUP}`, { method: 'POST' })).status, 405);
    const refused = await jacket.get(`/release/${RELEASE}`, { headers: { accept: 'image/png' } });
    assert.equal(refused.status, 406);
    assert.equal(refused.headers.get('access-control-allow-origin'), '*');
    assert.equal((await jacket.get(`/release-group/${GROUP}/`, { headers: { accept: 'text/html' } })).status, 406);
    assert.equal((await jacket.get(`/release/${RELEASE}`, { headers: { accept: 'text/html,application/json;q=0.9' } })).status, 307);
    // Image redirects are not listings: any Accept is fine.
    assert.equal((await jacket.get(`/release/${RELEASE}/front`, { headers: { accept: 'image/png' } })).status, 307);
    const get = await jacket.get(`/release/${RELEASE}/front`);
    const head = await jacket.get(`/release/${RELEASE}/front`, { method: 'HEAD' });
    assert.equal(head.status, 307);
    assert.equal(head.headers.get('location'), get.headers.get('location'));
    assert.equal(await head.text(), '');
    assert.equal((await jacket.get(`/release/${UNKNOWN}`, { method: 'HEAD' })).status, 404);
  });

  test('release groups: 307 to the chosen release, front thumbnails, back/id 400 but 404 first', async () => {
    assertRedirect(await jacket.get(`/release-group/${GROUP}`), `${jacket.url}/download/mbid-${RELEASE}/index.json`);
    assertRedirect(await jacket.get(`/release-group/${GROUP}/`), `${jacket.url}/download/mbid-${RELEASE}/index.json`);
    assertRedirect(await jacket.get(`/release-group/${GROUP}/front`), `${jacket.url}/download/mbid-${RELEASE}/mbid-${RELEASE}-${front.id}.png`);
    assertRedirect(await jacket.get(`/release-group/${GROUP}/front-250.jpg`), `${jacket.url}/download/mbid-${RELEASE}/mbid-${RELEASE}-${front.id}_thumb250.jpg`);
    assert.equal((await jacket.get(`/release-group/${GROUP}/back`)).status, 400);
    assert.equal((await jacket.get(`/release-group/${GROUP}/${front.id}`)).status, 400);
    for (const path of [`/release-group/${UNKNOWN}`, `/release-group/${UNKNOWN}/back`, `/release-group/${UNKNOWN}/${front.id}`, `/release-group/${UNKNOWN}/front-500`]) {
      assert.equal((await jacket.get(path)).status, 404, path);
    }
  });

  test('release-group choice: Raw/Unedited loses, then earliest year/month/day, undated last; explicit choice wins', async () => {
    const group = 'd0000000-0000-4000-8000-000000000001';
    const groupFronts: Record<string, Uploaded> = {};
    const tiny = await makeImage(40, 40);
    const plan: Array<[string, string | null, string]> = [
      [GROUP_RELEASES.rawEarliest, '1999', 'Front,Raw/Unedited'],
      [GROUP_RELEASES.feb2003, '2003-02-01', 'Front'],
      [GROUP_RELEASES.year2003, '2003', 'Front'],
      [GROUP_RELEASES.jan2003, '2003-01-20', 'Front'],
      [GROUP_RELEASES.undated, null, 'Front'],
      [GROUP_RELEASES.noFront, '1990', 'Back'],
    ];
    for (const [mbid, date, types] of plan) {
      assert.ok([200, 201].includes((await putRelease(jacket, mbid, { releaseGroup: group, date })).status));
      groupFronts[mbid] = await upload(jacket, mbid, tiny, { types });
    }
    const chosen = async () => {
      const response = await jacket.get(`/release-group/${group}`);
      assert.equal(response.status, 307);
      return /mbid-([0-9a-f-]{36})\/index\.json$/.exec(response.headers.get('location')!)![1];
    };
    assert.equal(await chosen(), GROUP_RELEASES.jan2003);
    const choose = (release: string | null) =>
      jacket.get(`/api/v1/release-groups/${group}/cover`, {
        method: 'PUT',
        headers: { ...jacket.admin, 'content-type': 'application/json' },
        body: JSON.stringify({ release }),
      });
    assert.equal((await choose(GROUP_RELEASES.undated)).status, 200);
    assert.equal(await chosen(), GROUP_RELEASES.undated);
    assertRedirect(
      await jacket.get(`/release-group/${group}/front-500`),
      `${jacket.url}/download/mbid-${GROUP_RELEASES.undated}/mbid-${GROUP_RELEASES.undated}-${groupFronts[GROUP_RELEASES.undated]!.id}_thumb500.jpg`,
    );
    // A release outside the group cannot be chosen.
    assert.equal((await choose(RELEASE)).status, 409);
    assert.equal((await choose(null)).status, 200);
    assert.equal(await chosen(), GROUP_RELEASES.jan2003);
    // Removing January's front: the year-only 2003 release sorts after dated months, so February wins.
    const remove = await jacket.get(`/api/v1/images/${groupFronts[GROUP_RELEASES.jan2003]!.id}`, { method: 'DELETE', headers: jacket.admin });
    assert.equal(remove.status, 204);
    assert.equal(await chosen(), GROUP_RELEASES.feb2003);
    // Retyping Raw/Unedited away makes the 1999 release the earliest proper front.
    const retype = await jacket.get(`/api/v1/images/${groupFronts[GROUP_RELEASES.rawEarliest]!.id}`, {
      method: 'PATCH',
      headers: { ...jacket.admin, 'content-type': 'application/json' },
      body: JSON.stringify({ types: ['Front'] }),
    });
    assert.equal(retype.status, 200);
    assert.deepEqual((await retype.json()).types, ['Front']);
    assert.equal(await chosen(), GROUP_RELEASES.rawEarliest);
  });

  test('merges: images move with their ids and the old MBID keeps answering', async () => {
    const oldRelease = 'e0000000-0000-4000-8000-00000000000a';
    const target = 'e0000000-0000-4000-8000-00000000000b';
    await putRelease(jacket, target, {});
    const kept = await upload(jacket, target, await makeImage(30, 30), { types: 'Front' });
    const moving = await upload(jacket, oldRelease, await makeImage(20, 20), { types: 'Back', comment: 'moved' });
    const merge = await jacket.get(`/api/v1/releases/${oldRelease}/merge`, {
      method: 'POST',
      headers: { ...jacket.admin, 'content-type': 'application/json' },
      body: JSON.stringify({ into: target }),
    });
    assert.equal(merge.status, 200);
    assert.deepEqual(await merge.json(), { release: oldRelease, into: target, moved: 1 });
    assertRedirect(await jacket.get(`/release/${oldRelease}`), `${jacket.url}/download/mbid-${target}/index.json`);
    assertRedirect(await jacket.get(`/release/${oldRelease}/back`), `${jacket.url}/download/mbid-${target}/mbid-${target}-${moving.id}.jpg`);
    assertRedirect(await jacket.get(`/release/${oldRelease}/${moving.id}-250`), `${jacket.url}/download/mbid-${target}/mbid-${target}-${moving.id}_thumb250.jpg`);
    const listing = await (await jacket.get(`/download/mbid-${target}/index.json`)).json();
    assert.deepEqual(
      listing.images.map((image: { id: string; comment: string }) => [image.id, image.comment]),
      [
        [String(kept.id), ''],
        [String(moving.id), 'moved'],
      ],
    );
    // The old item's files still resolve, and writes to the old MBID are refused.
    assert.equal((await jacket.get(`/download/mbid-${oldRelease}/mbid-${oldRelease}-${moving.id}.jpg`)).status, 200);
    assert.equal((await putRelease(jacket, oldRelease, {})).status, 409);
  });

  test('write API: authentication, validation, reordering, comments, deletion', async () => {
    const mbid = 'f0000000-0000-4000-8000-000000000001';
    const bytes = await makeImage(50, 50);
    const anonymous = await jacket.get(`/api/v1/releases/${mbid}/images`, { method: 'POST', body: form({ file: { bytes }, types: 'Front' }) });
    assert.equal(anonymous.status, 401);
    const badType = await jacket.get(`/api/v1/releases/${mbid}/images`, { method: 'POST', headers: jacket.admin, body: form({ file: { bytes }, types: 'Front,Cover' }) });
    assert.equal(badType.status, 400);
    assert.equal((await badType.json()).error, 'invalid_type');
    const notImage = await jacket.get(`/api/v1/releases/${mbid}/images`, { method: 'POST', headers: jacket.admin, body: form({ file: { bytes: Buffer.from('%PDF-1.4') }, types: 'Front' }) });
    assert.equal(notImage.status, 400);
    assert.equal((await jacket.get(`/release/${mbid}`)).status, 404);
    assert.equal((await putRelease(jacket, 'not-an-mbid', {})).status, 400);
    assert.equal((await putRelease(jacket, mbid, { date: '2003-02-30' })).status, 400);
    const a = await upload(jacket, mbid, bytes, { types: 'Front' });
    const b = await upload(jacket, mbid, bytes, { types: 'Front,Top,Bottom,Matrix/Runout' });
    assert.deepEqual(b.types, ['Front', 'Matrix/Runout', 'Top', 'Bottom']);
    const ids = async () => (await (await jacket.get(`/download/mbid-${mbid}/index.json`)).json()).images.map((image: { id: string }) => Number(image.id));
    assert.deepEqual(await ids(), [a.id, b.id]);
    const move = await jacket.get(`/api/v1/images/${b.id}`, {
      method: 'PATCH',
      headers: { ...jacket.admin, 'content-type': 'application/json' },
      body: JSON.stringify({ position: 1, comment: 'better scan' }),
    });
    assert.equal(move.status, 200);
    const moved = await move.json();
    assert.equal(moved.position, 1);
    assert.equal(moved.comment, 'better scan');
    assert.deepEqual(await ids(), [b.id, a.id]);
    assertRedirect(await jacket.get(`/release/${mbid}/front`), `${jacket.url}/download/mbid-${mbid}/mbid-${mbid}-${b.id}.jpg`);
    assert.equal((await jacket.get(`/api/v1/images/${b.id}`, { method: 'DELETE', headers: jacket.admin })).status, 204);
    assert.equal((await jacket.get(`/api/v1/images/${b.id}`, { method: 'DELETE', headers: jacket.admin })).status, 404);
    assert.deepEqual(await ids(), [a.id]);
    assert.equal((await jacket.get(`/release/${mbid}/${b.id}`)).status, 404);
  });

  test('503 from the rate-limit hook is a short text body with Retry-After and CORS', async () => {
    jacket.services.hooks.coverArtArchiveRequest = async () => {
      throw new JacketError(503, 'rate_limited', 'Rate limit exceeded.', { 'retry-after': '7' });
    };
    try {
      const response = await jacket.get(`/release/${RELEASE}/front`);
      assert.equal(response.status, 503);
      assert.equal(response.headers.get('retry-after'), '7');
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
      assert.equal(await response.text(), 'Rate limit exceeded.\n');
    } finally {
      delete jacket.services.hooks.coverArtArchiveRequest;
    }
  });

  test('the OpenAPI description lists the write API', async () => {
    const response = await jacket.get('/docs/json');
    assert.equal(response.status, 200);
    const description = await response.json();
    for (const path of ['/api/v1/releases/{mbid}', '/api/v1/releases/{mbid}/images', '/api/v1/images/{id}', '/api/v1/release-groups/{mbid}/cover', '/api/v1/releases/{mbid}/merge']) {
      assert.ok(description.paths[path], path);
    }
    assert.ok(description.paths['/api/v1/images/{id}'].patch && description.paths['/api/v1/images/{id}'].delete);
  });
});

describe('Cover Art Archive locations behind HTTPS', () => {
  const mbid = RELEASE;

  async function seeded(env: Record<string, string>): Promise<{ jacket: RunningJacket; id: number }> {
    const jacket = await startJacket(env);
    const image = await upload(jacket, mbid, await makeImage(20, 20), { types: 'Front' });
    return { jacket, id: image.id };
  }

  test('JACKET_PUBLIC_URL sets scheme and host of every Location and listing URL; JACKET_CAA_ID_TYPE=number', async () => {
    const { jacket, id } = await seeded({ JACKET_PUBLIC_URL: 'https://caa.example.org', JACKET_CAA_ID_TYPE: 'number', JACKET_MUSICBRAINZ_URL: 'https://mb.example.org' });
    try {
      assertRedirect(await jacket.get(`/release/${mbid}/front`), `https://caa.example.org/download/mbid-${mbid}/mbid-${mbid}-${id}.jpg`);
      assertRedirect(await jacket.get(`/release/${mbid}/`, { headers: { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil.example' } }), `https://caa.example.org/download/mbid-${mbid}/index.json`);
      const listing = await (await jacket.get(`/download/mbid-${mbid}/index.json`)).json();
      assert.equal(listing.images[0].id, id);
      assert.equal(listing.images[0].image, `https://caa.example.org/release/${mbid}/${id}.jpg`);
      assert.equal(listing.release, `https://mb.example.org/release/${mbid}`);
    } finally {
      await jacket.close();
    }
  });

  test('X-Forwarded-Proto/Host are used only when JACKET_TRUST_PROXY=true', async () => {
    const proxied = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'covers.example.net' };
    const trusted = await seeded({ JACKET_TRUST_PROXY: 'true' });
    try {
      assertRedirect(await trusted.jacket.get(`/release/${mbid}/front-250`, { headers: proxied }), `https://covers.example.net/download/mbid-${mbid}/mbid-${mbid}-${trusted.id}_thumb250.jpg`);
      const listing = await (await trusted.jacket.get(`/download/mbid-${mbid}/index.json`, { headers: proxied })).json();
      assert.equal(listing.images[0].image, `https://covers.example.net/release/${mbid}/${trusted.id}.jpg`);
    } finally {
      await trusted.jacket.close();
    }
    const untrusted = await seeded({});
    try {
      assertRedirect(await untrusted.jacket.get(`/release/${mbid}/front`, { headers: proxied }), `${untrusted.jacket.url}/download/mbid-${mbid}/mbid-${mbid}-${untrusted.id}.jpg`);
    } finally {
      await untrusted.jacket.close();
    }
  });
});
