import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { TarWriter } from '../src/bulk/tar.ts';
import { form, makeImage } from './helpers/images.ts';
import { ADMIN_TOKEN, makeTempDir, startJacket } from './helpers/server.ts';

const root = path.resolve(import.meta.dirname, '..');
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function jacket(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      path.join(root, 'node_modules/.bin/node'),
      [path.join(root, 'bin/jacket.js'), ...args],
      { cwd: root, env: { ...process.env, JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent' }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('import openlibrary while the server takes uploads on the same store: archive ids kept or reported, no upload lost, no crash', async () => {
  const work = await makeTempDir();
  const dataDir = path.join(work, 'data');
  const server = await startJacket({ JACKET_DATA_DIR: dataDir });
  try {
    // An archive of ids 1–3000 (three import batches), the very ids a fresh store hands out to uploads.
    const archiveImages = [await makeImage(40, 60, { color: '#112233' }), await makeImage(40, 60, { color: '#445566' }), await makeImage(40, 60, { color: '#778899' })];
    const archive = new Map<number, Buffer>();
    const writer = await TarWriter.create(path.join(work, 'archives', 'covers_0000', 'covers_0000_00.tar'));
    for (let id = 1; id <= 3000; id++) {
      const bytes = archiveImages[id % archiveImages.length]!;
      archive.set(id, bytes);
      await writer.add(`${String(id).padStart(10, '0')}.jpg`, bytes, 1_700_000_000);
    }
    await writer.finish();
    const archiveHashes = new Set(archiveImages.map(sha));

    const uploadImages = [await makeImage(30, 45, { color: '#aa0000' }), await makeImage(30, 45, { color: '#00aa00' })];
    const uploads = new Map<number, Buffer>();
    let importing = true;
    const upload = async (n: number) => {
      const bytes = uploadImages[n % uploadImages.length]!;
      const response = await server.get('/b/upload2', { method: 'POST', headers: server.admin, body: form({ data: { bytes, filename: 'cover.jpg', type: 'image/jpeg' } }) });
      assert.equal(response.status, 200, await response.clone().text());
      const body = (await response.json()) as { id: number };
      assert.ok(!uploads.has(body.id), `id ${body.id} handed out twice`);
      uploads.set(body.id, bytes);
    };
    // Some uploads land before the import starts (ids the archive also holds), the rest while it runs.
    for (let n = 0; n < 3; n++) await upload(n);
    const uploading = (async () => {
      for (let n = 3; importing; n++) await upload(n);
    })();
    const run = await jacket(dataDir, 'import', 'openlibrary', path.join(work, 'archives'));
    importing = false;
    await uploading;

    assert.doesNotMatch(run.stderr, /SqliteError|UNIQUE|at .*\.ts:\d+/, run.stderr);
    assert.ok(run.code === 0 || run.code === 1, `exit ${run.code}: ${run.stdout}${run.stderr}`);
    assert.ok(uploads.size > 3, 'uploads ran during the import');

    const { catalogue, blobs } = server.services;
    const stored = async (id: number) => {
      const cover = await catalogue.getCover(id);
      return cover ? (await blobs.get(cover.blobKey)) ?? undefined : undefined;
    };
    // Every upload that was answered still has its own bytes.
    for (const [id, bytes] of uploads) assert.ok((await stored(id))?.equals(bytes), `upload ${id} lost`);
    // Every archive id holds the archive's bytes, or was taken by an upload and reported as an id_conflict.
    let taken = 0;
    for (const [id, bytes] of archive) {
      const now = await stored(id);
      if (now?.equals(bytes)) continue;
      assert.ok(uploads.has(id) && now !== undefined && !archiveHashes.has(sha(now)), `archive cover ${id} neither imported nor taken by an upload`);
      taken++;
    }
    assert.ok(taken >= 3, 'the uploads made before the import are in the archive range');
    const imported = Number(/(\d+) covers imported/.exec(run.stdout)?.[1]);
    const conflicts = Number(/id_conflict: (\d+)/.exec(run.stdout)?.[1] ?? 0);
    assert.equal(imported, 3000 - taken, run.stdout);
    assert.equal(conflicts, taken, run.stdout);
    assert.equal(run.code, 1, 'skipped covers make the exit code 1');
    // Uploads that came after the import began were given ids above the batch the import was at.
    assert.ok(Math.max(...uploads.keys()) > 1000, 'live uploads moved past the archive batches');
  } finally {
    await server.close();
    await fs.rm(work, { recursive: true, force: true });
  }
});

test('a corrupt entry with a huge id does not move the id sequence: later uploads keep small ids', async () => {
  const work = await makeTempDir();
  const dataDir = path.join(work, 'data');
  try {
    const writer = await TarWriter.create(path.join(work, 'archives', 'covers_0000_00.tar'));
    await writer.add('0000000005.jpg', await makeImage(40, 60, { color: '#203040' }), 1_700_000_000);
    await writer.add('9000000000.jpg', Buffer.from('this is not an image'), 1_700_000_000);
    await writer.finish();
    const run = await jacket(dataDir, 'import', 'openlibrary', path.join(work, 'archives'));
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /1 covers imported/);
    const server = await startJacket({ JACKET_DATA_DIR: dataDir });
    try {
      const response = await server.get('/b/upload2', { method: 'POST', headers: server.admin, body: form({ data: { bytes: await makeImage(30, 45), filename: 'cover.jpg', type: 'image/jpeg' } }) });
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { id: number }).id, 6);
    } finally {
      await server.close();
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
});
