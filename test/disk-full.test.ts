import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { form } from './helpers/images.ts';
import { listFiles, makeTempDir, startJacket, type RunningJacket } from './helpers/server.ts';

const run = promisify(execFile);

/** A PNG of random pixels: it does not compress, so a few fill a small disk. */
const noise = (width: number, height: number) => sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } }).png().toBuffer();

/** A data folder on a small tmpfs of its own (the test runs as root, as CI does), so writes can fill it. */
describe('Jacket on a full disk', () => {
  let mountPoint: string;
  let jacket: RunningJacket;
  before(async () => {
    mountPoint = await makeTempDir('jacket-full-');
    await run('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint]);
    jacket = await startJacket({ JACKET_DATA_DIR: mountPoint, JACKET_MIN_FREE_MB: '1' });
  });
  after(async () => {
    await jacket?.close();
    if (mountPoint) {
      await run('umount', [mountPoint]).catch(() => {});
      await fs.rm(mountPoint, { recursive: true, force: true });
    }
  });

  test('answers 507 storage_full, leaves no temp files, and keeps serving what is stored', async () => {
    const upload = async (i: number) =>
      jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: `OL${i}M`, data: { bytes: await noise(300 + i, 400), type: 'image/png' } }) });
    const first = await upload(1);
    assert.equal(first.status, 200, await first.clone().text());
    const { id } = await first.json();
    assert.equal((await jacket.get('/readyz')).status, 200, 'ready while space is left');
    let full: Response | undefined;
    let lowSpaceReported = false;
    for (let i = 2; i < 200 && !full; i++) {
      const response = await upload(i);
      if (response.status !== 200) full = response;
      else if (!lowSpaceReported) {
        const ready = await jacket.get('/readyz');
        lowSpaceReported = ready.status === 503 && (await ready.json()).failing.includes('disk');
      }
    }
    assert.ok(lowSpaceReported, '/readyz reported low space while writes still succeeded');
    assert.ok(full, 'the disk filled');
    assert.equal(full.status, 507, await full.clone().text());
    const body = await full.json();
    assert.equal(body.error, 'storage_full');
    assert.match(body.message, /space/);
    const files = await listFiles(mountPoint);
    assert.deepEqual(files.filter((file) => /tmp|\.part/.test(file)), [], 'no temp files left behind');
    assert.equal((await jacket.get(`/b/id/${id}.json`)).status, 200);
  });
});
