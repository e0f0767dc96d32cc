import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { assertWellBehaved, eventually, ownRedis, traffic } from './helpers/outage.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

describe('Jacket through a Redis outage (its own redis-server, stopped and started under traffic)', () => {
  let redis: Awaited<ReturnType<typeof ownRedis>>;
  let jacket: RunningJacket;
  before(async () => {
    redis = await ownRedis();
    jacket = await startJacket({ REDIS_URL: redis.url, JACKET_REDIS_PREFIX: 'outage:' });
  });
  after(async () => {
    await jacket?.close();
    await redis?.remove();
  });

  test('keeps serving with per-instance limits while Redis is down, names it in /readyz, and shares again by itself', async () => {
    const upload = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL1M', isbn: '9780140328721', data: { bytes: await makeImage(100, 160), type: 'image/jpeg' } }) });
    assert.equal(upload.status, 200, await upload.clone().text());
    const { id } = await upload.json();
    const created = await jacket.get('/api/v1/keys', { method: 'POST', headers: { ...jacket.admin, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Outage', dailyLimit: 1_000_000 }) });
    assert.equal(created.status, 201);
    const { key } = await created.json();
    assert.equal((await jacket.get('/readyz')).status, 200);

    let n = 2;
    // Covers uploaded during the run whose renditions nobody asked for yet: each is a new rendition, which asks Redis for its lease.
    const fresh: number[] = [];
    const load = traffic([
      ['lookup', () => jacket.get(`/b/olid/OL${n++}M.json`)],
      ['cover by ISBN', () => jacket.get('/b/isbn/9780140328721-S.jpg')],
      ['new rendition', () => jacket.get(`/b/id/${fresh.shift() ?? id}-M.jpg`)],
      ['keyed cover', () => jacket.get(`/devkey/${key}/small/isbn/9780140328721`)],
      [
        'upload',
        async () => {
          const color = `#${(n % 4096).toString(16).padStart(3, '0')}`;
          const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: `OL${n++}M`, data: { bytes: await makeImage(40, 60, { color }), type: 'image/jpeg' } }) });
          if (response.status === 200) fresh.push((await response.clone().json()).id);
          return response;
        },
      ],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await redis.stop();
    await eventually(async () => (await jacket.get('/readyz')).status === 503, 5_000, '/readyz turns unready');
    const ready = await (await jacket.get('/readyz')).json();
    assert.deepEqual(ready.failing, ['redis']);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const duringOutage = load.answers.length;

    await redis.start();
    const back = await eventually(async () => (await jacket.get('/readyz')).status === 200, 10_000, '/readyz ready again once Redis is back');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const answers = await load.stop();
    assert.ok(duringOutage > 10, `traffic went on during the outage (${duringOutage} answers)`);
    if (process.env.JACKET_TEST_VERBOSE) console.log(answers.length, Math.max(...answers.map((a) => a.ms)), back);
    assertWellBehaved(
      answers,
      { lookup: [404], 'cover by ISBN': [200, 403], 'new rendition': [200], 'keyed cover': [200], upload: [200] },
      5_000,
    );
    assert.ok(back < 10_000);
    // Limits count in Redis again.
    assert.equal((await jacket.get(`/devkey/${key}/small/isbn/9780140328721`)).status, 200);
    assert.ok((await jacket.services.limits.ping().then(() => true)), 'the limit store answers');
    assert.equal((jacket.services.limits as unknown as { shared: boolean }).shared, true, 'counters are shared through Redis again');
  });

  // `cover by ISBN` may meet the Open Library rate limit (100 per 5 minutes per client, counted per instance during the outage): a 403 as documented.
  test('a Redis that stops answering (connections held open) costs requests a bounded wait, not a hang', async () => {
    let n = 100_000;
    const load = traffic([
      ['lookup', () => jacket.get(`/b/olid/OL${n++}M.json`)],
      ['cover by ISBN', () => jacket.get('/b/isbn/9780140328721-S.jpg')],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    redis.pause();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const ready = await jacket.get('/readyz');
    assert.equal(ready.status, 503);
    assert.deepEqual((await ready.json()).failing, ['redis']);
    redis.resume();
    await eventually(async () => (await jacket.get('/readyz')).status === 200, 10_000, '/readyz ready again once Redis answers');
    assertWellBehaved(await load.stop(), { lookup: [404], 'cover by ISBN': [200, 403] }, 3_000);
  });
});
