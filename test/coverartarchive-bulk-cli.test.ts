import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServices } from '../src/services.ts';
import { importCoverArtArchive } from '../src/cli/coverartarchive.ts';
import { loadConfig } from '../src/config.ts';
import { makeImage } from './helpers/images.ts';
import { ADMIN_TOKEN, makeTempDir } from './helpers/server.ts';

const root = path.resolve(import.meta.dirname, '..');
const RELEASES = ['76df3287-6cda-33eb-8e9a-044b5e15ffdd', '99b09d02-9cc9-3fed-8431-f162165a9371', 'c31a5e2b-0bf8-32e0-8aeb-ef4ba9973932', '1e477f68-c407-4eae-ad01-518528cedc2c'];

function jacket(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      path.join(root, 'node_modules/.bin/node'),
      [path.join(root, 'bin/jacket.js'), ...args],
      { cwd: root, env: { ...process.env, JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent' }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function release(dir: string, mbid: string, images: Array<{ id: number; bytes?: Buffer }>): Promise<void> {
  const folder = path.join(dir, `mbid-${mbid}`);
  await fs.mkdir(folder, { recursive: true });
  await fs.writeFile(path.join(folder, 'index.json'), JSON.stringify({ images: images.map(({ id }) => ({ id, types: ['Front'], comment: '', approved: true })) }));
  for (const { id, bytes } of images) if (bytes) await fs.writeFile(path.join(folder, `mbid-${mbid}-${id}.jpg`), bytes);
}

describe('Cover Art Archive bulk commands follow the bulk behaviour rules', () => {
  let work: string;

  before(async () => {
    work = await makeTempDir();
  });
  after(() => fs.rm(work, { recursive: true, force: true }));

  test('a missing input folder is a one-line usage error (exit code 2)', async () => {
    const missing = path.join(work, 'no-such-folder');
    const run = await jacket(path.join(work, 'data-missing'), 'import', 'coverartarchive', missing);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.equal(run.stderr, `jacket: ${missing} does not exist\n`);
    assert.equal(run.stdout, '');
  });

  test('an export target that is a file is a one-line usage error (exit code 2)', async () => {
    const file = path.join(work, 'a-file');
    await fs.writeFile(file, 'x');
    const run = await jacket(path.join(work, 'data-export'), 'export', 'coverartarchive', '--out', file);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.equal(run.stderr, `jacket: ${file} exists and is not a folder\n`);
  });

  test('skipped folders and images are counted by kind with examples; the rest is imported; exit code 1', async () => {
    const dir = path.join(work, 'damaged');
    await release(dir, RELEASES[0]!, [{ id: 101, bytes: await makeImage(40, 40) }]);
    await release(dir, RELEASES[1]!, [{ id: 201, bytes: await makeImage(40, 40, { color: '#aa0000' }) }, { id: 202 }, { id: 203 }]);
    await fs.mkdir(path.join(dir, `mbid-${RELEASES[2]}`));
    await fs.writeFile(path.join(dir, `mbid-${RELEASES[2]}`, 'index.json'), '{ not json');
    await release(dir, RELEASES[3]!, [{ id: 401, bytes: Buffer.from('not an image at all') }]);
    await fs.mkdir(path.join(dir, 'not-a-release'));
    const run = await jacket(path.join(work, 'data-damaged'), 'import', 'coverartarchive', dir);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^imported 3 releases: 2 images, 0 already there, 5 skipped$/m);
    assert.match(run.stdout, /^skipped 5:$/m);
    assert.match(run.stdout, /^  missing_file: 2\n    e\.g\. mbid-99b09d02-9cc9-3fed-8431-f162165a9371: no file for image 20[23]\n/m);
    assert.match(run.stdout, /^  not_a_release_folder: 1\n    e\.g\. not-a-release: not an mbid-\{MBID\} folder$/m);
    assert.match(run.stdout, /^  bad_index_json: 1\n    e\.g\. mbid-c31a5e2b-0bf8-32e0-8aeb-ef4ba9973932\/index\.json: /m);
    assert.match(run.stdout, /^  \w+: 1\n    e\.g\. mbid-1e477f68-c407-4eae-ad01-518528cedc2c\/mbid-1e477f68-c407-4eae-ad01-518528cedc2c-401\.jpg: /m);
    assert.doesNotMatch(run.stderr, /\n\s+at /);

    const again = await jacket(path.join(work, 'data-damaged'), 'import', 'coverartarchive', dir);
    assert.match(again.stdout, /^imported 3 releases: 0 images, 2 already there, 5 skipped$/m);
  });

  test('progress is reported through the shared progress display: every release folder counted against a known total', async () => {
    const dir = path.join(work, 'progress');
    for (const [index, mbid] of RELEASES.entries()) await release(dir, mbid, [{ id: 1000 + index, bytes: await makeImage(30, 30, { color: `#00${index}0${index}0` }) }]);
    await fs.writeFile(path.join(dir, 'README'), 'not a folder, not counted');
    const services = await createServices(loadConfig({ JACKET_DATA_DIR: path.join(work, 'data-progress'), JACKET_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent' }));
    const seen: Array<{ label: string; unit: string; total: number; updates: Array<[number, number]>; stopped: boolean }> = [];
    try {
      const summary = await importCoverArtArchive(services, dir, (options) => {
        const record = { ...options, updates: [] as Array<[number, number]>, stopped: false };
        seen.push(record);
        return { update: (value, count) => void record.updates.push([value, count]), stop: () => void (record.stopped = true) };
      });
      assert.equal(summary.images, RELEASES.length);
      assert.equal(summary.problems.total, 0);
    } finally {
      await services.close();
    }
    assert.equal(seen.length, 1);
    assert.deepEqual({ label: seen[0]!.label, unit: seen[0]!.unit, total: seen[0]!.total }, { label: 'import coverartarchive', unit: 'releases', total: 4 });
    assert.deepEqual(seen[0]!.updates.at(-1), [4, 4]);
    assert.ok(seen[0]!.stopped);
  });
});
