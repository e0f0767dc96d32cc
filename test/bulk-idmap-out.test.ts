import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServices } from '../src/services.ts';
import { loadConfig } from '../src/config.ts';
import { makeImage } from './helpers/images.ts';
import { ADMIN_TOKEN, makeTempDir } from './helpers/server.ts';

const root = path.resolve(import.meta.dirname, '..');

/** The real command, run from a scratch folder (so a file named `-` would land there, not in the checkout). */
function jacket(cwd: string, dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      path.join(root, 'node_modules/.bin/node'),
      [path.join(root, 'bin/jacket.js'), ...args],
      { cwd, env: { ...process.env, JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent' }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('export idmap --out: standard output, refused targets, unwritable paths', () => {
  let work: string;
  let dataDir: string;
  let coverId: number;

  before(async () => {
    work = await makeTempDir();
    dataDir = path.join(work, 'data');
    const services = await createServices(loadConfig({ JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent' }));
    try {
      const cover = await services.ingest.addCover({ category: 'b', olid: 'OL1M', bytes: await makeImage(60, 90), identifiers: [{ scheme: 'isbn', value: '9780385472579' }] });
      coverId = cover.id;
    } finally {
      await services.close();
    }
  });
  after(() => fs.rm(work, { recursive: true, force: true }));

  test('--out - writes the TSV to standard output and the report to standard error', async () => {
    const run = await jacket(work, dataDir, 'export', 'idmap', '--out', '-');
    assert.equal(run.code, 0, run.stderr);
    const rows = run.stdout.split('\n').filter(Boolean);
    assert.ok(rows.includes(`olid\tOL1M\t/books/OL1M\t${coverId}`), run.stdout);
    assert.ok(rows.includes(`isbn_13\t9780385472579\t/books/OL1M\t${coverId}`), run.stdout);
    for (const row of rows) assert.equal(row.split('\t').length, 4, `not a TSV row: ${JSON.stringify(row)}`);
    assert.match(run.stderr, /wrote 3 rows to standard output/);
    assert.deepEqual((await fs.readdir(work)).sort(), ['data']);
  });

  test('a target that exists and is not a regular file is refused with a sentence, and left as it was', async () => {
    const folder = path.join(work, 'a-folder');
    await fs.mkdir(folder);
    for (const target of [folder, '/dev/stdout', '/dev/null']) {
      const run = await jacket(work, dataDir, 'export', 'idmap', '--out', target);
      assert.equal(run.code, 2, `${target}: ${run.stdout}${run.stderr}`);
      assert.equal(run.stderr, `jacket: ${target} exists and is not a regular file; name a new or regular file, or - for standard output\n`);
      assert.equal(run.stdout, '');
    }
    assert.ok((await fs.stat(folder)).isDirectory());
    assert.ok((await fs.lstat('/dev/null')).isCharacterDevice());
    assert.deepEqual(await fs.readdir(folder), []);
    assert.deepEqual((await fs.readdir(work)).sort(), ['a-folder', 'data']);
  });

  test('an unwritable path is a one-line error with exit code 2, not a stack trace', async () => {
    const run = await jacket(work, dataDir, 'export', 'idmap', '--out', '/nonexistent/x.tsv');
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.equal(run.stderr, 'jacket: cannot write /nonexistent/x.tsv: its folder does not exist\n');
  });

  test('an existing regular file is replaced whole', async () => {
    const file = path.join(work, 'idmap.tsv');
    await fs.writeFile(file, 'old contents\n');
    const run = await jacket(work, dataDir, 'export', 'idmap', '--out', file);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /wrote 3 rows to /);
    const rows = (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean);
    assert.equal(rows.length, 3);
    assert.ok(!rows.includes('old contents'));
    await fs.rm(file);
  });
});
