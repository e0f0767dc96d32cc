import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from './helpers/process.ts';
import { ADMIN_TOKEN, makeTempDir } from './helpers/server.ts';
import { createTestDatabase, explainMissing, TEST_DATABASE_URL } from './helpers/backends.ts';

// A container's PID 1 ignores a signal it has no handler for, so `docker stop` while Jacket is still loading or
// migrating used to be lost (and ended in SIGKILL after the grace period). `serve` now catches SIGTERM/SIGINT
// before it loads anything else and acts on a signal from start-up once it can.
const NODE = path.join(REPO_ROOT, 'node_modules/.bin/node');
const children: ChildProcess[] = [];
const dirs: string[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function start(env: Record<string, string>) {
  // What the container image runs: node src/main.ts serve.
  const child = spawn(NODE, ['src/main.ts', 'serve'], {
    cwd: REPO_ROOT,
    env: { ...process.env, JACKET_ADMIN_TOKEN: ADMIN_TOKEN, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, exited, output: () => output };
}

/**
 * A TCP server standing for PostgreSQL that holds every connection without a word until `release()`, then (with a
 * `target`) passes it through to the real server. Its first connection means the server is opening its catalogue:
 * start-up is under way, past the loading of any module.
 */
async function gate(target?: URL) {
  const held: net.Socket[] = [];
  let released = false;
  let connected!: () => void;
  const firstConnection = new Promise<void>((resolve) => (connected = resolve));
  const pass = (socket: net.Socket) => {
    if (!target) return;
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    socket.pipe(upstream).pipe(socket);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  };
  const server = net.createServer((socket) => {
    held.push(socket);
    socket.on('error', () => {});
    connected();
    if (released) pass(socket);
    else socket.pause();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    firstConnection,
    release() {
      released = true;
      for (const socket of held) {
        pass(socket);
        socket.resume();
      }
    },
    close() {
      for (const socket of held) socket.destroy();
      server.close();
    },
  };
}

if (!TEST_DATABASE_URL) explainMissing('PostgreSQL start-up signal', 'TEST_DATABASE_URL');
else test('SIGTERM during start-up (the catalogue being opened): start-up finishes, the server never listens, exit 0', async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const url = new URL(database.url);
  const held = await gate(new URL(database.url));
  t.after(() => held.close());
  const dataDir = await makeTempDir('jacket-startup-signal-');
  dirs.push(dataDir);
  url.hostname = '127.0.0.1';
  url.port = String(held.port);
  const jacket = start({ JACKET_DATA_DIR: dataDir, DATABASE_URL: url.toString() });
  await held.firstConnection;
  jacket.child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 100));
  held.release();
  assert.equal(await jacket.exited, 0, jacket.output());
  assert.match(jacket.output(), /shut down cleanly/);
  assert.doesNotMatch(jacket.output(), /Server listening/);
});

test('SIGTERM while start-up hangs (a database that never answers): exit 1 after JACKET_SHUTDOWN_TIMEOUT', async (t) => {
  const silent = await gate();
  t.after(() => silent.close());
  const { port } = silent;
  const dataDir = await makeTempDir('jacket-startup-hang-');
  dirs.push(dataDir);
  const jacket = start({ JACKET_DATA_DIR: dataDir, DATABASE_URL: `postgres://jacket@127.0.0.1:${port}/jacket`, JACKET_SHUTDOWN_TIMEOUT: '1' });
  await silent.firstConnection;
  const sent = Date.now();
  jacket.child.kill('SIGTERM');
  assert.equal(await jacket.exited, 1, jacket.output());
  assert.match(jacket.output(), /SIGTERM during start-up, which did not finish within JACKET_SHUTDOWN_TIMEOUT/);
  assert.ok(Date.now() - sent < 2900, `exited ${Date.now() - sent} ms after the signal`);
});

test('other commands keep the default: SIGTERM ends them at once', async () => {
  const child = spawn(NODE, ['src/main.ts', 'admin-token', 'reset'], { cwd: REPO_ROOT, env: { ...process.env, JACKET_DATA_DIR: '/nonexistent/jacket' }, stdio: 'ignore' });
  children.push(child);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  child.kill('SIGTERM');
  assert.equal(await exited, 'SIGTERM');
});
