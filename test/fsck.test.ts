import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { runJacket } from './helpers/process.ts';
import { makeTempDir, startJacket, type RunningJacket } from './helpers/server.ts';
import { startS3, uniqueName } from './helpers/backends.ts';
import { S3BlobStore } from '../src/storage/s3.ts';
import { originalKey, renditionKey } from '../src/storage/blobstore.ts';
import { BLOB_REFERENCE_SOURCES, fsck } from '../src/fsck.ts';
import { createServices } from '../src/services.ts';
import { loadConfig } from '../src/config.ts';
import { CompiledQuery } from 'kysely';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const anHourAgo = () => new Date(Date.now() - 3600_000);

async function plant(file: string, bytes: Buffer, old = true): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, bytes);
  if (old) await fs.utimes(file, anHourAgo(), anHourAgo());
}

const exists = (file: string) => fs.access(file).then(() => true, () => false);

describe('jacket fsck', () => {
  let dataDir: string;
  let blobs: string;
  let jacket: RunningJacket;
  const covers: Array<{ id: number; bytes: Buffer }> = [];
  const release = '76df3287-6cda-33eb-8e9a-044b5e15ffdd';
  let releaseImage: { id: number; bytes: Buffer };

  before(async () => {
    dataDir = await makeTempDir('jacket-fsck-');
    blobs = path.join(dataDir, 'blobs');
    jacket = await startJacket({ JACKET_DATA_DIR: dataDir });
    for (const color of ['#aa2020', '#20aa20', '#2020aa']) {
      const bytes = await makeImage(300, 450, { color });
      const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ data: { bytes, type: 'image/jpeg' } }) });
      assert.equal(response.status, 200);
      covers.push({ id: (await response.json()).id, bytes });
    }
    assert.equal((await jacket.get(`/b/id/${covers[0]!.id}-S.jpg`)).status, 200); // a stored rendition of a live cover
    // Release images (Cover Art Archive) own blobs too: fsck must check them and never collect them as orphans.
    const art = await makeImage(400, 400, { format: 'png', color: '#808000' });
    const added = await jacket.get(`/api/v1/releases/${release}/images`, { method: 'POST', headers: jacket.admin, body: form({ file: { bytes: art, type: 'image/png' }, types: 'Front' }) });
    assert.equal(added.status, 201);
    releaseImage = { id: Number((await added.json()).id), bytes: art };
    await jacket.close();
  });
  after(() => fs.rm(dataDir, { recursive: true, force: true }));

  test('a consistent store is clean: exit 0, no garbage', async () => {
    const result = await runJacket(['fsck', '--json'], { JACKET_DATA_DIR: dataDir });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.blobsChecked, 4);
    assert.deepEqual([report.missing, report.corrupt, report.garbage], [[], [], []]);
  });

  test('--repair collects planted orphans and stale temp files, reports them, and keeps everything referenced', async () => {
    const orphanSha = sha256(randomBytes(16));
    const orphanOriginal = `originals/${orphanSha.slice(0, 2)}/${orphanSha.slice(2, 4)}/${orphanSha}`;
    const goneSha = sha256(randomBytes(16));
    const orphanRendition = renditionKey(goneSha, 36, 58, 'jpg');
    // A rendition of a live cover kept under the older layout (a folder per original) is never read again.
    const liveSha = sha256(covers[0]!.bytes);
    const supersededRendition = `renditions/${liveSha.slice(0, 2)}/${liveSha}/36x58.jpg`;
    await plant(path.join(blobs, ...orphanOriginal.split('/')), randomBytes(1000));
    await plant(path.join(blobs, ...orphanRendition.split('/')), randomBytes(500));
    await plant(path.join(blobs, ...supersededRendition.split('/')), randomBytes(300));
    await plant(path.join(blobs, '.tmp', 'deadbeefdeadbeef.part'), randomBytes(700));
    // A temp file written just now may belong to a write in progress on a running server: left alone by default.
    await plant(path.join(blobs, '.tmp', 'cafebabecafebabe.part'), randomBytes(10), false);

    const check = await runJacket(['fsck'], { JACKET_DATA_DIR: dataDir });
    assert.equal(check.code, 0, 'garbage is expected after a crash, not an error');
    assert.match(check.stdout, /garbage: 4 items/);
    assert.match(check.stdout, new RegExp(`orphan original ${orphanOriginal}`));
    assert.match(check.stdout, new RegExp(`orphan rendition ${orphanRendition}`));
    assert.match(check.stdout, new RegExp(`rendition in the old layout ${supersededRendition}`));
    assert.match(check.stdout, /stale temp file .*deadbeefdeadbeef\.part/);
    assert.match(check.stdout, /left alone: 1 recent item/);
    assert.ok(await exists(path.join(blobs, ...orphanOriginal.split('/'))), 'without --repair nothing is deleted');

    const repair = await runJacket(['fsck', '--repair', '--json'], { JACKET_DATA_DIR: dataDir });
    assert.equal(repair.code, 0, repair.stderr);
    const report = JSON.parse(repair.stdout);
    assert.deepEqual(report.repaired.map((item: { kind: string }) => item.kind).sort(), ['orphan-original', 'orphan-rendition', 'superseded-rendition', 'temp-file']);
    assert.equal(report.repaired.reduce((sum: number, item: { bytes: number }) => sum + item.bytes, 0), 2500);
    assert.ok(!(await exists(path.join(blobs, ...orphanOriginal.split('/')))));
    assert.ok(!(await exists(path.join(blobs, ...orphanRendition.split('/')))));
    assert.ok(!(await exists(path.join(blobs, ...supersededRendition.split('/')))));
    assert.ok(!(await exists(path.dirname(path.join(blobs, ...supersededRendition.split('/'))))), "the old layout's folder per original goes with its last rendition");
    assert.ok(!(await exists(path.join(blobs, '.tmp', 'deadbeefdeadbeef.part'))));
    assert.ok(await exists(path.join(blobs, '.tmp', 'cafebabecafebabe.part')));

    const young = await runJacket(['fsck', '--repair', '--grace-seconds', '0'], { JACKET_DATA_DIR: dataDir });
    assert.match(young.stdout, /repair: deleted 1 items/);
    assert.match(young.stdout, /deleted stale temp file .*cafebabecafebabe\.part/);

    const clean = JSON.parse((await runJacket(['fsck', '--json'], { JACKET_DATA_DIR: dataDir })).stdout);
    assert.deepEqual([clean.missing, clean.corrupt, clean.garbage, clean.recent], [[], [], [], []]);
    const served = await startJacket({ JACKET_DATA_DIR: dataDir });
    try {
      for (const cover of covers) {
        const response = await served.get(`/b/id/${cover.id}.jpg`);
        assert.ok(Buffer.from(await response.arrayBuffer()).equals(cover.bytes), `cover ${cover.id} survived the repair`);
      }
      assert.equal((await served.get(`/b/id/${covers[0]!.id}-S.jpg`)).status, 200);
      const file = await served.get(`/download/mbid-${release}/mbid-${release}-${releaseImage.id}.png`);
      assert.ok(Buffer.from(await file.arrayBuffer()).equals(releaseImage.bytes), 'the release image survived the repair');
    } finally {
      await served.close();
    }
  });

  test('a missing or corrupt blob fails the check (exit 1) and names the covers; --repair never deletes them', async () => {
    const [missing, corrupt] = [covers[1]!, covers[2]!];
    const keyOf = (bytes: Buffer) => {
      const sha = sha256(bytes);
      return path.join(blobs, 'originals', sha.slice(0, 2), sha.slice(2, 4), sha);
    };
    await fs.rename(keyOf(missing.bytes), `${keyOf(missing.bytes)}.aside`);
    const flipped = Buffer.from(corrupt.bytes);
    flipped[flipped.length >> 1] ^= 0xff;
    await fs.writeFile(keyOf(corrupt.bytes), flipped);
    try {
      const result = await runJacket(['fsck', '--repair'], { JACKET_DATA_DIR: dataDir });
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stdout, new RegExp(`MISSING originals/\\S+${sha256(missing.bytes)}: blob is missing \\(needed by cover ${missing.id}\\)`));
      assert.match(result.stdout, new RegExp(`CORRUPT originals/\\S+${sha256(corrupt.bytes)}: .* \\(needed by cover ${corrupt.id}\\)`));
      assert.match(result.stdout, /repair: deleted 0 items/);
      assert.ok(await exists(keyOf(corrupt.bytes)));
    } finally {
      await fs.rename(`${keyOf(missing.bytes)}.aside`, keyOf(missing.bytes));
      await fs.writeFile(keyOf(corrupt.bytes), corrupt.bytes);
    }
    assert.equal((await runJacket(['fsck'], { JACKET_DATA_DIR: dataDir })).code, 0);
  });
});

test('the summary counts missing blobs and the rows that need them separately', async () => {
  const dataDir = await makeTempDir('jacket-fsck-count-');
  try {
    const jacket = await startJacket({ JACKET_DATA_DIR: dataDir });
    const shared = [await makeImage(120, 180, { color: '#102030' }), await makeImage(120, 180, { color: '#302010' })];
    try {
      // The same bytes uploaded again make another cover on the same (content-addressed) blob: 2 blobs, 5 rows.
      for (const [bytes, times] of [[shared[0]!, 3], [shared[1]!, 2]] as const) {
        for (let i = 0; i < times; i++) {
          const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ data: { bytes, type: 'image/jpeg' } }) });
          assert.equal(response.status, 200);
        }
      }
    } finally {
      await jacket.close();
    }
    for (const bytes of shared) {
      const sha = sha256(bytes);
      await fs.rm(path.join(dataDir, 'blobs', 'originals', sha.slice(0, 2), sha.slice(2, 4), sha));
    }
    const result = await runJacket(['fsck'], { JACKET_DATA_DIR: dataDir });
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /\b2 blobs are missing or corrupt, needed by 5 rows\b/);
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
});

test('on S3 storage the grace period holds: a fresh orphan object is left alone by --repair, an old enough one is deleted', async () => {
  const s3 = await startS3();
  const dataDir = await makeTempDir('jacket-fsck-s3-');
  try {
    const prefix = `${uniqueName('fsck')}/`;
    const env = { JACKET_DATA_DIR: dataDir, ...s3.env(prefix) };
    const store = new S3BlobStore({ bucket: s3.bucket, prefix, region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
    const orphanSha = sha256(randomBytes(16));
    const orphan = `originals/${orphanSha.slice(0, 2)}/${orphanSha.slice(2, 4)}/${orphanSha}`;
    try {
      await store.put(orphan, randomBytes(300));
      const repair = await runJacket(['fsck', '--repair', '--json'], env);
      assert.equal(repair.code, 0, repair.stderr);
      const report = JSON.parse(repair.stdout);
      assert.deepEqual(report.recent.map((item: { key: string }) => item.key), [orphan], 'a blob written just now may be an upload in progress');
      assert.deepEqual(report.repaired, []);
      assert.equal((await store.stat(orphan))?.size, 300);

      const old = await runJacket(['fsck', '--repair', '--grace-seconds', '0', '--json'], env);
      assert.deepEqual(JSON.parse(old.stdout).repaired.map((item: { key: string }) => item.key), [orphan]);
      assert.equal(await store.stat(orphan), undefined);
    } finally {
      await store.close();
    }
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
    await s3.close();
  }
});

test('fsck asks the catalogue about blobs by index, not by reading a whole table (each page of the store\'s listing, and the re-check before a removal)', async () => {
  const dataDir = await makeTempDir('jacket-fsck-plan-');
  const jacket = await startJacket({ JACKET_DATA_DIR: dataDir });
  try {
    const { db } = jacket.services;
    // Capture the statements fsck's own questions run, then ask SQLite how it would run each.
    const statements: CompiledQuery[] = [];
    const capturing = db.withPlugin({
      transformQuery: (args) => {
        statements.push(db.getExecutor().compileQuery(args.node, args.queryId));
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    for (const source of BLOB_REFERENCE_SOURCES) {
      assert.equal((await source.referenced(capturing, { keys: ['originals/00/00/none'] })).keys.size, 0);
      assert.equal((await source.referenced(capturing, { sha256s: ['0'.repeat(64)] })).sha256s.size, 0);
    }
    assert.equal(statements.length, 4);
    for (const statement of statements) {
      const plan = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${statement.sql}`, [...statement.parameters]));
      const details = plan.rows.map((row) => row.detail).join('; ');
      assert.doesNotMatch(details, /\bSCAN\b/, `${statement.sql}: ${details}`);
      assert.match(details, /^SEARCH \w+ USING (COVERING )?INDEX/, `${statement.sql}: ${details}`);
    }
  } finally {
    await jacket.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
});

test('fsck reads the catalogue and the store a page at a time: a blob shared across pages is reported once with every owner, orphans past the first page are found', async () => {
  // Pages are 1,000 rows or keys: 1,500 covers share one missing blob, 1,200 orphan originals lie in the store.
  const dataDir = await makeTempDir('jacket-fsck-pages-');
  const services = await createServices(loadConfig({ JACKET_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
  try {
    const gone = sha256(Buffer.from('a cover whose bytes were lost'));
    const shared = { category: 'b' as const, blobKey: originalKey(gone), sha256: gone, mime: 'image/jpeg', width: 10, height: 15, byteSize: 100 };
    await services.catalogue.addCovers(Array.from({ length: 1500 }, () => ({ ...shared })));
    const orphans = Array.from({ length: 1200 }, (_, i) => sha256(Buffer.from(`orphan ${i}`)));
    await Promise.all(orphans.map((orphan) => services.blobs.put(originalKey(orphan), Buffer.from(`orphan bytes ${orphan}`), { regenerable: true })));
    const report = await fsck(services.db, services.blobs);
    assert.equal(report.referencesChecked, 1500);
    assert.equal(report.missing.length, 1);
    assert.equal(report.missing[0]!.key, originalKey(gone));
    assert.equal(new Set(report.missing[0]!.owners).size, 1500);
    assert.deepEqual(report.garbage.map((item) => item.key).sort(), orphans.map(originalKey).sort());
  } finally {
    await services.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
});
