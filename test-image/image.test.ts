// The container image, run as a runtime would run it: scripts/image-test.sh builds it, mounts its root file system
// (with /proc, /dev and a host folder as the /data volume) and runs this file in a network namespace of its own.
// Not part of `npm test`: building takes minutes. Run `scripts/image-test.sh` (root), as .ci/run does.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { form } from '../test/helpers/images.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run scripts/image-test.sh, which builds the image and runs this test`);
  return value;
}
const ROOT = required('JACKET_IMAGE_ROOT');
const DATA = required('JACKET_IMAGE_DATA');
const MAX_BYTES = Number(required('JACKET_IMAGE_MAX_BYTES'));
const inspected = JSON.parse(fs.readFileSync(required('JACKET_IMAGE_CONFIG'), 'utf8'))[0];
const config = inspected.Config as {
  User: string;
  Env: string[];
  Entrypoint?: string[];
  Cmd: string[];
  WorkingDir: string;
  Volumes?: Record<string, object>;
  ExposedPorts?: Record<string, object>;
  StopSignal?: string;
};
const healthcheck = (inspected.HealthCheck ?? inspected.Healthcheck) as { Test: string[] } | undefined;
const env = Object.fromEntries(config.Env.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
const URL_BASE = `http://127.0.0.1:${env.PORT}`;

/** The image's user as uid:gid, from the image's own /etc/passwd (what a runtime does with `User`). */
function userspec(): string {
  const [name, group] = config.User.split(':');
  const entry = fs.readFileSync(path.join(ROOT, 'etc/passwd'), 'utf8').split('\n').map((line) => line.split(':')).find((fields) => fields[0] === name || fields[2] === name);
  assert.ok(entry, `user ${config.User} is not in the image's /etc/passwd`);
  return `${entry[2]}:${group ?? entry[3]}`;
}

/** A process in the image: chroot into it, as its user, with exactly its Env, in its WorkingDir. */
function inImage(argv: string[], stdio: 'pipe' | 'ignore' = 'pipe'): ChildProcess {
  const envArgs = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  return spawn('chroot', [`--userspec=${userspec()}`, ROOT, '/usr/bin/env', '-i', '-C', config.WorkingDir || '/', ...envArgs, ...argv], { stdio: ['ignore', stdio, stdio] });
}

interface Server {
  child: ChildProcess;
  out: string[];
  exited: Promise<number | string>;
}
const servers: Server[] = [];
after(() => {
  for (const server of servers) if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
});

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, limitMs = 30_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `docker run`: Entrypoint + Cmd, and wait until /readyz answers 200. */
async function run(): Promise<Server> {
  const child = inImage([...(config.Entrypoint ?? []), ...config.Cmd]);
  const out: string[] = [];
  let buffered = '';
  const take = (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    out.push(...lines);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const server = { child, out, exited };
  servers.push(server);
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor(async () => {
    if (gone) throw new Error(`the image's command exited:\n${out.join('\n')}`);
    return fetch(`${URL_BASE}/readyz`).then((r) => r.status === 200, () => false);
  }, 'the server to be ready');
  return server;
}

async function noise(size = 200): Promise<Buffer> {
  return sharp(randomBytes(size * size * 3), { raw: { width: size, height: size, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
}

async function multipart(bytes: Buffer): Promise<{ body: Buffer; contentType: string }> {
  const response = new Response(form({ data: { bytes, type: 'image/png', filename: 'cover.png' } }));
  return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type')! };
}

let token = '';
const uploaded = new Map<number, Buffer>();


/** An upload whose first half is sent at once and whose second half only once `between` has resolved: an upload in flight. */
function uploadInTwoHalves(
  upload: { token: string; requestId: string; body: Buffer; contentType: string },
  between: () => Promise<void>,
): Promise<{ status: number; body: string }> {
  const { token, requestId, body, contentType } = upload;
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port: Number(env.PORT), method: 'POST', path: '/b/upload2', headers: { authorization: `Bearer ${token}`, 'content-type': contentType, 'content-length': body.length, 'x-request-id': requestId } },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    request.on('error', reject);
    request.write(body.subarray(0, body.length >> 1));
    between().then(() => request.end(body.subarray(body.length >> 1)), reject);
  });
}

test('the image: non-root user, data volume, settings, exec-form command, health check on /readyz, size', () => {
  assert.notEqual(userspec().split(':')[0], '0', 'runs as a non-root user');
  assert.equal(config.User, 'node');
  assert.deepEqual(Object.keys(config.Volumes ?? {}), ['/data']);
  assert.equal(env.JACKET_DATA_DIR, '/data');
  assert.equal(env.HOST, '0.0.0.0');
  assert.equal(env.PORT, '8080');
  assert.ok(config.ExposedPorts?.['8080/tcp']);
  assert.deepEqual(config.Cmd, ['node', 'src/main.ts', 'serve'], 'the server is the main process: no npm, no shell');
  assert.equal(config.StopSignal, 'SIGTERM');
  assert.ok(healthcheck, 'the image has a HEALTHCHECK');
  assert.equal(healthcheck.Test[0], 'CMD');
  assert.equal(healthcheck.Test[1], 'node');
  assert.match(healthcheck.Test.join(' '), /\/readyz/);
  assert.ok(inspected.Size <= MAX_BYTES, `the image is ${inspected.Size} bytes, more than ${MAX_BYTES}`);
  console.log(`image size: ${(inspected.Size / 1e6).toFixed(0)} MB`);
});

test('the final image has no compilers and no development dependencies', () => {
  for (const tool of ['usr/bin/gcc', 'usr/bin/g++', 'usr/bin/cc', 'usr/bin/make']) assert.equal(fs.existsSync(path.join(ROOT, tool)), false, tool);
  const modules = path.join(ROOT, config.WorkingDir, 'node_modules');
  for (const dev of ['typescript', 'node', 'playwright-core', 's3rver', 'autocannon', '@types/node']) assert.equal(fs.existsSync(path.join(modules, dev)), false, dev);
  for (const dependency of ['better-sqlite3', 'sharp', 'fastify']) assert.ok(fs.existsSync(path.join(modules, dependency)), dependency);
  assert.equal(fs.existsSync(path.join(ROOT, config.WorkingDir, 'test')), false, 'tests are not copied');
});

test('its command under chroot: serves on 0.0.0.0:8080 as the node process itself, prints the generated admin token, takes a cover upload, keeps data in /data', async () => {
  const server = await run();
  // chroot, env and the entrypoint exec one another: the process a runtime signals is node.
  assert.equal(fs.readFileSync(`/proc/${server.child.pid}/cmdline`, 'utf8').split('\0')[0], 'node');
  assert.match(fs.readlinkSync(`/proc/${server.child.pid}/exe`), /\/usr\/local\/bin\/node$/);
  assert.equal(fs.readFileSync(`/proc/${server.child.pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1], userspec().split(':')[0]);
  const listening = fs.readFileSync(`/proc/${server.child.pid}/net/tcp`, 'utf8');
  assert.match(listening, /^\s*\d+: 00000000:1F90 00000000:0000 0A /m, 'listens on 0.0.0.0:8080');

  const at = server.out.findIndex((line) => line.includes('administrator token was generated'));
  assert.ok(at >= 0, 'the first start prints a generated administrator token');
  token = server.out.slice(at + 1).find((line) => line.trim() !== '')!.trim();
  assert.match(token, /^\S{20,}$/);

  const health = inImage(healthcheck!.Test.slice(1), 'ignore');
  assert.equal(await new Promise((resolve) => health.once('exit', resolve)), 0, 'the HEALTHCHECK command passes');

  const image = await noise();
  const { body, contentType } = await multipart(image);
  const response = await fetch(`${URL_BASE}/b/upload2`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body: new Uint8Array(body) });
  assert.equal(response.status, 200, await response.clone().text());
  const { id } = (await response.json()) as { id: number };
  uploaded.set(id, image);
  const medium = await fetch(`${URL_BASE}/b/id/${id}-M.jpg`);
  assert.equal(medium.status, 200);
  assert.equal(medium.headers.get('content-type'), 'image/jpeg');
  assert.deepEqual(Buffer.from(await (await fetch(`${URL_BASE}/b/id/${id}.jpg`)).arrayBuffer()), image);

  // The data went to the volume, not into the image's own layer.
  const files = fs.readdirSync(DATA, { recursive: true }).map(String);
  assert.ok(files.some((file) => file.endsWith('.sqlite') || file.endsWith('.db')), `a catalogue in /data: ${files.join(' ')}`);
  assert.ok(files.some((file) => file.startsWith('blobs')), 'images in /data/blobs');

  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
});

test('its command under chroot, SIGTERM with an upload in flight: the upload completes, exit 0, and the next run serves it from /data', async () => {
  const server = await run();
  const image = await noise();
  const { body, contentType } = await multipart(image);
  const answer = uploadInTwoHalves({ token, requestId: 'image-upload-in-flight', body, contentType }, () =>
    waitFor(() => server.out.some((line) => line.includes('shutting down')), 'the shutdown to start'),
  );
  await waitFor(() => server.out.some((line) => line.includes('"reqId":"image-upload-in-flight"')), 'the upload to reach the server');
  server.child.kill('SIGTERM');
  const result = await answer;
  assert.equal(result.status, 200, result.body);
  uploaded.set(JSON.parse(result.body).id, image);
  assert.equal(await server.exited, 0, server.out.slice(-5).join('\n'));
  assert.ok(server.out.some((line) => line.includes('shut down cleanly')));

  const again = await run();
  assert.equal(again.out.some((line) => line.includes('administrator token was generated')), false, 'the token is kept in /data');
  for (const [id, bytes] of uploaded) assert.deepEqual(Buffer.from(await (await fetch(`${URL_BASE}/b/id/${id}.jpg`)).arrayBuffer()), bytes, `cover ${id}`);
  const check = spawnSync('chroot', [`--userspec=${userspec()}`, ROOT, '/usr/bin/env', '-i', '-C', config.WorkingDir, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'node', 'bin/jacket.js', 'fsck', '--json'], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  again.child.kill('SIGTERM');
  assert.equal(await again.exited, 0);
});

// The same image in a real container runtime: podman, with the settings this sandbox needs (scripts/image-test.sh
// says which and why). The container's PID 1 is the server, the volume is a fresh named one, and `podman stop` is
// what `docker stop` does: SIGTERM, then SIGKILL after the timeout.
const PODMAN = JSON.parse(required('JACKET_IMAGE_PODMAN')) as { global: string[]; run: string[]; image: string };
function podman(args: string[]) {
  const result = spawnSync('podman', [...PODMAN.global, ...args], { encoding: 'utf8' });
  if (result.error) throw result.error;
  return result;
}

test('podman run: PID 1 is the server, the named volume keeps the data, the health check passes, podman stop mid-upload exits 0', async () => {
  const name = 'jacket-image-test';
  const volume = 'jacket-image-test-data';
  podman(['rm', '-f', name]);
  podman(['volume', 'rm', '-f', volume]);
  const started = podman(['run', '-d', '--name', name, ...PODMAN.run, '-v', `${volume}:/data`, PODMAN.image]);
  assert.equal(started.status, 0, started.stderr);
  const logs = () => podman(['logs', name]).stdout;
  const ready = () => waitFor(() => fetch(`${URL_BASE}/readyz`).then((r) => r.status === 200, () => false), 'the container to be ready');
  try {
    await ready();
    assert.deepEqual(podman(['exec', name, 'cat', '/proc/1/cmdline']).stdout.split('\0').filter(Boolean), ['node', 'src/main.ts', 'serve']);
    assert.equal(podman(['exec', name, 'id', '-un']).stdout.trim(), 'node');
    const health = podman(['healthcheck', 'run', name]);
    assert.equal(health.status, 0, health.stdout + health.stderr);

    const printed = /shown only this once:\s*\n\s*\n\s+(\S+)/.exec(logs())?.[1];
    assert.ok(printed, 'the token is in the container log');
    const first = await noise(120);
    const upload = await fetch(`${URL_BASE}/b/upload2`, { method: 'POST', headers: { authorization: `Bearer ${printed}` }, body: form({ data: { bytes: first, type: 'image/png' } }) });
    assert.equal(upload.status, 200);
    const firstId = ((await upload.json()) as { id: number }).id;

    const image = await noise();
    const { body, contentType } = await multipart(image);
    let stopper: ChildProcess | undefined;
    const answer = uploadInTwoHalves({ token: printed, requestId: 'podman-upload-in-flight', body, contentType }, async () => {
      await waitFor(() => logs().includes('"reqId":"podman-upload-in-flight"'), 'the upload to reach the server');
      stopper = spawn('podman', [...PODMAN.global, 'stop', '-t', '10', name], { stdio: 'ignore' });
      await waitFor(() => logs().includes('shutting down'), 'the shutdown to start');
    });
    const result = await answer;
    assert.equal(result.status, 200, result.body);
    const inflightId = JSON.parse(result.body).id;
    await new Promise((resolve) => (stopper!.exitCode === null ? stopper!.once('exit', resolve) : resolve(undefined)));
    assert.equal(podman(['inspect', '-f', '{{.State.ExitCode}}', name]).stdout.trim(), '0', logs().split('\n').slice(-5).join('\n'));
    assert.match(logs(), /shut down cleanly/);

    assert.equal(podman(['start', name]).status, 0);
    await ready();
    assert.deepEqual(Buffer.from(await (await fetch(`${URL_BASE}/b/id/${firstId}.jpg`)).arrayBuffer()), first);
    assert.deepEqual(Buffer.from(await (await fetch(`${URL_BASE}/b/id/${inflightId}.jpg`)).arrayBuffer()), image);
    assert.equal(logs().match(/shown only this once/g)?.length, 1, 'the second start finds the token in the volume');
    assert.equal(podman(['stop', '-t', '10', name]).status, 0);
    assert.equal(podman(['inspect', '-f', '{{.State.ExitCode}}', name]).stdout.trim(), '0');
  } finally {
    podman(['rm', '-f', name]);
    podman(['volume', 'rm', '-f', volume]);
  }
});

test('podman stop right after podman run (the server still starting, as PID 1): exit 0, no wait for SIGKILL', () => {
  const name = 'jacket-image-test-early-stop';
  const volume = 'jacket-image-test-early-stop-data';
  podman(['rm', '-f', name]);
  podman(['volume', 'rm', '-f', volume]);
  try {
    const started = podman(['run', '-d', '--name', name, ...PODMAN.run, '-v', `${volume}:/data`, PODMAN.image]);
    assert.equal(started.status, 0, started.stderr);
    // Before Node runs any JavaScript (its first few dozen milliseconds) a PID 1 can catch nothing; from then on,
    // through loading and migrating, the stop is kept. 300 ms is well inside start-up, yet past that window.
    spawnSync('sleep', ['0.3']);
    const since = Date.now();
    assert.equal(podman(['stop', '-t', '10', name]).status, 0);
    const logs = podman(['logs', name]).stdout;
    assert.equal(podman(['inspect', '-f', '{{.State.ExitCode}}', name]).stdout.trim(), '0', logs);
    assert.ok(Date.now() - since < 8000, `podman stop took ${Date.now() - since} ms`);
  } finally {
    podman(['rm', '-f', name]);
    podman(['volume', 'rm', '-f', volume]);
  }
});
