import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, explainMissing, redisPrefix, startS3, TEST_DATABASE_URL, TEST_REDIS_URL, type TestDatabase, type TestS3 } from './helpers/backends.ts';
import { dimensionsOf, form, makeImage } from './helpers/images.ts';
import { makeTempDir } from './helpers/server.ts';
import { freePort } from './helpers/ports.ts';

const ADMIN = 'multi-instance-admin-token';
const NODE = new URL('../node_modules/.bin/node', import.meta.url).pathname;
const JACKET = new URL('../bin/jacket.js', import.meta.url).pathname;

interface Instance {
  name: string;
  url: string;
  child: ChildProcess;
  stderr: string[];
  exited: Promise<number | null>;
  get(pathname: string, init?: RequestInit): Promise<Response>;
}


/** `jacket serve` as its own process, as an operator runs it; resolves once it answers HTTP. */
async function spawnJacket(name: string, env: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const child = spawn(NODE, [JACKET, 'serve'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const instance: Instance = { name, url, child, stderr, exited, get: (pathname, init) => fetch(url + pathname, { redirect: 'manual', ...init }) };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${stderr.join('')}`);
    try {
      await (await fetch(`${url}/`)).arrayBuffer();
      return instance;
    } catch {
      if (Date.now() > deadline) throw new Error(`${name} did not answer within 30 s: ${stderr.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function stop(instance: Instance | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!instance || instance.child.exitCode !== null || instance.child.signalCode !== null) return;
  instance.child.kill(signal);
  await instance.exited;
}

async function upload(instance: Instance, fields: Parameters<typeof form>[0]): Promise<number> {
  const response = await instance.get('/b/upload2', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` }, body: form(fields) });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.id;
}

async function bytesOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

const databaseServer = TEST_DATABASE_URL;
const redisUrl = TEST_REDIS_URL;
if (databaseServer && redisUrl) {
  describe('two Jacket processes on PostgreSQL + S3 (s3rver) + Redis', () => {
    let database: TestDatabase;
    let s3: TestS3;
    let redis: Awaited<ReturnType<typeof redisPrefix>>;
    let dataDir: string;
    let a: Instance;
    let b: Instance;

    before(async () => {
      [database, s3, redis, dataDir] = await Promise.all([createTestDatabase(databaseServer), startS3(), redisPrefix(redisUrl), makeTempDir('jacket-multi-')]);
      const env = {
        DATABASE_URL: database.url,
        ...s3.env('multi/'),
        REDIS_URL: redisUrl,
        JACKET_REDIS_PREFIX: redis.prefix,
        JACKET_ADMIN_TOKEN: ADMIN,
        JACKET_DATA_DIR: dataDir,
        JACKET_OL_RATE_LIMIT: '20/10m',
        LOG_LEVEL: 'warn',
      };
      // Both start at the same moment on an empty database: migrations must not trip over each other.
      [a, b] = await Promise.all([spawnJacket('A', env), spawnJacket('B', env)]);
    });

    after(async () => {
      await Promise.all([stop(a), stop(b)]);
      await Promise.allSettled([database?.drop(), s3?.close(), redis?.cleanup(), dataDir && fs.rm(dataDir, { recursive: true, force: true })]);
    });

    test('an upload on A is served by B at once: original, renditions, identifier lookups', async () => {
      const original = await makeImage(600, 960, { color: '#aa3355' });
      const id = await upload(a, { olid: 'OL7M', isbn: '9780385472579', data: { bytes: original, type: 'image/jpeg' } });
      const fromB = await b.get(`/b/id/${id}.jpg`);
      assert.equal(fromB.status, 200);
      assert.ok((await bytesOf(fromB)).equals(original), 'B serves the original byte-identical');
      const medium = await b.get('/b/isbn/9780385472579-M.jpg');
      assert.equal(medium.status, 200);
      assert.equal(medium.headers.get('etag'), `"${id}-m"`);
      assert.deepEqual(await dimensionsOf(await medium.arrayBuffer()), { width: 180, height: 288, format: 'jpeg' });
      // A rendition B made is stored in the shared bucket, and A serves the same bytes.
      const small = await bytesOf(await b.get(`/b/id/${id}-S.jpg`));
      assert.ok((await bytesOf(await a.get(`/b/id/${id}-S.jpg`))).equals(small));
      const json = await (await b.get(`/b/id/${id}.json`)).json();
      assert.equal(json.olid, 'OL7M');
    });

    test('a delete on A is seen by B within a second, though B had the cover in memory', async () => {
      const id = await upload(a, { olid: 'OL8M', isbn: '9780140449136', data: { bytes: await makeImage(400, 640, { color: '#117744' }), type: 'image/jpeg' } });
      // Warm B: the original and a rendition are now in its memory cache.
      for (const path of [`/b/id/${id}.jpg`, `/b/id/${id}-M.jpg`, '/b/isbn/9780140449136-M.jpg']) {
        assert.equal((await b.get(`${path}?default=false`)).status, 200, path);
        assert.equal((await b.get(`${path}?default=false`)).status, 200, path);
      }
      const deleted = await a.get('/b/delete', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` }, body: new URLSearchParams({ id: String(id) }) });
      assert.equal(deleted.status, 200);
      const deletedAt = Date.now();
      const gone = new Set<string>();
      const paths = [`/b/id/${id}.jpg`, `/b/id/${id}-M.jpg`, '/b/isbn/9780140449136-M.jpg', '/b/olid/OL8M-M.jpg'];
      while (gone.size < paths.length && Date.now() - deletedAt <= 1000) {
        for (const path of paths) if ((await b.get(`${path}?default=false`)).status === 404) gone.add(path);
        if (gone.size < paths.length) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual([...gone].sort(), [...paths].sort(), 'every route on B answers 404 within a second of the delete on A');
      assert.equal((await b.get(`/b/id/${id}.json`)).status, 404);
    });

    test('a touch on A changes which cover B serves for the entity within a second', async () => {
      const older = await upload(a, { olid: 'OL11M', data: { bytes: await makeImage(200, 320, { color: '#010203' }), type: 'image/jpeg' } });
      const newer = await upload(a, { olid: 'OL11M', data: { bytes: await makeImage(200, 320, { color: '#fefdfc' }), type: 'image/jpeg' } });
      assert.equal((await b.get('/b/olid/OL11M.json')).headers.get('location'), `/b/id/${newer}.json`);
      const touched = await a.get('/b/touch', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` }, body: new URLSearchParams({ id: String(older) }) });
      assert.equal(touched.status, 200);
      const touchedAt = Date.now();
      let location: string | null = null;
      while (Date.now() - touchedAt <= 1000) {
        location = (await b.get('/b/olid/OL11M.json')).headers.get('location');
        if (location === `/b/id/${older}.json`) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(location, `/b/id/${older}.json`);
      assert.equal((await b.get('/b/olid/OL11M-S.jpg')).headers.get('etag'), `"${older}-s"`);
    });

    test('the Open Library IP limit is counted once across instances', async () => {
      // 20 identifier lookups per IP in all: alternating between A and B, the 403 comes by the 20th request at the
      // latest (per-instance counters would allow 40), and then both instances refuse.
      let firstRefusal = -1;
      for (let i = 0; i < 40 && firstRefusal < 0; i++) {
        const response = await (i % 2 === 0 ? a : b).get(`/b/isbn/97800000${String(i).padStart(5, '0')}-S.jpg`);
        if (response.status === 403) firstRefusal = i;
        else assert.equal(response.status, 200);
      }
      assert.ok(firstRefusal >= 0 && firstRefusal <= 20, `first 403 at request ${firstRefusal}`);
      assert.equal((await a.get('/b/isbn/9780385472579-S.jpg')).status, 403);
      assert.equal((await b.get('/b/isbn/9780385472579-S.jpg')).status, 403);
      // id lookups are never limited.
      assert.equal((await b.get('/b/id/1-S.jpg')).status, 200);
    });

    test('B keeps serving, and accepting uploads, after A is killed', async () => {
      const original = await makeImage(300, 480, { color: '#334455' });
      const id = await upload(a, { olid: 'OL9M', data: { bytes: original, type: 'image/jpeg' } });
      await stop(a, 'SIGKILL');
      await assert.rejects(fetch(`${a.url}/`), 'A is down');
      assert.ok((await bytesOf(await b.get(`/b/id/${id}.jpg`))).equals(original));
      assert.equal((await b.get(`/b/olid/OL9M-L.jpg?default=false`)).status, 200);
      const next = await upload(b, { olid: 'OL10M', data: { bytes: await makeImage(200, 320), type: 'image/jpeg' } });
      assert.ok(next > id, 'ids keep increasing from the shared sequence');
      assert.equal((await b.get(`/b/id/${next}-S.jpg?default=false`)).status, 200);
    });
  });
} else {
  explainMissing('multi-instance (PostgreSQL + Redis)', !databaseServer ? 'TEST_DATABASE_URL' : 'TEST_REDIS_URL');
}
