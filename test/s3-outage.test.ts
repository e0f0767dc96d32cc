import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { assertWellBehaved, eventually, ownS3, traffic } from './helpers/outage.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

describe('Jacket through an S3 outage (its own s3rver, stopped and started under traffic)', () => {
  let s3: Awaited<ReturnType<typeof ownS3>>;
  let jacket: RunningJacket;
  before(async () => {
    s3 = await ownS3();
    jacket = await startJacket(s3.env('outage/'));
  });
  after(async () => {
    await jacket?.close();
    await s3?.remove();
  });

  const upload = (olid: string, color: string) =>
    jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid, data: { bytes: makeImageSync.get(color)!, type: 'image/jpeg' } }) });
  const makeImageSync = new Map<string, Buffer>();

  test('serves the catalogue and what it holds in memory, answers 503 + Retry-After for the rest, and recovers by itself', async () => {
    for (let i = 0; i < 64; i++) {
      const color = `#${(i * 61).toString(16).padStart(3, '0')}`;
      makeImageSync.set(color, await makeImage(40, 60, { color }));
    }
    const colors = [...makeImageSync.keys()];
    const first = await upload('OL1M', colors[0]!);
    assert.equal(first.status, 200, await first.clone().text());
    const { id } = await first.json();
    // Stored before the outage, never rendered: their renditions need the original from S3.
    const untouched: number[] = [];
    for (let i = 2; i < 40; i++) {
      const response = await upload(`OL${i}M`, colors[i]!);
      assert.equal(response.status, 200);
      untouched.push((await response.json()).id);
    }
    assert.equal((await jacket.get(`/b/id/${id}-M.jpg`)).status, 200, 'a rendition made and held in memory');
    assert.equal((await jacket.get('/readyz')).status, 200);

    let n = 1000;
    const load = traffic([
      ['catalogue JSON', () => jacket.get(`/b/id/${id}.json`)],
      ['lookup', () => jacket.get(`/b/olid/OL${n++}M.json`)],
      ['rendition in memory', () => jacket.get(`/b/id/${id}-M.jpg`)],
      ['new rendition', () => jacket.get(`/b/id/${untouched.shift() ?? id}-S.jpg`)],
      ['upload', () => upload(`OL${n++}M`, colors[n % colors.length]!)],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await s3.stop();
    await eventually(async () => (await jacket.get('/readyz')).status === 503, 5_000, '/readyz turns unready');
    const ready = await (await jacket.get('/readyz')).json();
    assert.deepEqual(ready.failing, ['blobs']);
    const during = await upload('OL999999M', colors[1]!);
    assert.equal(during.status, 503);
    assert.ok(Number(during.headers.get('retry-after')) > 0);
    const body = await during.json();
    assert.equal(body.error, 'storage_unavailable');
    assert.match(body.message, /storage/);
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    await s3.start();
    const back = await eventually(async () => (await upload(`OL${n++}M`, colors[2]!)).status === 200, 10_000, 'uploads succeed again once S3 is back');
    assert.equal((await jacket.get('/readyz')).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const answers = await load.stop();
    if (process.env.JACKET_TEST_VERBOSE) console.log(answers.length, Math.max(...answers.map((a) => a.ms)), back, answers.filter((a) => a.status !== 200).length);
    assertWellBehaved(
      answers,
      { 'catalogue JSON': [200], lookup: [404], 'rendition in memory': [200], 'new rendition': [200, 503], upload: [200, 503] },
      8_000,
    );
    assert.ok(answers.some((answer) => answer.status === 503), 'the outage was seen');
    for (const answer of answers.filter((a) => a.status === 503)) assert.equal(answer.error, 'storage_unavailable', answer.what);
  });

  test('an S3 that stops answering (connections held open) costs a request a bounded wait, then a 503', async () => {
    const colors = [...makeImageSync.keys()];
    const fresh: number[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await upload(`OL${5000 + i}M`, colors[i + 10]!);
      assert.equal(response.status, 200);
      fresh.push((await response.json()).id);
    }
    s3.pause();
    try {
      const started = Date.now();
      const [stored, rendition, ready] = await Promise.all([upload('OL6000M', colors[20]!), jacket.get(`/b/id/${fresh[0]}-S.jpg`), jacket.get('/readyz')]);
      if (process.env.JACKET_TEST_VERBOSE) console.log('paused', Date.now() - started);
      assert.ok(Date.now() - started < 20_000, `answered within 20 s (${Date.now() - started} ms)`);
      assert.equal(ready.status, 503);
      assert.deepEqual((await ready.json()).failing, ['blobs']);
      // The rendition may come from what this instance holds in memory; the upload has to reach S3.
      assert.ok([200, 503].includes(rendition.status), `rendition: ${rendition.status}`);
      for (const response of rendition.status === 503 ? [stored, rendition] : [stored]) {
        assert.equal(response.status, 503);
        assert.equal((await response.json()).error, 'storage_unavailable');
        assert.ok(Number(response.headers.get('retry-after')) > 0);
      }
    } finally {
      s3.resume();
    }
    await eventually(async () => (await jacket.get(`/b/id/${fresh[1]}-S.jpg`)).status === 200, 10_000, 'renditions made again once S3 answers');
  });
});
