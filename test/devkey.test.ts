import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BLANK_GIF } from '../src/http/common.ts';
import { maskKeys } from '../src/http/devkey.ts';
import { nextUtcMidnight } from '../src/limits/rate.ts';
import { dimensionsOf, form, makeImage } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

async function upload(jacket: RunningJacket, bytes: Buffer, isbn: string, type = 'image/jpeg'): Promise<number> {
  const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ isbn, data: { bytes, type } }) });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()).id;
}

async function createKey(jacket: RunningJacket, body: Record<string, unknown>): Promise<{ key: string; id: string }> {
  const response = await jacket.get('/api/v1/keys', {
    method: 'POST',
    headers: { ...jacket.admin, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return response.json();
}

async function usage(jacket: RunningJacket, key: string) {
  const response = await jacket.get(`/devkey/${key}/usage`);
  assert.equal(response.status, 200);
  return response.json();
}

describe('LibraryThing-style keyed covers', () => {
  let jacket: RunningJacket;
  let key: string;
  let tallOriginal: Buffer;
  let wideOriginal: Buffer;

  before(async () => {
    jacket = await startJacket();
    tallOriginal = await makeImage(1200, 1920);
    wideOriginal = await makeImage(1500, 1000, { format: 'png' });
    await upload(jacket, tallOriginal, '0385472579');
    await upload(jacket, wideOriginal, '9780140328721', 'image/png');
    await upload(jacket, await makeImage(100, 60), '0306406152');
    ({ key } = await createKey(jacket, { name: 'Sizes', dailyLimit: 100 }));
  });
  after(() => jacket.close());

  test('small, medium and large are JPEGs with longest side 75, 160 and 500', async () => {
    const expected = {
      '0385472579': { small: [47, 75], medium: [100, 160], large: [313, 500] },
      '9780140328721': { small: [75, 50], medium: [160, 107], large: [500, 333] },
      '0306406152': { small: [75, 45], medium: [100, 60], large: [100, 60] },
    } as const;
    for (const [isbn, sizes] of Object.entries(expected)) {
      for (const [size, [width, height]] of Object.entries(sizes)) {
        const response = await jacket.get(`/devkey/${key}/${size}/isbn/${isbn}`);
        assert.equal(response.status, 200, `${isbn} ${size}`);
        assert.equal(response.headers.get('content-type'), 'image/jpeg');
        assert.deepEqual(await dimensionsOf(await response.arrayBuffer()), { width, height, format: 'jpeg' }, `${isbn} ${size}`);
      }
    }
  });

  test('original is the uploaded file, byte-identical, with its own type', async () => {
    const response = await jacket.get(`/devkey/${key}/original/isbn/9780140328721`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'image/png');
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(wideOriginal));
  });

  test('ISBN-10, ISBN-13 and hyphenated forms find the same cover', async () => {
    for (const isbn of ['0385472579', '978-0-385-47257-9', '9780385472579', '0-385-47257-9']) {
      const response = await jacket.get(`/devkey/${key}/medium/isbn/${isbn}`);
      assert.equal(response.status, 200, isbn);
      assert.deepEqual(await dimensionsOf(await response.arrayBuffer()), { width: 100, height: 160, format: 'jpeg' });
    }
  });

  test('no cover: a transparent 1×1 GIF with 200, or 404 with ?default=false', async () => {
    for (const isbn of ['0000000000', 'not-an-isbn']) {
      const response = await jacket.get(`/devkey/${key}/medium/isbn/${isbn}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'image/gif');
      const bytes = Buffer.from(await response.arrayBuffer());
      assert.ok(bytes.equals(BLANK_GIF));
      assert.deepEqual(await dimensionsOf(bytes), { width: 1, height: 1, format: 'gif' });
      // Graphic Control Extension with the transparency flag set: the pixel is see-through.
      const gce = bytes.indexOf(Buffer.from([0x21, 0xf9, 0x04]));
      assert.ok(gce > 0 && (bytes[gce + 3]! & 1) === 1);
    }
    const missing = await jacket.get(`/devkey/${key}/medium/isbn/0000000000?default=false`);
    assert.equal(missing.status, 404);
    const repeated = await jacket.get(`/devkey/${key}/medium/isbn/0000000000?default=false&default=false`);
    assert.equal(repeated.status, 404, 'a repeated parameter counts by its first value (no 500)');
    assert.equal((await usage(jacket, key)).counted >= 0, true);
  });

  test('unknown and revoked keys get 403 with a one-line reason; unknown sizes 404', async () => {
    const unknown = await jacket.get('/devkey/not-a-key/medium/isbn/0385472579');
    assert.equal(unknown.status, 403);
    assert.match(unknown.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await unknown.text(), /^Unknown developer key[^\n]*\n$/);
    const { key: doomed, id } = await createKey(jacket, { name: 'Doomed' });
    assert.equal((await jacket.get(`/devkey/${doomed}/small/isbn/0385472579`)).status, 200);
    assert.equal((await jacket.get(`/api/v1/keys/${id}`, { method: 'DELETE', headers: jacket.admin })).status, 200);
    const revoked = await jacket.get(`/devkey/${doomed}/small/isbn/0385472579`);
    assert.equal(revoked.status, 403);
    assert.match(await revoked.text(), /^This developer key was revoked on [^\n]*\n$/);
    assert.equal((await jacket.get(`/devkey/${doomed}/usage`)).status, 403);
    assert.equal((await jacket.get(`/devkey/${doomed}/medium/isbn/0000000000`)).status, 403, 'even for a missing cover');
    assert.equal((await jacket.get(`/devkey/${key}/huge/isbn/0385472579`)).status, 404);
  });

  test('the daily quota counts only renditions made now, and serves made ones over the limit', async () => {
    await upload(jacket, await makeImage(1000, 1500, { color: '#aa3300' }), '9781861972712');
    const { key: limited } = await createKey(jacket, { name: 'Limited', dailyLimit: 2 });
    const { key: other } = await createKey(jacket, { name: 'Other', dailyLimit: 2 });
    const url = (k: string, size: string) => `/devkey/${k}/${size}/isbn/9781861972712`;

    assert.equal((await jacket.get(url(limited, 'small'))).status, 200);
    assert.equal((await usage(jacket, limited)).counted, 1, 'the small rendition was made: counted');
    assert.equal((await jacket.get(url(limited, 'small'))).status, 200);
    assert.equal((await jacket.get(url(other, 'small'))).status, 200);
    assert.equal((await usage(jacket, limited)).counted, 1, 'served again: free');
    assert.equal((await usage(jacket, other)).counted, 0, 'made by someone else: free');
    assert.equal((await jacket.get(url(limited, 'original'))).status, 200);
    assert.equal((await jacket.get(url(limited, 'medium'))).status, 200);
    assert.equal((await jacket.get(`/devkey/${limited}/small/isbn/0000000000`)).status, 200, 'blank GIF');
    const full = await usage(jacket, limited);
    assert.equal(full.counted, 2);
    assert.equal(full.remaining, 0);

    const before = Date.now();
    const refused = await jacket.get(url(limited, 'large'));
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('etag'), null, 'a refusal carries no cover validators');
    const retryAfter = Number(refused.headers.get('retry-after'));
    const expected = Math.ceil((nextUtcMidnight(before) - before) / 1000);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && Math.abs(retryAfter - expected) <= 2, `Retry-After ${retryAfter}, expected ≈${expected}`);
    assert.match(await refused.text(), /Daily limit/);

    for (const size of ['small', 'medium', 'original']) assert.equal((await jacket.get(url(limited, size))).status, 200, `${size} is already made: free over the limit`);
    assert.equal((await usage(jacket, limited)).counted, 2, 'a refusal is not counted either');

    // The other key still has its quota: it makes the large one, after which it is free for the limited key too.
    assert.equal((await jacket.get(url(other, 'large'))).status, 200);
    const large = await jacket.get(url(limited, 'large'));
    assert.equal(large.status, 200);
    assert.deepEqual(await dimensionsOf(await large.arrayBuffer()), { width: 333, height: 500, format: 'jpeg' });
  });

  test('concurrent requests cannot overshoot the quota', async () => {
    const isbns = ['9780000000002', '9780000000019', '9780000000026', '9780000000033', '9780000000040'];
    for (const [i, isbn] of isbns.entries()) await upload(jacket, await makeImage(400 + i, 600), isbn);
    const { key: racer } = await createKey(jacket, { name: 'Racer', dailyLimit: 2 });
    const statuses = await Promise.all(isbns.map(async (isbn) => {
      const response = await jacket.get(`/devkey/${racer}/small/isbn/${isbn}`);
      await response.arrayBuffer();
      return response.status;
    }));
    assert.deepEqual(statuses.toSorted(), [200, 200, 429, 429, 429]);
    assert.equal((await usage(jacket, racer)).counted, 2);
  });

  test('usage: counted today, limit, remaining and the UTC-midnight reset', async () => {
    const { key: fresh, id } = await createKey(jacket, { name: 'Usage' });
    const body = await usage(jacket, fresh);
    assert.deepEqual(body, { key: id, counted: 0, limit: 1000, remaining: 1000, resetAt: new Date(nextUtcMidnight(Date.now())).toISOString() });
    assert.match(body.resetAt, /T00:00:00\.000Z$/);
  });

  test('an optional per-key request rate answers 429 with Retry-After', async () => {
    const { key: slow } = await createKey(jacket, { name: 'Robot', rateLimit: '1/1d' });
    assert.equal((await jacket.get(`/devkey/${slow}/small/isbn/0385472579`)).status, 200);
    const refused = await jacket.get(`/devkey/${slow}/small/isbn/0385472579`);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal((await jacket.get(`/devkey/${key}/small/isbn/0385472579`)).status, 200, 'keys without a rate are not limited');
  });
});

describe('keyed covers without a memory cache', () => {
  test('a rendition already in the blob store is free over the limit; the server-wide daily default applies', async () => {
    const jacket = await startJacket({ JACKET_RENDITION_CACHE_MB: '0', JACKET_DEVKEY_DAILY_LIMIT: '1' });
    try {
      await upload(jacket, await makeImage(800, 1200), '0385472579');
      const { key } = await createKey(jacket, { name: 'Default limit' });
      assert.equal((await usage(jacket, key)).limit, 1);
      assert.equal((await jacket.get(`/devkey/${key}/medium/isbn/0385472579`)).status, 200);
      assert.equal((await jacket.get(`/devkey/${key}/small/isbn/0385472579`)).status, 429);
      for (let i = 0; i < 3; i++) assert.equal((await jacket.get(`/devkey/${key}/medium/isbn/0385472579`)).status, 200);
      assert.equal((await usage(jacket, key)).counted, 1);
    } finally {
      await jacket.close();
    }
  });
});

describe('request logs', () => {
  test('maskKeys hides secrets but keeps public ids and the rest of the URL', () => {
    assert.equal(maskKeys('/devkey/AbC-_1/medium/isbn/0385472579?default=false'), '/devkey/***/medium/isbn/0385472579?default=false');
    assert.equal(maskKeys('/devkey/AbC/usage'), '/devkey/***/usage');
    assert.equal(maskKeys('/b/isbn/1-S.jpg?default=false&key=secret&x=1'), '/b/isbn/1-S.jpg?default=false&key=***&x=1');
    assert.equal(maskKeys('/api/v1/keys/k_0123456789abcdef'), '/api/v1/keys/k_0123456789abcdef');
    assert.equal(maskKeys('/api/v1/keys/signup'), '/api/v1/keys/signup');
    assert.equal(maskKeys('/api/v1/keys/someSecret'), '/api/v1/keys/***');
    // Every path form a client can send: repeated slashes and case (the request log line is written for each).
    assert.equal(maskKeys('//devkey/AbC/medium/isbn/1'), '//devkey/***/medium/isbn/1');
    assert.equal(maskKeys('/devkey//AbC/medium/isbn/1'), '/devkey//***/medium/isbn/1');
    assert.equal(maskKeys('/DevKey/AbC/usage'), '/DevKey/***/usage');
    assert.equal(maskKeys('//api//v1/keys/someSecret'), '//api//v1/keys/***');
  });

  test('never hold a key secret: the keyed path, ?key= and the revoke URL are masked', async () => {
    const { Writable } = await import('node:stream');
    const { buildApp } = await import('../src/app.ts');
    const { loadConfig } = await import('../src/config.ts');
    const { makeTempDir, ADMIN_TOKEN } = await import('./helpers/server.ts');
    const fs = await import('node:fs/promises');
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const dataDir = await makeTempDir();
    const { app } = await buildApp(loadConfig({ JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: ADMIN_TOKEN }), { logger: { level: 'info', stream } });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      if (!address || typeof address === 'string') throw new Error('no address');
      const base = `http://127.0.0.1:${address.port}`;
      const created = await fetch(`${base}/api/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Logged' }),
      });
      const { key } = await created.json();
      assert.equal((await fetch(`${base}/devkey/${key}/small/isbn/0000000000`)).status, 200);
      assert.equal((await fetch(`${base}/b/isbn/0000000000-S.jpg?key=${key}`)).status, 200);
      assert.equal((await fetch(`${base}/api/v1/keys/${key}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status, 200);
      const log = lines.join('');
      assert.match(log, /\/devkey\/\*\*\*\/small\/isbn\/0000000000/);
      assert.match(log, /\?key=\*\*\*/);
      assert.match(log, /\/api\/v1\/keys\/\*\*\*/);
      assert.ok(!log.includes(key), 'the secret is not in the log');
    } finally {
      await app.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
