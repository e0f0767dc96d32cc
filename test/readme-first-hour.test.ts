import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { dimensionsOf, makeImage } from './helpers/images.ts';
import { REPO_ROOT, spawnJacket, type JacketProcess } from './helpers/process.ts';
import { makeTempDir } from './helpers/server.ts';

// README "First hour", run as written: its first block is the server start (done here as `npm start`, on a free
// port, its output in jacket.log), the others run in order in one bash, in a folder holding the images the section
// asks for. The only change is the address: http://127.0.0.1:8080 becomes the server's.
const README = await fs.readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
const SECTION = README.split(/^## First hour$/m)[1]?.split(/^## /m)[0] ?? '';
const BLOCKS = [...SECTION.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
const ADDRESS = 'http://127.0.0.1:8080';

const dirs: string[] = [];
const servers: JacketProcess[] = [];
after(async () => {
  for (const server of servers) if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});

function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.once('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

test('the first-hour section starts the server, then uses no id it did not capture', () => {
  assert.ok(BLOCKS.length >= 6, `README "First hour" has ${BLOCKS.length} sh blocks`);
  assert.equal(BLOCKS[0], 'npm install\nnpm start 2>&1 | tee jacket.log\n');
  const examples = BLOCKS.slice(1).join('');
  // Cover, image and key ids come from the server: in URLs they are variables, never digits.
  assert.deepEqual(examples.match(/\/(?:b|a|w)\/id\/\d|\/covers\/\d|\/images\/\d|\/keys\/k_/g), null);
  for (const needed of ['/b/upload2', '/a/upload2', '/api/v1/keys', '/api/v1/releases/', '/release/', '/merge']) assert.ok(examples.includes(needed), needed);
});

test('README "First hour" runs in order against a fresh server', async () => {
  const cwd = await makeTempDir('jacket-first-hour-');
  const dataDir = await makeTempDir('jacket-first-hour-data-');
  dirs.push(cwd, dataDir);
  // The images the section asks the reader to have: distinct, so none is a duplicate of another.
  await fs.writeFile(path.join(cwd, 'cover.jpg'), await makeImage(400, 600, { color: '#aa3311' }));
  await fs.writeFile(path.join(cwd, 'author.jpg'), await makeImage(300, 400, { color: '#2255aa' }));
  await fs.writeFile(path.join(cwd, 'front.jpg'), await makeImage(800, 800, { color: '#118833' }));
  await fs.writeFile(path.join(cwd, 'back.jpg'), await makeImage(700, 700, { color: '#777711' }));

  // Block 1: a fresh data folder, no token set, so the first start generates and prints one.
  const server = await spawnJacket({ JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: '' }, { via: 'npm' });
  servers.push(server);
  await fs.writeFile(path.join(cwd, 'jacket.log'), server.lines.join('\n') + '\n');

  const script = ['set -euo pipefail', ...BLOCKS.slice(1)].join('\n').replaceAll(ADDRESS, server.url);
  const env = { ...process.env };
  delete env.JACKET_ADMIN_TOKEN;
  const { code, output } = await bash(script, cwd, env);
  assert.equal(code, 0, output);
  if (process.env.SHOW_FIRST_HOUR) console.log(output);

  // What the steps fetched is what they uploaded, as the sizes say.
  const medium = await dimensionsOf(await fs.readFile(path.join(cwd, 'cover-M.jpg')));
  assert.deepEqual(medium, { width: 180, height: 270, format: 'jpeg' });
  assert.equal((await dimensionsOf(await fs.readFile(path.join(cwd, 'author-M.jpg')))).height, 240);
  assert.equal((await dimensionsOf(await fs.readFile(path.join(cwd, 'front-250.jpg')))).width, 250);
  assert.equal((await dimensionsOf(await fs.readFile(path.join(cwd, 'group-front.jpg')))).width, 800);
  assert.deepEqual(await fs.readFile(path.join(cwd, 'back.jpg.served')), await fs.readFile(path.join(cwd, 'back.jpg')));
  assert.match(output, /"status":"ready"/);
  assert.match(output, /"status":"deleted"/);
  assert.match(output, /^404$/m);
  // The edition's newest cover, once the wrong one is deleted, is the first upload again.
  const first = JSON.parse(output.split('\n').find((line) => line.includes('"olid":"OL7353617M"'))!).id;
  assert.equal(output.trim().split('\n').pop(), String(first));

  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
});
