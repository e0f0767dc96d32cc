import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { form, makeImage } from './helpers/images.ts';
import { ADMIN_TOKEN, makeTempDir, startJacket, type RunningJacket } from './helpers/server.ts';

const RELEASE = '76df3287-6cda-33eb-8e9a-044b5e15ffdd';
const OTHER = '99b09d02-9cc9-3fed-8431-f162165a9371';
const GROUP = 'c31a5e2b-0bf8-32e0-8aeb-ef4ba9973932';
const main = new URL('../src/main.ts', import.meta.url).pathname;

function jacketCli(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [main, ...args],
      { env: { ...process.env, JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent' }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

async function listing(jacket: RunningJacket, mbid: string): Promise<string> {
  const text = await (await jacket.get(`/download/mbid-${mbid}/index.json`)).text();
  return text.replaceAll(jacket.url, 'BASE');
}

test('export coverartarchive → import into an empty store: same ids, types, comments, order, bytes, group choice; idempotent', async () => {
  const sourceDir = await makeTempDir();
  const targetDir = await makeTempDir();
  const outDir = await makeTempDir('jacket-caa-export-');
  try {
    const source = await startJacket({ JACKET_DATA_DIR: sourceDir });
    const originals = new Map<number, Buffer>();
    try {
      await source.get(`/api/v1/releases/${RELEASE}`, {
        method: 'PUT',
        headers: { ...source.admin, 'content-type': 'application/json' },
        body: JSON.stringify({ releaseGroup: GROUP, date: '1997-05' }),
      });
      const uploads: Array<[string, string, Record<string, string>, Buffer]> = [
        [RELEASE, 'Front', { comment: 'scan' }, await makeImage(120, 90, { format: 'png' })],
        [RELEASE, 'Back,Raw/Unedited', {}, await makeImage(90, 120)],
        [RELEASE, 'Booklet', { comment: 'page 1', position: '1' }, await makeImage(60, 60, { format: 'gif' })],
        [OTHER, 'Medium,Top', {}, await makeImage(50, 50)],
      ];
      for (const [mbid, types, fields, bytes] of uploads) {
        const response = await source.get(`/api/v1/releases/${mbid}/images`, { method: 'POST', headers: source.admin, body: form({ ...fields, types, file: { bytes } }) });
        assert.equal(response.status, 201);
        originals.set((await response.json()).id, bytes);
      }
    } finally {
      await source.close();
    }

    const exported = await jacketCli(sourceDir, 'export', 'coverartarchive', '--out', outDir);
    assert.equal(exported.code, 0, exported.stderr + exported.stdout);
    assert.match(exported.stdout, /exported 2 releases: 4 images/);
    const folder = await fs.readdir(path.join(outDir, `mbid-${RELEASE}`));
    assert.ok(folder.includes('index.json'));
    for (const [id, bytes] of originals) {
      const mbid = folder.some((name) => name.includes(String(id))) ? RELEASE : OTHER;
      const file = (await fs.readdir(path.join(outDir, `mbid-${mbid}`))).find((name) => name.startsWith(`mbid-${mbid}-${id}.`))!;
      assert.ok((await fs.readFile(path.join(outDir, `mbid-${mbid}`, file))).equals(bytes), file);
    }
    assert.ok(folder.some((name) => /\.png$/.test(name)) && folder.some((name) => /\.gif$/.test(name)));

    const first = await jacketCli(targetDir, 'import', 'coverartarchive', outDir);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    assert.match(first.stdout, /imported 2 releases: 4 images, 0 already there, 0 skipped/);
    const second = await jacketCli(targetDir, 'import', 'coverartarchive', outDir);
    assert.equal(second.code, 0);
    assert.match(second.stdout, /imported 2 releases: 0 images, 4 already there, 0 skipped/);

    const sourceAgain = await startJacket({ JACKET_DATA_DIR: sourceDir });
    const target = await startJacket({ JACKET_DATA_DIR: targetDir });
    try {
      for (const mbid of [RELEASE, OTHER]) assert.equal(await listing(target, mbid), await listing(sourceAgain, mbid), mbid);
      for (const [id, bytes] of originals) {
        const mbid = JSON.parse(await listing(target, RELEASE)).images.some((image: { id: string }) => image.id === String(id)) ? RELEASE : OTHER;
        const redirect = await target.get(`/release/${mbid}/${id}`);
        assert.equal(redirect.status, 307);
        const file = await target.get(redirect.headers.get('location')!.slice(target.url.length));
        assert.ok(Buffer.from(await file.arrayBuffer()).equals(bytes));
      }
      // The release group and date came along: the group answers with the release.
      assert.equal((await target.get(`/release-group/${GROUP}`)).headers.get('location'), `${target.url}/download/mbid-${RELEASE}/index.json`);
    } finally {
      await sourceAgain.close();
      await target.close();
    }

    // A damaged folder is reported and the exit code says so; the rest is imported.
    const damaged = await makeTempDir('jacket-caa-damaged-');
    await fs.mkdir(path.join(damaged, 'not-a-release'));
    await fs.cp(path.join(outDir, `mbid-${OTHER}`), path.join(damaged, `mbid-${OTHER}`), { recursive: true });
    const emptyDir = await makeTempDir();
    const partial = await jacketCli(emptyDir, 'import', 'coverartarchive', damaged);
    assert.equal(partial.code, 1);
    assert.match(partial.stdout, /1 images, 0 already there, 1 skipped/);
    assert.match(partial.stdout, /not-a-release/);
    await fs.rm(damaged, { recursive: true, force: true });
    await fs.rm(emptyDir, { recursive: true, force: true });
  } finally {
    for (const dir of [sourceDir, targetDir, outDir]) await fs.rm(dir, { recursive: true, force: true });
  }
});
