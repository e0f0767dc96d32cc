// Wrong credentials are limited per client address: past a burst the client gets 429 with Retry-After and its
// credentials are not even checked (the right one included), for the admin token and developer keys alike.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { explainMissing, redisPrefix, TEST_REDIS_URL } from './helpers/backends.ts';
import { form, makeImage } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

test('on by default: 20 wrong credentials a minute per client', () => {
  assert.deepEqual(loadConfig({}).authFailureLimit, { limit: 20, windowMs: 60_000 });
  assert.equal(loadConfig({ JACKET_AUTH_FAILURE_LIMIT: 'off' }).authFailureLimit, undefined);
});

describe('wrong credentials, limited', () => {
  let jacket: RunningJacket;
  let image: Buffer;

  before(async () => {
    jacket = await startJacket({ JACKET_AUTH_FAILURE_LIMIT: '3/1h', JACKET_TRUST_PROXY: 'true' });
    image = await makeImage(120, 180);
  });
  after(() => jacket.close());

  const upload = (token: string, client: string) =>
    jacket.get('/b/upload2', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': client }, body: form({ olid: 'OL1M', data: { bytes: image } }) });

  test('three wrong admin tokens are 401; the fourth attempt, even with the right token, is 429 with Retry-After', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await upload(`guess-${i}`, '198.51.100.1')).status, 401, `guess ${i}`);
    const refused = await upload('guess-3', '198.51.100.1');
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal((await refused.json()).error, 'too_many_failures');
    assert.equal((await upload('test-admin-token', '198.51.100.1')).status, 429, 'the right token is not checked either');
    assert.equal((await upload('test-admin-token', '198.51.100.2')).status, 200, 'another client is not affected');
  });

  test('requests without credentials are not guesses', async () => {
    for (let i = 0; i < 5; i++) {
      const response = await jacket.get('/b/upload2', { method: 'POST', headers: { 'x-forwarded-for': '198.51.100.3' }, body: form({ olid: 'OL1M', data: { bytes: image } }) });
      assert.equal(response.status, 401);
    }
    assert.equal((await upload('test-admin-token', '198.51.100.3')).status, 200);
  });

  test('wrong developer keys in keyed URLs count the same, and are refused in that dialect’s text', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await jacket.get(`/devkey/wrong-${i}/medium/isbn/0385472579`, { headers: { 'x-forwarded-for': '198.51.100.4' } });
      assert.equal(response.status, 403);
    }
    const refused = await jacket.get('/devkey/wrong-3/medium/isbn/0385472579', { headers: { 'x-forwarded-for': '198.51.100.4' } });
    assert.equal(refused.status, 429);
    assert.match(await refused.text(), /^Too many wrong credentials/);
    assert.ok(refused.headers.get('retry-after'));
    assert.equal((await upload('guess', '198.51.100.4')).status, 429, 'the admin routes share the count');
  });
});

if (TEST_REDIS_URL) {
  describe('wrong credentials, counted in the shared limit store (Redis)', () => {
    let redis: Awaited<ReturnType<typeof redisPrefix>>;
    let instances: RunningJacket[];
    let image: Buffer;

    before(async () => {
      redis = await redisPrefix();
      const env = { JACKET_AUTH_FAILURE_LIMIT: '3/1h', JACKET_TRUST_PROXY: 'true', REDIS_URL: TEST_REDIS_URL!, JACKET_REDIS_PREFIX: redis.prefix };
      instances = [await startJacket(env), await startJacket(env)];
      image = await makeImage(120, 180);
    });
    after(async () => {
      for (const instance of instances) await instance.close();
      await redis.cleanup();
    });

    test('guesses spread over two instances add up: the fourth, on either, is 429', async () => {
      const upload = (instance: RunningJacket, token: string) =>
        instance.get('/b/upload2', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '198.51.100.9' }, body: form({ olid: 'OL1M', data: { bytes: image } }) });
      const [a, b] = instances as [RunningJacket, RunningJacket];
      assert.equal((await upload(a, 'guess-0')).status, 401);
      assert.equal((await upload(b, 'guess-1')).status, 401);
      assert.equal((await upload(a, 'guess-2')).status, 401);
      const refused = await upload(b, 'test-admin-token');
      assert.equal(refused.status, 429, 'the other instance saw the guesses made on the first');
      assert.ok(refused.headers.get('retry-after'));
    });
  });
} else {
  explainMissing('Redis-shared auth failure limit', 'TEST_REDIS_URL');
}
