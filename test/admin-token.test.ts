import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { runJacket, spawnJacket } from './helpers/process.ts';
import { makeTempDir } from './helpers/server.ts';

test('only `jacket serve` generates the admin token: after fsck and export on a fresh data dir it is still printed, and works', async () => {
  const dataDir = await makeTempDir('jacket-token-');
  const env = { JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: '' };
  try {
    const check = await runJacket(['fsck'], env);
    assert.equal(check.code, 0, check.stderr);
    const exported = await runJacket(['export', 'idmap', '--out', path.join(dataDir, 'idmap.tsv')], env);
    assert.equal(exported.code, 0, exported.stderr);
    for (const output of [check.stdout, check.stderr, exported.stdout, exported.stderr]) assert.doesNotMatch(output, /administrator token/);

    const server = await spawnJacket(env);
    try {
      const printed = server.lines.join('\n');
      const token = /an administrator token was generated[^\n]*\n\s*\n\s+(\S+)/.exec(printed)?.[1];
      assert.ok(token, `serve printed no token: ${printed}`);
      const bytes = await makeImage(120, 180);
      const upload = await fetch(`${server.url}/b/upload2`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form({ data: { bytes, type: 'image/jpeg' } }) });
      assert.equal(upload.status, 200, await upload.text());
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
});

test('`jacket admin-token reset` while the server runs: the new token works and the old one is refused at once', async () => {
  const dataDir = await makeTempDir('jacket-token-reset-');
  const env = { JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: '' };
  const upload = async (url: string, token: string) =>
    fetch(`${url}/b/upload2`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form({ data: { bytes: await makeImage(120, 180), type: 'image/jpeg' } }) });
  try {
    const server = await spawnJacket(env);
    try {
      const old = /an administrator token was generated[^\n]*\n\s*\n\s+(\S+)/.exec(server.lines.join('\n'))?.[1];
      assert.ok(old, 'serve printed a token');
      assert.equal((await upload(server.url, old)).status, 200);

      const reset = await runJacket(['admin-token', 'reset'], env);
      assert.equal(reset.code, 0, reset.stderr);
      const fresh = /shown only this once[^\n]*\n\s*\n\s+(\S+)/.exec(reset.stdout)?.[1];
      assert.ok(fresh && fresh !== old, reset.stdout);

      assert.equal((await upload(server.url, old)).status, 401, 'the old token stops working without a restart');
      assert.equal((await upload(server.url, fresh)).status, 200, 'the new token works without a restart');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    // With the token given by the environment there is nothing to reset here.
    const refused = await runJacket(['admin-token', 'reset'], { ...env, JACKET_ADMIN_TOKEN: 'from-the-environment' });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /JACKET_ADMIN_TOKEN is set/);
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
});
