import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { form } from './helpers/images.ts';
import { runJacket, spawnJacket, type JacketProcess } from './helpers/process.ts';
import { ADMIN_TOKEN, makeTempDir } from './helpers/server.ts';

const dirs: string[] = [];
const children: JacketProcess[] = [];
after(async () => {
  for (const jacket of children) if (jacket.child.exitCode === null && jacket.child.signalCode === null) jacket.child.kill('SIGKILL');
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const dir = await makeTempDir('jacket-lifecycle-');
  dirs.push(dir);
  return dir;
}

async function start(env: Record<string, string>, via: 'binary' | 'npm' = 'binary'): Promise<JacketProcess> {
  const jacket = await spawnJacket(env, { via });
  children.push(jacket);
  return jacket;
}

/** A PNG of random noise: every one distinct, and large enough (~120 kB) that writing it takes a moment. */
async function noiseImage(size = 200): Promise<Buffer> {
  return sharp(randomBytes(size * size * 3), { raw: { width: size, height: size, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
}

async function multipart(bytes: Buffer): Promise<{ body: Buffer; contentType: string }> {
  const response = new Response(form({ data: { bytes, type: 'image/png', filename: 'cover.png' } }));
  return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type')! };
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, limitMs = 10_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function served(url: string, id: number): Promise<Buffer | undefined> {
  const response = await fetch(`${url}/b/id/${id}.jpg`);
  return response.status === 200 ? Buffer.from(await response.arrayBuffer()) : undefined;
}

/** Processes (other than this one) whose environment names `dataDir`: what a server started on it leaves running. */
async function processesUsing(dataDir: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const environ = await fs.readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').includes(`JACKET_DATA_DIR=${dataDir}`)) found.push(Number(entry));
  }
  return found;
}

for (const via of ['binary', 'npm'] as const) {
test(`SIGTERM with an upload in flight (${via === 'npm' ? 'to `npm start`' : 'to `jacket serve`'}): no new connections, the upload completes, exit 0, nothing left running`, async () => {
  const dir = await dataDir();
  const jacket = await start({ JACKET_DATA_DIR: dir }, via);
  const image = await noiseImage();
  const { body, contentType } = await multipart(image);
  const { port } = new URL(jacket.url);

  const answer = new Promise<{ status: number; body: string; requestId: string | undefined }>((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/b/upload2',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': contentType, 'content-length': body.length, 'x-request-id': 'upload-in-flight' },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text, requestId: response.headers['x-request-id'] as string | undefined }));
      },
    );
    request.on('error', reject);
    request.write(body.subarray(0, body.length >> 1));
    // The rest is sent only after the server has begun shutting down.
    void waitFor(() => jacket.lines.some((line) => line.includes('shutting down')), 'the shutdown to start').then(async () => {
      await waitFor(async () => fetch(`${jacket.url}/healthz`).then(() => false, () => true), 'the listener to close');
      request.end(body.subarray(body.length >> 1));
    }, reject);
  });

  // The server has the request (its log says so) before the signal arrives.
  await waitFor(() => jacket.lines.some((line) => line.includes('"reqId":"upload-in-flight"')), 'the upload to reach the server');
  jacket.child.kill('SIGTERM');

  const result = await answer;
  assert.equal(result.status, 200, result.body);
  assert.equal(result.requestId, 'upload-in-flight');
  const { id } = JSON.parse(result.body);
  assert.equal(await jacket.exited, 0);
  // `npm start` used to end at once while the server it started kept the port: nothing may outlive the exit.
  assert.deepEqual(await processesUsing(dir), []);
  await assert.rejects(fetch(`${jacket.url}/healthz`), 'the port is released');

  // Structured JSON logs carry the request id.
  const logged = jacket.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
  assert.ok(logged.some((entry) => entry.reqId === 'upload-in-flight' && entry.res?.statusCode === 200));
  assert.ok(logged.some((entry) => entry.msg === 'shut down cleanly'));

  const again = await start({ JACKET_DATA_DIR: dir });
  assert.ok((await served(again.url, id))?.equals(image), 'the upload finished during shutdown is served');
  again.child.kill('SIGINT');
  assert.equal(await again.exited, 0, 'SIGINT shuts down cleanly too');
});
}

test('kill -9 during concurrent uploads: fsck is clean and every acknowledged upload is served byte-identical', async () => {
  const dir = await dataDir();
  const jacket = await start({ JACKET_DATA_DIR: dir});
  const images = await Promise.all(Array.from({ length: 48 }, () => noiseImage()));
  const bodies = await Promise.all(images.map(multipart));
  const acknowledged = new Map<number, Buffer>();
  let next = 0;
  let killed = false;

  const worker = async () => {
    while (!killed && next < images.length) {
      const index = next++;
      try {
        const response = await fetch(`${jacket.url}/b/upload2`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': bodies[index]!.contentType },
          body: new Uint8Array(bodies[index]!.body),
        });
        const text = await response.text();
        if (response.status === 200) acknowledged.set(JSON.parse(text).id, images[index]!);
      } catch {
        // The connection died with the process: this upload was never acknowledged.
      }
      if (!killed && acknowledged.size >= 12) {
        killed = true;
        jacket.child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  assert.equal(await jacket.exited, 'SIGKILL');
  assert.ok(acknowledged.size >= 12);

  const check = await runJacket(['fsck', '--json'], { JACKET_DATA_DIR: dir });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  const report = JSON.parse(check.stdout);
  assert.deepEqual(report.missing, []);
  assert.deepEqual(report.corrupt, []);
  assert.ok(report.referencesChecked >= acknowledged.size);

  const again = await start({ JACKET_DATA_DIR: dir});
  for (const [id, image] of acknowledged) assert.ok((await served(again.url, id))?.equals(image), `cover ${id} is served intact`);
  again.child.kill('SIGTERM');
  assert.equal(await again.exited, 0);
});

test('JACKET_SHUTDOWN_TIMEOUT bounds the wait for a request that never finishes', async () => {
  const jacket = await start({ JACKET_DATA_DIR: await dataDir(), JACKET_SHUTDOWN_TIMEOUT: '1' });
  const { body, contentType } = await multipart(await noiseImage(64));
  const { port } = new URL(jacket.url);
  const request = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/b/upload2',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': contentType, 'content-length': body.length, 'x-request-id': 'stalled-upload' },
  });
  request.on('error', () => {}); // the server gives up on it
  request.write(body.subarray(0, 100)); // and never the rest
  await waitFor(() => jacket.lines.some((line) => line.includes('"reqId":"stalled-upload"')), 'the upload to reach the server');
  jacket.child.kill('SIGTERM');
  assert.equal(await jacket.exited, 1, 'a forced exit says so');
  assert.ok(jacket.lines.some((line) => line.includes('shutdown timeout reached')));
  request.destroy();
});
