import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

// Both ways a hit is answered from the hot table: the raw-socket front, and Node's request event (front off).
for (const [mode, env] of [['front on', {}], ['front off', { JACKET_HOT_FRONT: 'false' }]] as const) describe(`hits answered by the hot path still behave like every other response (${mode})`, () => {
  let jacket: RunningJacket;
  let id: number;

  before(async () => {
    jacket = await startJacket(env);
    const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ data: { bytes: await makeImage(400, 600) } }) });
    id = (await response.json()).id;
  });
  after(() => jacket.close());

  test('each hit gets its own request id (or echoes a sane one) and is counted in the request metrics', async () => {
    const path = `/b/id/${id}-M.jpg`;
    const first = await jacket.get(path);
    assert.equal(first.status, 200);
    await first.arrayBuffer();
    const served = jacket.services.hotResponses!.stats.served;
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const hit = await jacket.get(path);
      assert.equal(hit.status, 200);
      await hit.arrayBuffer();
      ids.add(hit.headers.get('x-request-id') ?? '');
    }
    assert.equal(jacket.services.hotResponses!.stats.served, served + 3, 'the three repeats took the hot path');
    assert.equal(ids.size, 3, 'a stored response never replays another request id');
    assert.ok(![...ids].includes(first.headers.get('x-request-id') ?? ''));
    const echoed = await jacket.get(path, { headers: { 'x-request-id': 'trace-42' } });
    assert.equal(echoed.headers.get('x-request-id'), 'trace-42');
    const revalidated = await jacket.get(path, { headers: { 'if-none-match': `"${id}-m"` } });
    assert.equal(revalidated.status, 304);

    const metrics = await (await jacket.get('/metrics')).text();
    const count = (status: number) =>
      Number(new RegExp(`http_requests_total\\{method="GET",route="/b/:key/:file",status_code="${status}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    assert.equal(count(200), 5, 'every 200, hot or not, is counted');
    assert.equal(count(304), 1);
    // The duration histogram counts them too, in step with the counter, and a second scrape adds nothing.
    const sample = (text: string, name: string, status: number, le?: string) =>
      Number(new RegExp(`${name}\\{${le ? `le="${le.replace('+', '\\+')}",` : ''}method="GET",route="/b/:key/:file",status_code="${status}"\\} ([\\d.e+-]+)`).exec(text)?.[1] ?? NaN);
    assert.equal(sample(metrics, 'http_request_duration_seconds_count', 200), 5);
    assert.equal(sample(metrics, 'http_request_duration_seconds_bucket', 200, '+Inf'), 5);
    assert.ok(sample(metrics, 'http_request_duration_seconds_bucket', 200, '30') <= 5);
    assert.ok(sample(metrics, 'http_request_duration_seconds_sum', 200) > 0);
    assert.equal(sample(metrics, 'http_request_duration_seconds_count', 304), 1);
    const again = await (await jacket.get('/metrics')).text();
    assert.equal(sample(again, 'http_requests_total', 200), 5);
    assert.equal(sample(again, 'http_request_duration_seconds_count', 200), 5);
    assert.equal(sample(again, 'http_request_duration_seconds_bucket', 200, '+Inf'), 5);
  });
});
