import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, startS3, TEST_DATABASE_URL, type TestDatabase, type TestS3 } from './helpers/backends.ts';
import { form, makeImage } from './helpers/images.ts';
import { makeTempDir, startJacket } from './helpers/server.ts';
import { copyInstall } from '../src/migrate-storage.ts';
import { createServices } from '../src/services.ts';
import { loadConfig } from '../src/config.ts';

const NODE = new URL('../node_modules/.bin/node', import.meta.url).pathname;
const JACKET = new URL('../bin/jacket.js', import.meta.url).pathname;

function runJacket(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE, [JACKET, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

if (!TEST_DATABASE_URL) process.stdout.write('# migrate-storage is tested into SQLite + S3 only: TEST_DATABASE_URL is not set (.ci/run sets it)\n');

describe(`jacket migrate-storage: embedded install → ${TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite'} + S3`, () => {
  let sourceDir: string;
  let targetDir: string;
  let s3: TestS3;
  let database: TestDatabase | undefined;
  let targetEnv: Record<string, string>;
  const originals: Buffer[] = [];
  const ids: number[] = [];

  before(async () => {
    [sourceDir, targetDir, s3] = await Promise.all([makeTempDir('jacket-src-'), makeTempDir('jacket-dst-'), startS3()]);
    if (TEST_DATABASE_URL) database = await createTestDatabase();
    targetEnv = { ...s3.env('migrated/'), JACKET_DATA_DIR: targetDir, JACKET_ADMIN_TOKEN: 'target-admin', LOG_LEVEL: 'warn', ...(database ? { DATABASE_URL: database.url } : {}) };
    const embedded = await startJacket({ JACKET_DATA_DIR: sourceDir });
    try {
      for (const [olid, isbn, color] of [['OL1M', '9780385472579', '#112233'], ['OL2M', '9780140449136', '#445566'], ['OL3M', '9780262033848', '#778899']] as const) {
        const bytes = await makeImage(400, 640, { color });
        const response = await embedded.get('/b/upload2', { method: 'POST', headers: embedded.admin, body: form({ olid, isbn, title: `Voyages of ${olid}`, data: { bytes, type: 'image/jpeg' } }) });
        assert.equal(response.status, 200);
        originals.push(bytes);
        ids.push((await response.json()).id);
      }
      assert.equal((await embedded.get(`/b/id/${ids[0]}-M.jpg`)).status, 200);
      const deleted = await embedded.get('/b/delete', { method: 'POST', headers: embedded.admin, body: new URLSearchParams({ id: String(ids[2]) }) });
      assert.equal(deleted.status, 200);
    } finally {
      await embedded.close();
    }
  });

  after(async () => {
    await Promise.allSettled([s3?.close(), database?.drop(), fs.rm(sourceDir, { recursive: true, force: true }), fs.rm(targetDir, { recursive: true, force: true })]);
  });

  test('copies covers, identifiers, deletions, the id sequence and the image bytes; a second run is refused', async () => {
    const run = await runJacket(['migrate-storage', '--from', sourceDir], targetEnv);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /done: 3 covers/);

    const migrated = await startJacket(targetEnv);
    try {
      for (const [index, id] of ids.slice(0, 2).entries()) {
        const response = await migrated.get(`/b/id/${id}.jpg`);
        assert.equal(response.status, 200);
        assert.ok(Buffer.from(await response.arrayBuffer()).equals(originals[index]!), `cover ${id} is byte-identical`);
      }
      assert.equal((await migrated.get('/b/isbn/9780140449136-S.jpg')).headers.get('etag'), `"${ids[1]}-s"`);
      assert.equal((await migrated.get(`/b/id/${ids[2]}.jpg?default=false`)).status, 404, 'a deleted cover stays deleted');
      // Titles come along, and the target's own full-text index finds them.
      const found = await (await migrated.get('/api/v1/covers?q=voyages%20ol2m', { headers: { authorization: 'Bearer target-admin' } })).json();
      assert.deepEqual(found.covers.map((cover: { id: number; title: string }) => [cover.id, cover.title]), [[ids[1], 'Voyages of OL2M']]);
      const next = await migrated.get('/b/upload2', {
        method: 'POST',
        headers: { authorization: 'Bearer target-admin' },
        body: form({ olid: 'OL4M', data: { bytes: await makeImage(100, 160), type: 'image/jpeg' } }),
      });
      assert.equal((await next.json()).id, ids[2]! + 1, 'new ids continue after the copied ones');
    } finally {
      await migrated.close();
    }

    const again = await runJacket(['migrate-storage', '--from', sourceDir], targetEnv);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds 4 covers/);
  });
});

test('migrate-storage copies a table of more rows than one page, each row once (pages follow the rowid)', async () => {
  const [sourceDir, targetDir] = await Promise.all([makeTempDir('jacket-src-pages-'), makeTempDir('jacket-dst-pages-')]);
  const target = TEST_DATABASE_URL ? await createTestDatabase() : undefined;
  const source = await createServices(loadConfig({ JACKET_DATA_DIR: sourceDir, LOG_LEVEL: 'silent' }));
  const into = await createServices(loadConfig({ JACKET_DATA_DIR: targetDir, LOG_LEVEL: 'silent', ...(target ? { DATABASE_URL: target.url } : {}) }));
  try {
    // Rows only (no images are needed to copy the catalogue): 1,234 covers span three pages of 500.
    const image = { category: 'b' as const, blobKey: 'originals/00/00/none', sha256: '0'.repeat(64), mime: 'image/jpeg', width: 10, height: 15, byteSize: 100 };
    await source.catalogue.addCovers(Array.from({ length: 1234 }, () => ({ ...image })));
    const report = await copyInstall(source, into, { renditions: false });
    assert.equal(report.rows.covers, 1234);
    const ids = async (db: typeof source.db) => (await db.selectFrom('covers').select('id').orderBy('id').execute()).map((row) => Number(row.id));
    assert.deepEqual(await ids(into.db), await ids(source.db));
  } finally {
    await Promise.allSettled([source.close(), into.close()]);
    await Promise.allSettled([target?.drop(), fs.rm(sourceDir, { recursive: true, force: true }), fs.rm(targetDir, { recursive: true, force: true })]);
  }
});
