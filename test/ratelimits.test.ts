import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { errorBody } from '../src/http/common.ts';
import { form, makeImage } from './helpers/images.ts';
import { freshWindow } from './helpers/library-apis.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

const FIVE_MINUTES = 300_000;


async function createKey(jacket: RunningJacket, name: string): Promise<{ key: string; id: string }> {
  const response = await jacket.get('/api/v1/keys', { method: 'POST', headers: { ...jacket.admin, 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  assert.equal(response.status, 201);
  return response.json();
}

describe('Open Library rate limit (default 100/5m, 403)', () => {
  let jacket: RunningJacket;
  let coverId: number;

  before(async () => {
    jacket = await startJacket();
    const response = await jacket.get('/b/upload2', {
      method: 'POST',
      headers: jacket.admin,
      body: form({ olid: 'OL1M', isbn: '0385472579', data: { bytes: await makeImage(200, 300), type: 'image/jpeg' } }),
    });
    coverId = (await response.json()).id;
  });
  after(() => jacket.close());

  test('the 101st identifier lookup in five minutes is refused with 403; id and olid stay open; a key lifts it', async () => {
    await freshWindow(FIVE_MINUTES);
    for (let i = 0; i < 100; i++) {
      const path = i % 2 === 0 ? '/b/isbn/0385472579-S.jpg' : `/b/isbn/${9_780_000_000_000 + i}-M.jpg`;
      const response = await jacket.get(path);
      assert.equal(response.status, 200, `request ${i + 1}`);
      await response.arrayBuffer();
    }
    const refused = await jacket.get('/b/isbn/0385472579-S.jpg');
    assert.equal(refused.status, 403);
    assert.equal((await refused.json()).error, 'rate_limited');
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 300, `Retry-After ${retryAfter}`);
    assert.equal((await jacket.get('/b/oclc/12345-S.jpg')).status, 403, 'every identifier other than id and olid counts');
    assert.equal((await jacket.get('/b/isbn/0385472579.json')).status, 403);
    assert.equal((await jacket.get('/b/isbn/0385472579-S.jpg', { headers: { 'x-forwarded-for': '203.0.113.9' } })).status, 403, 'X-Forwarded-For is not trusted by default');

    assert.equal((await jacket.get(`/b/id/${coverId}-S.jpg`)).status, 200, 'id lookups are exempt');
    assert.equal((await jacket.get('/b/olid/OL1M-S.jpg')).status, 200, 'olid lookups are exempt');
    assert.equal((await jacket.get(`/b/id/${coverId}.json`)).status, 200);

    const { key, id } = await createKey(jacket, 'OPAC');
    assert.equal((await jacket.get(`/b/isbn/0385472579-S.jpg?key=${key}`)).status, 200, '?key= lifts the IP limit');
    assert.equal((await jacket.get('/b/isbn/0385472579-S.jpg', { headers: { authorization: `Bearer ${key}` } })).status, 200, 'so does Bearer');
    assert.equal((await jacket.get('/b/isbn/0385472579-S.jpg', { headers: jacket.admin })).status, 200, 'and the admin token');
    assert.equal((await jacket.get('/b/isbn/0385472579-S.jpg?key=made-up')).status, 403, 'an unknown key does not');
    await jacket.get(`/api/v1/keys/${id}`, { method: 'DELETE', headers: jacket.admin });
    assert.equal((await jacket.get(`/b/isbn/0385472579-S.jpg?key=${key}`)).status, 403, 'nor does a revoked one');
  });
});

describe('Open Library rate limit settings', () => {
  test('JACKET_OL_RATE_LIMIT_STATUS=429 answers 429 with Retry-After; behind a trusted proxy each client has its own count', async () => {
    const jacket = await startJacket({ JACKET_OL_RATE_LIMIT: '2/1d', JACKET_OL_RATE_LIMIT_STATUS: '429', JACKET_TRUST_PROXY: 'true' });
    try {
      const client = { 'x-forwarded-for': '198.51.100.7' };
      assert.equal((await jacket.get('/b/isbn/0385472579-S.jpg', { headers: client })).status, 200);
      assert.equal((await jacket.get('/b/isbn/0385472579-S.jpg', { headers: client })).status, 200);
      const refused = await jacket.get('/b/isbn/0385472579-S.jpg', { headers: client });
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.equal((await jacket.get('/b/isbn/0385472579-S.jpg', { headers: { 'x-forwarded-for': '198.51.100.8' } })).status, 200, 'another client');
    } finally {
      await jacket.close();
    }
  });

  test('JACKET_OL_RATE_LIMIT=off removes the limit', async () => {
    const jacket = await startJacket({ JACKET_OL_RATE_LIMIT: 'off' });
    try {
      for (let i = 0; i < 110; i++) {
        const response = await jacket.get('/b/isbn/0000000000-S.jpg');
        assert.equal(response.status, 200);
        await response.arrayBuffer();
      }
    } finally {
      await jacket.close();
    }
  });
});

describe('Cover Art Archive rate limit', () => {
  /**
   * The Cover Art Archive routes live in another part of Jacket; they call `services.hooks.coverArtArchiveRequest`
   * first. This stands in a minimal route that does the same over a real socket, with the error rendering the app uses.
   */
  async function caaStandIn(jacket: RunningJacket) {
    const app = Fastify({ logger: false });
    app.setErrorHandler((error, _request, reply) => {
      const rendered = errorBody(error);
      return reply.code(rendered.status).headers(rendered.headers).send(rendered.body);
    });
    app.get('/release/:mbid', async (request, reply) => {
      await jacket.services.hooks.coverArtArchiveRequest?.(request, reply);
      return reply.send({ images: [] });
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    return { app, url: `http://127.0.0.1:${address.port}/release/76df3287-6cda-33eb-8e9a-044b5e15ffdd` };
  }

  test('off by default', async () => {
    const jacket = await startJacket();
    const stand = await caaStandIn(jacket);
    try {
      assert.equal(jacket.services.hooks.coverArtArchiveRequest, undefined);
      for (let i = 0; i < 5; i++) assert.equal((await fetch(stand.url)).status, 200);
    } finally {
      await stand.app.close();
      await jacket.close();
    }
  });

  test('JACKET_CAA_RATE_LIMIT answers 503 with Retry-After once over; a developer key lifts it', async () => {
    const jacket = await startJacket({ JACKET_CAA_RATE_LIMIT: '3/1d' });
    const stand = await caaStandIn(jacket);
    try {
      for (let i = 0; i < 3; i++) assert.equal((await fetch(stand.url)).status, 200);
      const refused = await fetch(stand.url);
      assert.equal(refused.status, 503);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.equal((await refused.json()).error, 'rate_limited');
      const { key } = await createKey(jacket, 'Tagger');
      assert.equal((await fetch(`${stand.url}?key=${key}`)).status, 200);
    } finally {
      await stand.app.close();
      await jacket.close();
    }
  });
});
