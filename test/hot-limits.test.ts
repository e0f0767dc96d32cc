// With the default settings the per-address limit of identifier lookups is on, developer keys are checked, and the
// Cover Art Archive's files are public: hits on all of them are answered from memory (the hot table, and the raw
// front before it), and the limits and key checks hold there exactly as on the routes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FoldedCounters, FOLD_INTERVAL_MS } from '../src/limits/fold.ts';
import { RateLimiter } from '../src/limits/rate.ts';
import { RedisLimitStore } from '../src/limits/redis.ts';
import { redisPrefix, TEST_REDIS_URL } from './helpers/backends.ts';
import { makeImage } from './helpers/images.ts';
import { createKey, freshWindow, uploadBookCover, uploadReleaseImage } from './helpers/library-apis.ts';
import { RawClient, type RawResponse } from './helpers/raw-client.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: covers.example\r\n${extra}\r\n`;
const header = (response: RawResponse, name: string) => response.headers.get(name)?.[0];

describe('identifier lookups under the per-address limit, answered from memory', () => {
  let jacket: RunningJacket;

  before(async () => {
    await freshWindow(3_600_000);
    jacket = await startJacket({ JACKET_OL_RATE_LIMIT: '6/1h' });
    await uploadBookCover(jacket, { isbn: '0385472579' });
  });
  after(() => jacket.close());

  test('every hit counts, the front answers them, and the one over the limit gets the routes’ own refusal', async () => {
    const path = '/b/isbn/0385472579-M.jpg';
    const first = await jacket.get(path);
    assert.equal(first.status, 200);
    const bytes = Buffer.from(await first.arrayBuffer());
    const client = await RawClient.connect(jacket.url);
    const front = jacket.services.hotResponses!.front!;
    const answered = front.stats.answered;
    for (let i = 2; i <= 6; i++) {
      client.send(get(path));
      const hit = await client.response();
      assert.equal(hit.status, 200, `lookup ${i}`);
      assert.deepEqual(hit.body, bytes);
    }
    assert.equal(front.stats.answered, answered + 5, 'the front answered the hits');
    client.send(get(path));
    const refused = await client.response();
    assert.equal(front.stats.answered, answered + 6, 'and the refusal');
    assert.equal(refused.status, 403);
    assert.equal(header(refused, 'access-control-allow-origin'), '*');
    assert.ok(Number(header(refused, 'retry-after')) >= 1);
    const refusal = JSON.parse(refused.body.toString());
    assert.equal(refusal.error, 'rate_limited');
    client.close();

    // The routes' refusal of a lookup that is not in memory: the same status, headers and body.
    const routed = await jacket.get('/b/isbn/9780000000002-M.jpg');
    assert.equal(routed.status, 403);
    const routedBody = await routed.json();
    assert.deepEqual(Object.keys(routedBody), Object.keys(refusal));
    assert.equal(routedBody.error, refusal.error);
    assert.equal(routedBody.message.replace(/\d+ s/, 'N s'), refusal.message.replace(/\d+ s/, 'N s'));
    for (const name of ['content-type', 'access-control-allow-origin', 'access-control-allow-methods']) {
      assert.equal(routed.headers.get(name), header(refused, name), name);
    }
    assert.ok(refused.headers.has('x-request-id'));

    // Node's own server, for a connection the front handed over: the same refusal, counted once more.
    const handed = await RawClient.connect(jacket.url);
    handed.send(`POST /b/query HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n` + get(path));
    await handed.response();
    const again = await handed.response();
    assert.equal(again.status, 403);
    assert.equal(JSON.parse(again.body.toString()).error, 'rate_limited');
    handed.close();
    // Lookups by id stay open.
    const [{ id }] = await (await jacket.get('/b/query?olid=&limit=1&details=true')).json();
    assert.equal((await jacket.get(`/b/id/${id}-M.jpg`)).status, 200);
  });

  test('a client with credentials goes to the routes: a key lifts the limit there', async () => {
    const { key } = await createKey(jacket);
    const lifted = await jacket.get('/b/isbn/0385472579-M.jpg', { headers: { authorization: `Bearer ${key}` } });
    assert.equal(lifted.status, 200);
    const client = await RawClient.connect(jacket.url);
    client.send(get('/b/isbn/0385472579-M.jpg', `Authorization: Bearer ${key}\r\n`));
    assert.equal((await client.response()).status, 200);
    client.close();
  });
});

describe('keyed URLs and archive files, answered from memory', () => {
  let jacket: RunningJacket;
  let key: string;
  let keyId: string;
  const release = '76df3287-6cda-33eb-8e9a-044b5e15ffdd';
  let imageId: number;

  before(async () => {
    jacket = await startJacket();
    await uploadBookCover(jacket, { isbn: '0385472579' });
    ({ key, id: keyId } = await createKey(jacket));
    imageId = await uploadReleaseImage(jacket, release, 'Front', await makeImage(900, 900));
  });
  after(() => jacket.close());

  test('a keyed <img> is a hit from memory until its key is revoked, and the revocation holds at once', async () => {
    const path = `/devkey/${key}/medium/isbn/0385472579`;
    assert.equal((await jacket.get(path)).status, 200);
    const client = await RawClient.connect(jacket.url);
    const front = jacket.services.hotResponses!.front!;
    const answered = front.stats.answered;
    client.send(get(path));
    const hit = await client.response();
    assert.equal(hit.status, 200);
    assert.equal(header(hit, 'content-type'), 'image/jpeg');
    assert.equal(front.stats.answered, answered + 1);
    const usage = await (await jacket.get(`/devkey/${key}/usage`)).json();
    assert.equal(usage.counted, 1, 'only the rendition made from the original counted');
    assert.equal((await jacket.get(`/api/v1/keys/${keyId}`, { method: 'DELETE', headers: jacket.admin })).status, 200);
    client.send(get(path));
    const revoked = await client.response();
    assert.equal(revoked.status, 403);
    client.close();
  });

  test('archive thumbnails and originals are hits from memory; a byte range goes to the routes', async () => {
    const file = `/download/mbid-${release}/mbid-${release}-${imageId}_thumb250.jpg`;
    const first = await jacket.get(file);
    assert.equal(first.status, 200);
    const bytes = Buffer.from(await first.arrayBuffer());
    const client = await RawClient.connect(jacket.url);
    const front = jacket.services.hotResponses!.front!;
    const answered = front.stats.answered;
    client.send(get(file));
    const hit = await client.response();
    assert.deepEqual(hit.body, bytes);
    assert.equal(header(hit, 'accept-ranges'), 'bytes');
    assert.equal(front.stats.answered, answered + 1);
    client.send(get(file, 'Range: bytes=0-9\r\n'));
    const partial = await client.response();
    assert.equal(partial.status, 206);
    assert.deepEqual(partial.body, bytes.subarray(0, 10));
    client.close();
  });
});

describe('Cover Art Archive redirects to files, answered from memory', () => {
  let jacket: RunningJacket;
  const release = '76df3287-6cda-33eb-8e9a-044b5e15ffdd';
  let imageId: number;

  before(async () => {
    jacket = await startJacket();
    imageId = await uploadReleaseImage(jacket, release, 'Front');
  });
  after(() => jacket.close());

  test('the same 307 for the same Host; another Host gets its own Location from the routes', async () => {
    const path = `/release/${release}/front-250`;
    const client = await RawClient.connect(jacket.url);
    client.send(get(path));
    const first = await client.response();
    assert.equal(first.status, 307);
    const location = `http://covers.example/download/mbid-${release}/mbid-${release}-${imageId}_thumb250.jpg`;
    assert.equal(header(first, 'location'), location);
    client.close();
    const again = await RawClient.connect(jacket.url);
    const front = jacket.services.hotResponses!.front!;
    const answered = front.stats.answered;
    again.send(get(path));
    const hit = await again.response();
    assert.equal(front.stats.answered, answered + 1);
    assert.equal(hit.status, 307);
    assert.equal(header(hit, 'location'), location);
    assert.equal(hit.body.toString(), `See: ${location}\n`);
    assert.equal(header(hit, 'access-control-allow-origin'), '*');
    again.send(`GET ${path} HTTP/1.1\r\nHost: other.example\r\n\r\n`);
    const other = await again.response();
    assert.equal(front.stats.answered, answered + 1, 'another host is the routes\' to answer');
    assert.equal(header(other, 'location'), location.replace('covers.example', 'other.example'));
    again.close();
  });
});

describe('counts made in memory are shared through Redis within a fold', () => {
  test('two instances counting the same client from memory see each other’s counts after a fold', async () => {
    const { prefix, cleanup } = await redisPrefix();
    const stores = [new RedisLimitStore({ url: TEST_REDIS_URL!, prefix }), new RedisLimitStore({ url: TEST_REDIS_URL!, prefix })];
    try {
      await Promise.all(stores.map((store) => store.connected(2000)));
      const [a, b] = stores.map((store) => new FoldedCounters(store));
      const limiter = new RateLimiter('ol', { limit: 5, windowMs: 3_600_000 }, stores[0]!);
      const now = Date.now();
      for (let i = 0; i < 3; i++) assert.ok(limiter.hitNow('192.0.2.1', a!, now).allowed);
      for (let i = 0; i < 2; i++) assert.ok(limiter.hitNow('192.0.2.1', b!, now).allowed);
      await a!.fold();
      await b!.fold();
      await a!.fold();
      // Five counted in all: the next hit on either instance is the sixth.
      assert.equal(limiter.hitNow('192.0.2.1', a!, now).allowed, false);
      assert.equal(limiter.hitNow('192.0.2.1', b!, now).allowed, false);
      // And the routes, which count in Redis directly, see the folded counts.
      await a!.fold();
      await b!.fold();
      assert.equal((await limiter.hit('192.0.2.1', now)).count, 8);
      assert.ok(FOLD_INTERVAL_MS <= 1000);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      await cleanup();
    }
  });
});
