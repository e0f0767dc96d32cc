import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { form, makeImage } from './helpers/images.ts';
import { makeTempDir } from './helpers/server.ts';
import { freePort } from './helpers/ports.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODE = path.join(ROOT, 'node_modules', '.bin', 'node');

/** The environment of a user's shell: without the test runner's own variables (which would make the child a test). */
function userEnv(): Record<string, string | undefined> {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('NODE_TEST_')) delete env[name];
  delete env.NODE_OPTIONS;
  return env;
}


interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Start the real command and wait until it answers on its port. */
async function startCommand(command: string, args: string[], env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...userEnv(), PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jacket exited early (${child.exitCode}): ${output}`);
    try {
      await fetch(`${url}/`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`jacket did not start: ${output} pid=${child.pid} exit=${child.exitCode}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { child, url, output: () => output, exited };
}

describe('the jacket command', () => {
  const started: Started[] = [];
  after(async () => {
    for (const run of started) if (run.child.exitCode === null) run.child.kill('SIGKILL');
  });

  test('`node bin/jacket.js serve` and `bin/jacket.js` serve / and the API; the generated admin token is printed once and works', async () => {
    const dataDir = await makeTempDir();
    try {
      const first = await startCommand(NODE, ['bin/jacket.js', 'serve'], { JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: '' });
      started.push(first);
      const home = await fetch(`${first.url}/`);
      assert.equal(home.status, 200);
      assert.match(home.headers.get('content-type') ?? '', /^text\/html/);
      const html = await home.text();
      assert.match(html, /<title>Jacket/);
      assert.match(html, /href="\/docs"/, "the home page links to the API documentation");
      const token = /shown only this once:\s+(\S+)/.exec(first.output())?.[1];
      assert.ok(token, first.output());
      const upload = await fetch(`${first.url}/b/upload2`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form({ olid: 'OL1M', isbn: '0385472579', data: { bytes: await makeImage(200, 300) } }),
      });
      assert.equal(upload.status, 200);
      assert.equal((await fetch(`${first.url}/b/isbn/978-0-385-47257-9-M.jpg?default=false`)).status, 200);
      first.child.kill('SIGTERM');
      assert.equal(await first.exited, 0);

      // Same data directory, started the way `npx jacket` starts it (the executable, `serve` being the default): the
      // token is not shown again, the stored hash still accepts it, the cover is still there.
      const second = await startCommand(path.join(ROOT, 'bin', 'jacket.js'), [], { JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: '' });
      started.push(second);
      assert.doesNotMatch(second.output(), /shown only this once/);
      assert.doesNotMatch(second.output(), new RegExp(token));
      assert.equal((await fetch(`${second.url}/b/olid/OL1M-S.jpg?default=false`)).status, 200);
      const touch = await fetch(`${second.url}/b/touch`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: new URLSearchParams({ id: '1' }) });
      assert.equal(touch.status, 200);
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  test('a bad setting is a clear error and exit code 2', async () => {
    const child = spawn(NODE, ['bin/jacket.js', 'serve'], { cwd: ROOT, env: { ...userEnv(), PORT: 'eighty', JACKET_DATA_DIR: await makeTempDir() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 2);
    assert.match(stderr, /PORT must be a whole number/);
  });
});
