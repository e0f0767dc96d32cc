import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { runJacket } from './helpers/process.ts';
import { makeTempDir, startJacket, type RunningJacket } from './helpers/server.ts';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await makeTempDir(prefix);
  dirs.push(dir);
  return dir;
}

async function upload(jacket: RunningJacket, color: string): Promise<{ id: number; bytes: Buffer }> {
  const bytes = await makeImage(240, 360, { color });
  const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL1M', data: { bytes, type: 'image/jpeg' } }) });
  assert.equal(response.status, 200);
  return { id: (await response.json()).id, bytes };
}

test('jacket backup copies a running server consistently; the restored copy serves the same covers', async () => {
  const live = await startJacket({ JACKET_DATA_DIR: await tempDir('jacket-live-') });
  const backupDir = path.join(await tempDir('jacket-backup-'), 'backup');
  try {
    const before = [await upload(live, '#112233'), await upload(live, '#445566'), await upload(live, '#778899')];
    assert.equal((await live.get(`/b/id/${before[0]!.id}-M.jpg`)).status, 200);

    // Uploads keep arriving while the backup runs: each is either wholly in the backup or not at all.
    const [backup, during] = await Promise.all([
      runJacket(['backup', '--out', backupDir], { JACKET_DATA_DIR: live.dataDir }),
      Promise.all(['#a00000', '#00a000', '#0000a0'].map((color) => upload(live, color))),
    ]);
    assert.equal(backup.code, 0, backup.stdout + backup.stderr);
    assert.match(backup.stdout, /backup complete/);
    const after = await upload(live, '#abcdef');

    const restored = await tempDir('jacket-restored-');
    await fs.cp(backupDir, restored, { recursive: true }); // the README's restore: the backup is a data directory
    const check = await runJacket(['fsck', '--json'], { JACKET_DATA_DIR: restored });
    assert.equal(check.code, 0, check.stdout);
    const report = JSON.parse(check.stdout);
    assert.deepEqual([report.missing, report.corrupt, report.garbage], [[], [], []]);

    const copy = await startJacket({ JACKET_DATA_DIR: restored });
    try {
      for (const cover of before) {
        const response = await copy.get(`/b/id/${cover.id}.jpg`);
        assert.equal(response.status, 200);
        assert.ok(Buffer.from(await response.arrayBuffer()).equals(cover.bytes), `cover ${cover.id} is restored byte-identical`);
        assert.equal((await copy.get(`/b/id/${cover.id}-M.jpg`)).status, 200);
      }
      const newest = await copy.get('/b/olid/OL1M.jpg?default=false');
      assert.equal(newest.status, 200, 'lookups work on the restored catalogue');
      for (const cover of during) {
        const response = await copy.get(`/b/id/${cover.id}.jpg?default=false`);
        if (response.status === 200) assert.ok(Buffer.from(await response.arrayBuffer()).equals(cover.bytes));
        else assert.equal(response.status, 404);
      }
      assert.equal((await copy.get(`/b/id/${after.id}.jpg?default=false`)).status, 404, 'an upload made after the backup is not in it');
    } finally {
      await copy.close();
    }

    // Backing up into the same directory again copies only what is new.
    const again = await runJacket(['backup', '--out', backupDir], { JACKET_DATA_DIR: live.dataDir });
    assert.equal(again.code, 0, again.stderr);
    const [, copied, present] = /blobs: (\d+) copied .*, (\d+) already in the backup/.exec(again.stdout) ?? [];
    assert.equal(Number(copied) + Number(present), 7);
    assert.ok(Number(copied) >= 1 && Number(copied) <= 4, again.stdout);
  } finally {
    await live.close();
  }
});

test('jacket backup reads images from the configured JACKET_STORAGE folder', async () => {
  const storage = path.join(await tempDir('jacket-storage-'), 'images');
  const live = await startJacket({ JACKET_DATA_DIR: await tempDir('jacket-live-'), JACKET_STORAGE: storage });
  const backupDir = path.join(await tempDir('jacket-backup-'), 'backup');
  try {
    const cover = await upload(live, '#123456');
    const backup = await runJacket(['backup', '--out', backupDir], { JACKET_DATA_DIR: live.dataDir, JACKET_STORAGE: storage });
    assert.equal(backup.code, 0, backup.stdout + backup.stderr);
    assert.match(backup.stdout, /blobs: 1 copied/);
    // The backup is a data directory with its images in blobs/: usable as it is with JACKET_STORAGE unset.
    const copy = await startJacket({ JACKET_DATA_DIR: backupDir });
    try {
      const response = await copy.get(`/b/id/${cover.id}.jpg`);
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(cover.bytes));
    } finally {
      await copy.close();
    }
  } finally {
    await live.close();
  }
});

test('jacket backup refuses PostgreSQL and S3 installations in one clear sentence (exit 2), writing nothing', async () => {
  const dataDir = await tempDir('jacket-live-');
  const out = path.join(await tempDir('jacket-backup-'), 'backup');
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ DATABASE_URL: 'postgres://jacket@127.0.0.1:1/jacket' }, /PostgreSQL.*pg_dump/],
    [{ JACKET_STORAGE: 's3://covers/jacket', AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret' }, /S3.*versioning|S3.*replication/],
  ];
  for (const [env, reason] of cases) {
    const result = await runJacket(['backup', '--out', out], { JACKET_DATA_DIR: dataDir, ...env });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, reason);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.equal(await fs.access(out).then(() => true, () => false), false, 'nothing written');
  }
});
