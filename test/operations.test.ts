import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { form, makeImage } from './helpers/images.ts';
import { ADMIN_TOKEN, makeTempDir, startJacket, type RunningJacket } from './helpers/server.ts';
import { explainMissing, redisPrefix, TEST_REDIS_URL } from './helpers/backends.ts';
import { freePort } from './helpers/ports.ts';

/** The value of one sample in Prometheus text, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) return Number(match[3]);
  }
  return undefined;
}


async function upload(jacket: RunningJacket, bytes: Buffer): Promise<number> {
  const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ data: { bytes, type: 'image/jpeg' } }) });
  assert.equal(response.status, 200);
  return (await response.json()).id;
}

describe('health and readiness', () => {
  let jacket: RunningJacket;
  before(async () => {
    jacket = await startJacket();
  });
  after(() => jacket.close());

  test('/healthz and /readyz answer 200 JSON when everything is reachable', async () => {
    const health = await jacket.get('/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await jacket.get('/readyz');
    assert.equal(ready.status, 200);
    assert.match(ready.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await ready.json(), { status: 'ready', checks: { database: 'ok', blobs: 'ok', limits: 'ok', disk: 'ok' } });
  });

  test('blob storage down: /readyz is 503 naming it, /healthz stays 200, and recovery is seen', async () => {
    const blobRoot = path.join(jacket.dataDir, 'blobs');
    await fs.rm(blobRoot, { recursive: true, force: true });
    await fs.writeFile(blobRoot, 'not a directory'); // the store can neither create nor use its root
    const ready = await jacket.get('/readyz');
    assert.equal(ready.status, 503);
    const body = await ready.json();
    assert.deepEqual(body.failing, ['blobs']);
    assert.match(body.message, /blobs/);
    assert.equal(body.checks.database, 'ok');
    assert.equal((await jacket.get('/healthz')).status, 200);
    await fs.rm(blobRoot);
    assert.equal((await jacket.get('/readyz')).status, 200);
  });

  test('database down: /readyz is 503 naming the database', async () => {
    const other = await startJacket();
    try {
      await other.services.db.destroy();
      const ready = await other.get('/readyz');
      assert.equal(ready.status, 503);
      const body = await ready.json();
      assert.deepEqual(body.failing, ['database']);
      assert.equal(body.checks.blobs, 'ok');
      assert.equal((await other.get('/healthz')).status, 200);
    } finally {
      await other.close().catch(() => {});
    }
  });
});

describe('metrics and request ids', () => {
  let jacket: RunningJacket;
  before(async () => {
    jacket = await startJacket();
  });
  after(() => jacket.close());

  const scrape = async () => {
    const response = await jacket.get('/metrics');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return response.text();
  };

  test('request, rendition, blob-store and queue metrics are present and move', async () => {
    const coverId = await upload(jacket, await makeImage(600, 900, { color: '#804020' }));
    const before = await scrape();
    const route = { method: 'GET', route: '/b/:key/:file', status_code: '200' };
    const requestsBefore = sample(before, 'http_requests_total', route) ?? 0;
    const madeBefore = sample(before, 'rendition_made_total') ?? 0;
    const memoryHitsBefore = sample(before, 'rendition_hits_total', { tier: 'memory' }) ?? 0;
    assert.equal(sample(before, 'http_requests_total', { method: 'POST', route: '/b/upload2', status_code: '200' }), 1);
    assert.ok((sample(before, 'blob_store_operation_duration_seconds_count', { operation: 'put', outcome: 'ok' }) ?? 0) >= 1);
    assert.equal(sample(before, 'rendition_queue_depth'), 0);

    for (let i = 0; i < 3; i++) assert.equal((await jacket.get(`/b/id/${coverId}-M.jpg`)).status, 200);
    const afterText = await scrape();
    assert.equal(sample(afterText, 'http_requests_total', route), requestsBefore + 3);
    assert.equal(sample(afterText, 'http_request_duration_seconds_count', route), requestsBefore + 3);
    assert.equal(sample(afterText, 'rendition_made_total'), madeBefore + 1);
    assert.equal(sample(afterText, 'rendition_misses_total', { tier: 'store' }), madeBefore + 1);
    assert.equal(sample(afterText, 'rendition_hits_total', { tier: 'memory' }), memoryHitsBefore + 2);
    // Route patterns, never raw URLs: no series names a cover id.
    assert.doesNotMatch(afterText, new RegExp(`route="[^"]*${coverId}-M`));
    assert.ok((sample(afterText, 'process_resident_memory_bytes') ?? 0) > 0);
    // A miss on a local disk finds "not stored yet" without a read (an existence check); serving the original reads it.
    assert.equal((await jacket.get(`/b/id/${coverId}.jpg`)).status, 200);
    assert.ok((sample(await scrape(), 'blob_store_operation_duration_seconds_count', { operation: 'get', outcome: 'ok' }) ?? 0) >= 1);
  });

  test('unmatched URLs share one series; upstream latency and limit refusals are exported for other layers', async () => {
    await jacket.get('/no/such/path/1');
    await jacket.get('/no/such/path/2');
    await jacket.services.metrics.observeUpstream('musicbrainz', async () => 'answer');
    jacket.services.metrics.limitRefusals.inc({ limit: 'keyed-quota' });
    const text = await scrape();
    assert.equal(sample(text, 'http_requests_total', { route: 'unmatched', status_code: '404' }), 2);
    assert.equal(sample(text, 'upstream_request_duration_seconds_count', { upstream: 'musicbrainz', outcome: 'ok' }), 1);
    assert.equal(sample(text, 'limit_refusals_total', { limit: 'keyed-quota' }), 1);
  });

  test('each server has its own registry', async () => {
    const other = await startJacket();
    try {
      const text = await (await other.get('/metrics')).text();
      assert.equal(sample(text, 'limit_refusals_total', { limit: 'keyed-quota' }), undefined);
      assert.equal(sample(text, 'http_requests_total', { method: 'POST', route: '/b/upload2', status_code: '200' }), undefined);
    } finally {
      await other.close();
    }
  });

  test('X-Request-Id: a sane client id is echoed, anything else is replaced by a generated one', async () => {
    const echoed = await jacket.get('/healthz', { headers: { 'x-request-id': 'trace-42.a:b' } });
    assert.equal(echoed.headers.get('x-request-id'), 'trace-42.a:b');
    const generated = await jacket.get('/healthz');
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    for (const insane of ['has space', 'x'.repeat(200), 'quote"s']) {
      const replaced = await jacket.get('/b/id/1-S.jpg', { headers: { 'x-request-id': insane } });
      assert.match(replaced.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    }
  });
});

test('source_url downloads are timed as upstream requests', async () => {
  const image = await makeImage(200, 300);
  const origin = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'image/jpeg' }).end(image));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const jacket = await startJacket({ JACKET_SOURCE_URL_HOSTS: '127.0.0.1', JACKET_SOURCE_URL_ALLOW_PRIVATE: 'true' });
  try {
    const sourceUrl = `http://127.0.0.1:${(origin.address() as net.AddressInfo).port}/cover.jpg`;
    const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ source_url: sourceUrl }) });
    assert.equal(response.status, 200, await response.clone().text());
    const text = await (await jacket.get('/metrics')).text();
    assert.equal(sample(text, 'upstream_request_duration_seconds_count', { upstream: 'source_url', outcome: 'ok' }), 1);
  } finally {
    await jacket.close();
    origin.close();
  }
});

test('JACKET_METRICS_PORT moves /metrics to its own listener', async () => {
  const port = await freePort();
  const jacket = await startJacket({ JACKET_METRICS_PORT: String(port) });
  try {
    assert.equal((await jacket.get('/metrics')).status, 404);
    await jacket.get('/healthz');
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(sample(await response.text(), 'http_requests_total', { route: '/healthz', status_code: '200' }), 1);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 404);
  } finally {
    await jacket.close();
  }
  await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`), 'the metrics listener closes with the app');
});

describe('HTTPS without a proxy', () => {
  let dir: string;
  let cert: Buffer;
  let url: string;
  let close: () => Promise<unknown>;

  before(async () => {
    dir = await makeTempDir('jacket-tls-');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    cert = await fs.readFile(path.join(dir, 'cert.pem'));
    const config = loadConfig({
      JACKET_DATA_DIR: path.join(dir, 'data'),
      JACKET_ADMIN_TOKEN: ADMIN_TOKEN,
      JACKET_TLS_CERT: path.join(dir, 'cert.pem'),
      JACKET_TLS_KEY: path.join(dir, 'key.pem'),
    });
    const { app } = await buildApp(config, { logger: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `https://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
    close = async () => {
      await app.close();
      await fs.rm(dir, { recursive: true, force: true });
    };
  });
  after(() => close());

  test('HTTP/1.1 over TLS', async () => {
    const { status, version, body } = await new Promise<{ status: number; version: string; body: string }>((resolve, reject) => {
      https
        .get(`${url}/healthz`, { ca: cert }, (response) => {
          let text = '';
          response.on('data', (chunk) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, version: response.httpVersion, body: text }));
        })
        .on('error', reject);
    });
    assert.equal(status, 200);
    assert.equal(version, '1.1');
    assert.deepEqual(JSON.parse(body), { status: 'ok' });
  });

  test('HTTP/2 where the client offers it, uploads and image bytes included', async () => {
    const session = http2.connect(url, { ca: cert });
    const request = (headers: http2.OutgoingHttpHeaders, body?: Buffer) =>
      new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        const stream = session.request(headers);
        const chunks: Buffer[] = [];
        let responseHeaders: http2.IncomingHttpHeaders = {};
        stream.on('response', (h) => (responseHeaders = h));
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, body: Buffer.concat(chunks) }));
        stream.on('error', reject);
        stream.end(body);
      });
    try {
      const ready = await request({ ':path': '/readyz', 'x-request-id': 'h2-check' });
      assert.equal(ready.status, 200);
      assert.equal(ready.headers['x-request-id'], 'h2-check');
      const image = await makeImage(400, 640);
      const multipart = new Response(form({ data: { bytes: image, type: 'image/jpeg' } }));
      const uploaded = await request(
        { ':method': 'POST', ':path': '/b/upload2', authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': multipart.headers.get('content-type')! },
        Buffer.from(await multipart.arrayBuffer()),
      );
      assert.equal(uploaded.status, 200, uploaded.body.toString());
      const { id } = JSON.parse(uploaded.body.toString());
      const original = await request({ ':path': `/b/id/${id}.jpg` });
      assert.equal(original.status, 200);
      assert.ok(original.body.equals(image));
    } finally {
      session.close();
    }
  });
});

describe('readiness with Redis configured', () => {
  test('Redis unreachable: /readyz is 503 naming redis, while /healthz is 200 and uploads are still served', async () => {
    const jacket = await startJacket({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    try {
      const ready = await jacket.get('/readyz');
      assert.equal(ready.status, 503);
      const body = await ready.json();
      assert.deepEqual(body.failing, ['redis']);
      assert.equal(body.checks.redis, 'down');
      assert.equal(body.checks.database, 'ok');
      assert.equal((await jacket.get('/healthz')).status, 200);
      const id = await upload(jacket, await makeImage(100, 150));
      assert.equal((await jacket.get(`/b/id/${id}.jpg`)).status, 200, 'the instance keeps serving on per-instance limits');
    } finally {
      await jacket.close();
    }
  });

  if (TEST_REDIS_URL) {
    test('Redis reachable: /readyz is 200 and says redis is ok', async () => {
      const redis = await redisPrefix();
      const jacket = await startJacket({ REDIS_URL: TEST_REDIS_URL!, JACKET_REDIS_PREFIX: redis.prefix });
      try {
        const ready = await jacket.get('/readyz');
        assert.equal(ready.status, 200, await ready.clone().text());
        assert.equal((await ready.json()).checks.redis, 'ok');
      } finally {
        await jacket.close();
        await redis.cleanup();
      }
    });
  } else {
    explainMissing('reachable-Redis readiness', 'TEST_REDIS_URL');
  }
});
