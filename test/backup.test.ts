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
