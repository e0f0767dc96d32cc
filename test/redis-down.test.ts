import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { makeTempDir } from './helpers/server.ts';
import { freePort } from './helpers/ports.ts';

const NODE = new URL('../node_modules/.bin/node', import.meta.url).pathname;
const JACKET = new URL('../bin/jacket.js', import.meta.url).pathname;


test('an instance whose Redis cannot be reached starts, serves and takes uploads, and says it counts limits per instance', async (t) => {
  const [port, deadRedisPort, dataDir] = await Promise.all([freePort(), freePort(), makeTempDir('jacket-noredis-')]);
  const child = spawn(NODE, [JACKET, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      JACKET_DATA_DIR: dataDir,
      JACKET_ADMIN_TOKEN: 'no-redis-admin',
      REDIS_URL: `redis://127.0.0.1:${deadRedisPort}`,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    child.kill('SIGTERM');
    await exited;
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    assert.equal(child.exitCode, null, `jacket exited: ${output}`);
    try {
      await (await fetch(`${url}/`)).arrayBuffer();
      break;
    } catch {
      assert.ok(Date.now() < deadline, `jacket did not answer within 30 s: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const original = await makeImage(200, 320);
  const upload = await fetch(`${url}/b/upload2`, { method: 'POST', headers: { authorization: 'Bearer no-redis-admin' }, body: form({ olid: 'OL1M', data: { bytes: original, type: 'image/jpeg' } }) });
  assert.equal(upload.status, 200);
  const { id } = await upload.json();
  const served = await fetch(`${url}/b/id/${id}.jpg`);
  assert.equal(served.status, 200);
  assert.ok(Buffer.from(await served.arrayBuffer()).equals(original));
  assert.equal((await fetch(`${url}/b/olid/OL1M-M.jpg?default=false`)).status, 200);
  assert.match(output, /Redis unavailable.*count per instance/);
});
