import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SETTINGS } from '../src/config.ts';
import { REPO_ROOT } from './helpers/process.ts';

// The deployment files name settings by hand: each must be one src/config.ts reads (and the README documents).
// Building and running the image is scripts/image-test.sh (run by .ci/run); the systemd unit is systemd-unit.test.ts.
const documented = new Set(SETTINGS.map((setting) => setting.env));
const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');

test('the Dockerfile: official Node 24 slim base, two stages, documented settings, user node, /data, the server as its command', () => {
  const dockerfile = read('Dockerfile').replace(/\\\n/g, ' ');
  assert.match(dockerfile, /^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
  assert.equal(dockerfile.match(/^FROM \$\{NODE_IMAGE\}/gm)?.length, 2);
  const env = [...dockerfile.matchAll(/^ENV (.*)$/gm)].flatMap((match) => [...match[1]!.matchAll(/([A-Z_][A-Z0-9_]*)=/g)].map((name) => name[1]!));
  assert.deepEqual(env.filter((name) => name !== 'NODE_ENV' && !documented.has(name)), []);
  assert.ok(env.includes('JACKET_DATA_DIR') && env.includes('HOST') && env.includes('PORT'));
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /^VOLUME \/data$/m);
  assert.match(dockerfile, /^HEALTHCHECK .*CMD \["node", .*\/readyz/m);
  assert.match(dockerfile, /^CMD \["node", "src\/main\.ts", "serve"\]$/m);
  // The final stage starts from the base again: no compilers or npm cache of the first stage come along.
  const final = dockerfile.split(/^FROM /m).pop()!;
  assert.doesNotMatch(final, /npm (ci|install)|apt-get install/);
});

test('.dockerignore lets in only what the image needs', () => {
  const lines = read('.dockerignore').split('\n').filter((line) => line && !line.startsWith('#'));
  assert.equal(lines[0], '*');
  assert.deepEqual(lines.slice(1).sort(), ['!bin/', '!package-lock.json', '!package.json', '!scripts/postinstall.mjs', '!src/']);
});

test('compose.yaml wires the scale profile with documented settings only', () => {
  const compose = read('compose.yaml');
  const block = compose.split(/^x-scale-settings: &scale-settings$/m)[1]!.split(/^\S/m)[0]!;
  const names = [...block.matchAll(/^ {2}([A-Z_][A-Z0-9_]*):/gm)].map((match) => match[1]!);
  assert.deepEqual(names.filter((name) => !documented.has(name)), []);
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'JACKET_STORAGE', 'AWS_ENDPOINT_URL_S3', 'JACKET_S3_FORCE_PATH_STYLE', 'JACKET_ADMIN_TOKEN']) assert.ok(names.includes(name), name);
  for (const service of ['jacket', 'jacket-a', 'jacket-b', 'postgres', 'redis', 'minio']) assert.match(compose, new RegExp(`^  ${service}:$`, 'm'), service);
  assert.match(compose, /^ {6}- jacket-data:\/data$/m, 'the default service keeps its data in a named volume');
});
