// The Cover Art Archive's own redirect service (metabrainz/coverart_redirect) ships a test suite and a fixture: one
// release with a front and a back image, a second release of the same group with none, a group with no art. Its
// cases are restated here as facts about Jacket's answers, with the fixture built through Jacket's write API (image
// ids are Jacket's, so the expected locations are made from the ids it returns). Where Jacket keeps a deliberate
// difference (its home page, upper-case MBIDs, redirects to its own /download/ files) the case says so.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { uploadReleaseImage } from './helpers/library-apis.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

const RELEASE = '353710ec-1509-4df9-8ce2-9bd5011e3b80';
const RELEASE_WITHOUT_ART = '98f08de3-c91c-4180-a961-06c205e63669';
const GROUP = '67a63246-0de4-4cd8-8ce2-35f70a17f92b';
const GROUP_WITHOUT_ART = 'c9b6b442-38d5-11e2-a5e5-001cc0fde924';

/** One request written by hand, for what fetch cannot send (an asterisk target, HTTP/1.0). */
function rawRequest(url: string, head: string): Promise<{ status: number; headers: Map<string, string>; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(`${head}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [headText = '', body = ''] = text.split('\r\n\r\n', 2);
      const [statusLine = '', ...lines] = headText.split('\r\n');
      const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
  });
}

describe('coverart_redirect test suite, against Jacket', () => {
  let jacket: RunningJacket;
  let frontId: number;
  let backId: number;

  async function write(method: string, path: string, body: unknown): Promise<Response> {
    return jacket.get(path, { method, headers: { ...jacket.admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  function fileBase(base = jacket.url): string {
    return `${base}/download/mbid-${RELEASE}`;
  }

  async function verifyRedirect(path: string, location: string, init?: RequestInit): Promise<void> {
    const response = await jacket.get(path, init);
    assert.equal(response.status, 307, path);
    assert.equal(response.headers.get('location'), location, path);
    assert.equal(await response.text(), `See: ${location}\n`, path);
    assert.equal(response.headers.get('access-control-allow-origin'), '*', path);
  }

  /** `{request}/{name}` with and without `.jpg`, and each thumbnail size with and without it, redirect to `{expected}…`. */
  async function verifyRedirects(request: string, name: string, expected: string): Promise<void> {
    await verifyRedirect(`${request}/${name}`, `${expected}.jpg`);
    await verifyRedirect(`${request}/${name}.jpg`, `${expected}.jpg`);
    for (const size of [250, 500, 1200]) {
      await verifyRedirect(`${request}/${name}-${size}`, `${expected}_thumb${size}.jpg`);
      await verifyRedirect(`${request}/${name}-${size}.jpg`, `${expected}_thumb${size}.jpg`);
    }
  }

  async function verifyText(path: string, status: number, text: string): Promise<void> {
    const response = await jacket.get(path);
    assert.equal(response.status, status, path);
    assert.ok((await response.text()).includes(text), `${path} should say "${text}"`);
    assert.equal(response.headers.get('access-control-allow-origin'), '*', path);
  }

  before(async () => {
    jacket = await startJacket({ JACKET_TRUST_PROXY: 'true' });
    // The fixture: release 1 (dated 2012) holds image 100000001 typed Front and Booklet, and image 999999999 typed
    // Back; release 2 (1976) is in the same group with no art.
    assert.equal((await write('PUT', `/api/v1/releases/${RELEASE}`, { releaseGroup: GROUP, date: '2012' })).status, 201);
    assert.equal((await write('PUT', `/api/v1/releases/${RELEASE_WITHOUT_ART}`, { releaseGroup: GROUP, date: '1976' })).status, 201);
    frontId = await uploadReleaseImage(jacket, RELEASE, 'Front,Booklet');
    backId = await uploadReleaseImage(jacket, RELEASE, 'Back');
  });
  after(() => jacket.close());

  test('front: 404 text for a release without art, 307 to the file or thumbnail, extension and size suffixes', async () => {
    await verifyText(`/release/${RELEASE_WITHOUT_ART}/front`, 404, `No front cover image found for release with identifier ${RELEASE_WITHOUT_ART}`);
    await verifyRedirects(`/release/${RELEASE}`, 'front', `${fileBase()}/mbid-${RELEASE}-${frontId}`);
  });

  test('back: the same rules', async () => {
    await verifyText(`/release/${RELEASE_WITHOUT_ART}/back`, 404, `No back cover image found for release with identifier ${RELEASE_WITHOUT_ART}`);
    await verifyRedirects(`/release/${RELEASE}`, 'back', `${fileBase()}/mbid-${RELEASE}-${backId}`);
  });

  test('an image by id: 404 text for an id not on the release, 307 for the image and its thumbnails', async () => {
    await verifyText(`/release/${RELEASE}/444444444.jpg`, 404, 'cover image with id 444444444 not found');
    const expected = `${fileBase()}/mbid-${RELEASE}-${backId}`;
    await verifyRedirect(`/release/${RELEASE}/${backId}.jpg`, `${expected}.jpg`);
    for (const size of [250, 500, 1200]) await verifyRedirect(`/release/${RELEASE}/${backId}-${size}.jpg`, `${expected}_thumb${size}.jpg`);
  });

  test('an image id that is not a number is a 400', async () => {
    assert.equal((await jacket.get(`/release/${RELEASE}/invalid`)).status, 400);
  });

  test('the release index: 404 text without art, 307 to index.json', async () => {
    await verifyText(`/release/${RELEASE_WITHOUT_ART}/`, 404, 'No cover art found for');
    await verifyRedirect(`/release/${RELEASE}/`, `${fileBase()}/index.json`);
  });

  test('https: a request that came through a proxy over https is redirected to https', async () => {
    const init = { headers: { 'x-forwarded-proto': 'https' } };
    const base = jacket.url.replace(/^http:/, 'https:');
    await verifyRedirect(`/release/${RELEASE}/`, `${fileBase(base)}/index.json`, init);
    await verifyRedirect(`/release/${RELEASE}/front`, `${fileBase(base)}/mbid-${RELEASE}-${frontId}.jpg`, init);
    await verifyRedirect(`/release/${RELEASE}/${backId}.jpg`, `${fileBase(base)}/mbid-${RELEASE}-${backId}.jpg`, init);
  });

  test('release groups: 404 text without art, front and its thumbnails from the chosen release, the index', async () => {
    await verifyText(`/release-group/${GROUP_WITHOUT_ART}`, 404, 'No cover art found for release group');
    await verifyText(`/release-group/${GROUP_WITHOUT_ART}/front`, 404, 'No cover art found for release group');
    const request = `/release-group/${GROUP}`;
    await verifyRedirects(request, 'front', `${fileBase()}/mbid-${RELEASE}-${frontId}`);
    await verifyRedirect(request, `${fileBase()}/index.json`);
    await verifyRedirect(`${request}/`, `${fileBase()}/index.json`);
  });

  test('OPTIONS: 200 with Allow for valid paths, found or not; 400 for paths that cannot be valid', async () => {
    const valid = [
      '/',
      `/release/${RELEASE}/999999999`,
      `/release/${RELEASE}/front`,
      `/release/${RELEASE}/back`,
      `/release-group/${GROUP}`,
      `/release-group/${GROUP}/front`,
      `/release/${RELEASE_WITHOUT_ART}/`,
      `/release/${RELEASE_WITHOUT_ART}/front`,
      `/release/${RELEASE_WITHOUT_ART}/back`,
      `/release-group/${GROUP_WITHOUT_ART}`,
      `/release-group/${GROUP_WITHOUT_ART}/front`,
      `/release/${RELEASE}/444444444.jpg`,
    ];
    for (const path of valid) {
      const response = await jacket.get(path, { method: 'OPTIONS' });
      assert.equal(response.status, 200, path);
      assert.ok(response.headers.has('allow'), path);
      assert.equal(response.headers.get('access-control-allow-origin'), '*', path);
    }
    for (const path of ['foo', 'front-100', '-250', 'front-back-500', '1200-front'].map((file) => `/release/${RELEASE}/${file}`)) {
      const response = await jacket.get(path, { method: 'OPTIONS' });
      assert.equal(response.status, 400, path);
      assert.equal(response.headers.get('access-control-allow-origin'), '*', path);
    }
  });

  test('OPTIONS *: 200 with Allow; an asterisk followed by more is a 400', async () => {
    const star = await rawRequest(jacket.url, 'OPTIONS * HTTP/1.1');
    assert.equal(star.status, 200);
    assert.ok(star.headers.has('allow'));
    const starPath = await rawRequest(jacket.url, 'OPTIONS /* HTTP/1.1');
    assert.equal(starPath.status, 200);
    assert.ok(starPath.headers.has('allow'));
    assert.equal((await rawRequest(jacket.url, 'OPTIONS /*foo HTTP/1.1')).status, 400);
  });

  test('OPTIONS over HTTP/1.0 is 501: the method does not exist there', async () => {
    assert.equal((await rawRequest(jacket.url, 'OPTIONS /*foo HTTP/1.0')).status, 501);
    assert.equal((await rawRequest(jacket.url, `OPTIONS /release/${RELEASE}/front HTTP/1.0`)).status, 501);
  });

  test('MBID validation: a missing digit, a trailing encoded newline, extra leading digits', async () => {
    for (const mbid of ['98f08de3-c91c-4180-a961-06c205e6366', '98f08de3-c91c-4180-a961-06c205e63669%0A', '000098f08de3-c91c-4180-a961-06c205e63669']) {
      await verifyText(`/release/${mbid}`, 400, 'invalid MBID specified');
    }
  });
});

describe('coverart_redirect behaviour its suite does not cover, as its code does it', () => {
  let jacket: RunningJacket;
  let frontId: number;

  before(async () => {
    jacket = await startJacket();
    frontId = await uploadReleaseImage(jacket, RELEASE, 'Front');
    await jacket.get(`/api/v1/releases/${RELEASE}`, {
      method: 'PUT',
      headers: { ...jacket.admin, 'content-type': 'application/json' },
      body: JSON.stringify({ releaseGroup: GROUP }),
    });
  });
  after(() => jacket.close());

  test('a trailing slash after the file and sizes the API does not name: the full-size image or the size the suffix starts with', async () => {
    const expected = `${jacket.url}/download/mbid-${RELEASE}/mbid-${RELEASE}-${frontId}`;
    const cases: Array<[string, string]> = [
      ['front/', '.jpg'],
      ['front-small', '.jpg'],
      ['front-large.jpg', '.jpg'],
      ['front-100', '.jpg'],
      ['front-2500', '_thumb250.jpg'],
      [`${frontId}-small.jpg`, '.jpg'],
    ];
    for (const [file, suffix] of cases) {
      const response = await jacket.get(`/release/${RELEASE}/${file}`);
      assert.equal(response.status, 307, file);
      assert.equal(response.headers.get('location'), expected + suffix, file);
    }
  });

  test('a release group answers only its front: anything else is a 400 naming the file', async () => {
    const response = await jacket.get(`/release-group/${GROUP}/back`);
    assert.equal(response.status, 400);
    assert.equal(await response.text(), 'back not supported for release groups.\n');
  });
});
