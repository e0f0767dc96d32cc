import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import SQLite from 'better-sqlite3';
import { createServices, type Services } from '../src/services.ts';
import { parseIndex, TarWriter } from '../src/bulk/tar.ts';
import { loadConfig } from '../src/config.ts';
import { dimensionsOf, makeImage } from './helpers/images.ts';
import { makeTempDir, startJacket, type RunningJacket } from './helpers/server.ts';

const root = path.resolve(import.meta.dirname, '..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real command, as a user runs it. */
function jacket(dataDir: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      path.join(root, 'node_modules/.bin/node'),
      [path.join(root, 'bin/jacket.js'), ...args],
      { cwd: root, env: { ...process.env, JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: 'test-admin-token', LOG_LEVEL: 'silent' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function openServices(dataDir: string): Promise<Services> {
  return createServices(loadConfig({ JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: 'test-admin-token', LOG_LEVEL: 'silent' }));
}

/** Every catalogue row that a re-import must leave untouched. */
function snapshot(dataDir: string): string {
  const db = new SQLite(path.join(dataDir, 'catalogue.sqlite'), { readonly: true });
  try {
    return JSON.stringify([
      db.prepare('SELECT * FROM covers ORDER BY id').all(),
      db.prepare('SELECT scheme, value, olid, cover_id FROM identifiers ORDER BY scheme, value, olid, cover_id').all(),
      db.prepare('SELECT olid, kind FROM entities ORDER BY olid').all(),
      db.prepare('SELECT * FROM sequences').all(),
    ]);
  } finally {
    db.close();
  }
}

describe('export → import round trip through the CLI', () => {
  let work: string;
  let source: string;
  let target: string;
  const ids: Record<string, number> = {};
  const originals = new Map<number, Buffer>();
  let sourceServer: RunningJacket;
  let targetServer: RunningJacket;
  let exportRuns: Run[];
  let importRuns: Run[];

  before(async () => {
    work = await makeTempDir();
    source = path.join(work, 'source');
    target = path.join(work, 'target');
    const services = await openServices(source);
    const add = async (name: string, upload: Parameters<Services['ingest']['addCover']>[0]) => {
      const cover = await services.ingest.addCover(upload);
      ids[name] = cover.id;
      originals.set(cover.id, upload.bytes!);
    };
    await add('first', { category: 'b', olid: 'OL1M', bytes: await makeImage(300, 450), identifiers: [{ scheme: 'isbn', value: '9780385472579' }, { scheme: 'oclc', value: '12345' }] });
    await add('second', { category: 'b', olid: 'OL1M', bytes: await makeImage(320, 480, { format: 'png', color: '#aa3300' }) });
    await add('loose', { category: 'b', bytes: await makeImage(200, 300, { color: '#00aa33' }), identifiers: [{ scheme: 'isbn', value: '9791032305690' }, { scheme: 'lccn', value: '93000005' }] });
    await add('author', { category: 'a', olid: 'OL5A', bytes: await makeImage(240, 300, { color: '#333333' }) });
    await add('far', { category: 'b', olid: 'OL2M', id: 5320001, bytes: await makeImage(100, 160, { color: '#999999' }), identifiers: [{ scheme: 'goodreads', value: '777' }] });
    await add('gone', { category: 'b', olid: 'OL3M', bytes: await makeImage(100, 160, { color: '#123456' }) });
    await services.catalogue.deleteCover(ids.gone!);
    // An edition known only by its identifiers, with no cover.
    await services.catalogue.ensureEntity(services.db, 'OL9M', 'edition');
    await services.catalogue.attachIdentifiers(services.db, [{ scheme: 'isbn', value: '9780140328721' }], { olid: 'OL9M' });
    await services.close();

    exportRuns = await Promise.all([
      jacket(source, 'export', 'openlibrary', '--out', path.join(work, 'archives')),
      jacket(source, 'export', 'idmap', '--out', path.join(work, 'idmap.tsv')),
    ]);
    // The imports run while a server serves the target store.
    targetServer = await startJacket({ JACKET_DATA_DIR: target });
    // The mapping first: its cover links wait for the covers, which the archive import then picks up.
    importRuns = [await jacket(target, 'import', 'idmap', path.join(work, 'idmap.tsv'))];
    importRuns.push(await jacket(target, 'import', 'openlibrary', path.join(work, 'archives')));
    sourceServer = await startJacket({ JACKET_DATA_DIR: source });
  });
  after(async () => {
    await sourceServer?.close();
    await targetServer?.close();
    await fs.rm(work, { recursive: true, force: true });
  });

  test('exports and imports succeed', () => {
    for (const run of [...exportRuns, ...importRuns]) assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(exportRuns[0]!.stdout, /exported 5 covers into 8 archives/);
    assert.match(importRuns[1]!.stdout, /5 covers imported/);
  });

  test('archives follow the Open Library layout, with an index and the served sizes', async () => {
    const archives = path.join(work, 'archives');
    const files: string[] = [];
    for (const dir of (await fs.readdir(archives)).sort()) for (const file of (await fs.readdir(path.join(archives, dir))).sort()) files.push(`${dir}/${file}`);
    assert.deepEqual(files, [
      'covers_0000/covers_0000_00.index',
      'covers_0000/covers_0000_00.tar',
      'covers_0005/covers_0005_32.index',
      'covers_0005/covers_0005_32.tar',
      'l_covers_0000/l_covers_0000_00.index',
      'l_covers_0000/l_covers_0000_00.tar',
      'l_covers_0005/l_covers_0005_32.index',
      'l_covers_0005/l_covers_0005_32.tar',
      'm_covers_0000/m_covers_0000_00.index',
      'm_covers_0000/m_covers_0000_00.tar',
      'm_covers_0005/m_covers_0005_32.index',
      'm_covers_0005/m_covers_0005_32.tar',
      's_covers_0000/s_covers_0000_00.index',
      's_covers_0000/s_covers_0000_00.tar',
      's_covers_0005/s_covers_0005_32.index',
      's_covers_0005/s_covers_0005_32.tar',
    ]);
    const tar = path.join(archives, 's_covers_0000/s_covers_0000_00.tar');
    const index = parseIndex(await fs.readFile(tar.replace('.tar', '.index'), 'utf8'));
    assert.deepEqual(index.map((entry) => entry.name), [ids.first!, ids.second!, ids.loose!, ids.author!].map((id) => `${String(id).padStart(10, '0')}-S.jpg`));
    const bytes = await fs.readFile(tar);
    const first = index[0]!;
    // 300×450 into the 116×58 box: 38×58, as /b/id/N-S.jpg serves it.
    assert.deepEqual(await dimensionsOf(bytes.subarray(first.offset, first.offset + first.size)), { width: 38, height: 58, format: 'jpeg' });
    assert.match(execFileSync('tar', ['-tf', path.join(archives, 'covers_0005/covers_0005_32.tar')], { encoding: 'utf8' }), /^0005320001\.jpg$/m);
  });

  test('the identifier mapping has both ISBN forms, OL keys and cover ids', async () => {
    const rows = (await fs.readFile(path.join(work, 'idmap.tsv'), 'utf8')).split('\n').filter(Boolean);
    for (const row of [
      `olid\tOL1M\t/books/OL1M\t${ids.first}`,
      `isbn_13\t9780385472579\t/books/OL1M\t${ids.first}`,
      `isbn_10\t0385472579\t/books/OL1M\t${ids.first}`,
      `oclc\t12345\t/books/OL1M\t${ids.second}`,
      `olid\tOL5A\t/authors/OL5A\t${ids.author}`,
      `isbn_13\t9791032305690\t\t${ids.loose}`,
      `lccn\t93000005\t\t${ids.loose}`,
      `goodreads\t777\t/books/OL2M\t5320001`,
      `isbn_13\t9780140328721\t/books/OL9M\t`,
      `isbn_10\t0140328726\t/books/OL9M\t`,
    ]) {
      assert.ok(rows.includes(row), `missing row ${JSON.stringify(row)}`);
    }
    assert.ok(!rows.some((row) => row.includes('OL3M')), 'deleted covers are not exported');
  });

  test('ids, bytes and every lookup are the same in the new store', async () => {
    for (const [id, bytes] of originals) {
      if (id === ids.gone) {
        assert.equal((await targetServer.get(`/b/id/${id}.jpg?default=false`)).status, 404);
        continue;
      }
      const response = await targetServer.get(`/b/id/${id}.jpg`);
      assert.equal(response.status, 200);
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes), `cover ${id} bytes`);
    }
    for (const lookup of [
      '/b/isbn/0385472579.json',
      '/b/isbn/9780385472579.json',
      '/b/oclc/12345.json',
      '/b/olid/OL1M.json',
      '/b/isbn/9791032305690.json',
      '/b/lccn/93000005.json',
      '/a/olid/OL5A.json',
      '/b/goodreads/777.json',
      '/b/olid/OL2M.json',
      '/b/isbn/0140328726.json',
      `/b/id/${ids.author}.json`,
    ]) {
      const [before, after] = await Promise.all([sourceServer.get(lookup), targetServer.get(lookup)]);
      assert.equal(after.status, before.status, lookup);
      assert.equal(after.headers.get('location'), before.headers.get('location'), lookup);
    }
    const body = await (await targetServer.get(`/b/id/${ids.first}.json`)).json();
    assert.equal(body.olid, 'OL1M');
  });

  test('importing the same files again changes nothing', async () => {
    await targetServer.close();
    const before = snapshot(target);
    const again = [await jacket(target, 'import', 'openlibrary', path.join(work, 'archives')), await jacket(target, 'import', 'idmap', path.join(work, 'idmap.tsv'))];
    for (const run of again) assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(again[0]!.stdout, /0 covers imported, 5 already present/);
    assert.equal(snapshot(target), before);
    targetServer = await startJacket({ JACKET_DATA_DIR: target });
  });
});

describe('archives and dumps written by other programs', () => {
  let work: string;
  let dataDir: string;
  const images: Record<string, Buffer> = {};

  before(async () => {
    work = await makeTempDir();
    dataDir = path.join(work, 'data');
    images.seven = await makeImage(300, 450);
    images.eightM = await makeImage(180, 270, { color: '#aa0000' });
    images.eightS = await makeImage(38, 58, { color: '#aa0000' });
    images.broken = (await makeImage(300, 450, { color: '#0000aa' })).subarray(0, 600);
    for (const [name, bytes] of Object.entries(images)) await fs.writeFile(path.join(work, `${name}.bin`), bytes);
  });
  after(() => fs.rm(work, { recursive: true, force: true }));

  test("a Python tarfile archive: good entries imported, bad ones reported, exit code 1", async () => {
    const script = `
import sys, tarfile, os
w = sys.argv[1]
with tarfile.open(os.path.join(w, 'pyarchive', 'fixture.tar'), 'w') as t:
    d = tarfile.TarInfo('covers'); d.type = tarfile.DIRTYPE; t.addfile(d)
    t.add(os.path.join(w, 'seven.bin'), arcname='covers/0000000007.jpg')
    t.add(os.path.join(w, 'eightS.bin'), arcname='covers/0000000008-S.jpg')
    t.add(os.path.join(w, 'eightM.bin'), arcname='covers/0000000008-M.jpg')
    t.add(os.path.join(w, 'broken.bin'), arcname='covers/0000000009.jpg')
    t.add(os.path.join(w, 'seven.bin'), arcname='covers/readme.txt')
    l = tarfile.TarInfo('covers/0000000010.jpg'); l.type = tarfile.SYMTYPE; l.linkname = '0000000007.jpg'; t.addfile(l)
`;
    await fs.mkdir(path.join(work, 'pyarchive'));
    execFileSync('python3', ['-c', script, work]);
    const run = await jacket(dataDir, 'import', 'openlibrary', path.join(work, 'pyarchive'));
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /2 covers imported/);
    assert.match(run.stdout, /skipped 3:/);
    assert.match(run.stdout, /not_a_file: 1\n\s+e\.g\. fixture\.tar:covers\/0000000010\.jpg: a symlink entry/);
    assert.match(run.stdout, /not_an_id: 1\n\s+e\.g\. fixture\.tar:covers\/readme\.txt/);
    assert.match(run.stdout, /corrupt_image: 1\n\s+e\.g\. fixture\.tar:covers\/0000000009\.jpg/);
    const services = await openServices(dataDir);
    try {
      const seven = await services.catalogue.getCover(7);
      assert.ok((await services.blobs.get(seven!.blobKey))!.equals(images.seven!));
      // Only sizes of cover 8 exist: the largest stands in for its original.
      const eight = await services.catalogue.getCover(8);
      assert.ok((await services.blobs.get(eight!.blobKey))!.equals(images.eightM!));
      assert.equal(await services.catalogue.getCover(9), undefined);
      // The sequence moved past the imported ids.
      const next = await services.ingest.addCover({ category: 'b', bytes: await makeImage(10, 10) });
      assert.ok(next.id > 8);
    } finally {
      await services.close();
    }
  });

  test('import accepts the .index under either name (Open Library\'s covers_NNNN_NN.index, or covers_NNNN_NN.tar.index)', async () => {
    const folder = path.join(work, 'both-index-names');
    const ids = [30001, 40001];
    for (const id of ids) {
      const writer = await TarWriter.create(path.join(folder, `covers_0000_0${String(id)[0]}.tar`));
      await writer.add(`${id}.jpg`, await makeImage(40, 60, { color: `#${String(id).slice(0, 3)}0aa` }), 1_700_000_000);
      await writer.finish();
    }
    // The second archive's index under the older, non-Open Library name.
    await fs.rename(path.join(folder, 'covers_0000_04.index'), path.join(folder, 'covers_0000_04.tar.index'));
    assert.deepEqual((await fs.readdir(folder)).sort(), ['covers_0000_03.index', 'covers_0000_03.tar', 'covers_0000_04.tar', 'covers_0000_04.tar.index']);
    const run = await jacket(dataDir, 'import', 'openlibrary', folder);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /read 2 archives: 2 covers imported/);
    assert.doesNotMatch(run.stdout, /skipped/);
  });

  test('an input that does not exist is a usage error (exit code 2)', async () => {
    const run = await jacket(dataDir, 'import', 'openlibrary', path.join(work, 'no-such-folder'));
    assert.equal(run.code, 2);
    assert.match(run.stderr, /no-such-folder does not exist/);
  });

  test('a truncated archive: entries before the cut are imported, the damage is reported', async () => {
    await fs.mkdir(path.join(work, 'cut'));
    const whole = path.join(work, 'cut', 'covers_0000_01.tar');
    const writer = await TarWriter.create(whole);
    for (const id of [10001, 10002, 10003]) await writer.add(`${id}.jpg`, await makeImage(50, 80, { color: `#${String(id).slice(-3)}000` }), 1_700_000_000);
    await writer.finish();
    const bytes = await fs.readFile(whole);
    const third = parseIndex(await fs.readFile(whole.replace('.tar', '.index'), 'utf8'))[2]!;
    await fs.writeFile(whole, bytes.subarray(0, third.offset + 100));
    await fs.rm(whole.replace('.tar', '.index'));
    const run = await jacket(dataDir, 'import', 'openlibrary', whole);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /2 covers imported/);
    assert.match(run.stdout, /damaged_archive: 1\n\s+e\.g\. covers_0000_01\.tar: /);
  });

  test('one endless line in an editions dump or an id mapping is a damaged line: the import goes on and stays small', async () => {
    const edition = `/type/edition\t/books/OL300M\t1\t2021-01-01T00:00:00.000000\t${JSON.stringify({ key: '/books/OL300M', isbn_13: ['9780261102217'] })}`;
    // 64 MB of one line, a few dozen KB compressed; the reader keeps at most 4 MB of a line.
    const endless = Buffer.alloc(64 * 1024 * 1024, 0x78);
    await fs.writeFile(path.join(work, 'hostile-editions.txt.gz'), gzipSync(Buffer.concat([endless, Buffer.from(`\n${edition}\n`)])));
    const editions = await jacket(dataDir, 'import', 'ol-editions', path.join(work, 'hostile-editions.txt.gz'));
    assert.equal(editions.code, 1, editions.stdout + editions.stderr);
    assert.match(editions.stdout, /read 2 lines: 1 identifiers added/);
    assert.match(editions.stdout, /damaged_line: 1\n\s+e\.g\. line 1: 67108864 bytes/);

    await fs.writeFile(path.join(work, 'hostile-idmap.tsv.gz'), gzipSync(Buffer.concat([endless, Buffer.from('\n')])));
    const idmap = await jacket(dataDir, 'import', 'idmap', path.join(work, 'hostile-idmap.tsv.gz'));
    assert.equal(idmap.code, 1, idmap.stdout + idmap.stderr);
    assert.match(idmap.stdout, /damaged_line: 1/);
  });

  test('an editions dump, gzip before the covers and plain after: links and identifiers both ways', async () => {
    const edition = (olid: string, fields: object) => `/type/edition\t/books/${olid}\t3\t2021-01-01T00:00:00.000000\t${JSON.stringify({ key: `/books/${olid}`, ...fields })}`;
    const zipped = [
      edition('OL100M', { covers: [20001], isbn_13: ['9780385472579'], oclc_numbers: ['4242'], title: 'Zen speaks', authors: [{ key: '/authors/OL26320A' }] }),
      '/type/author\t/authors/OL1A\t1\t2021-01-01T00:00:00.000000\t{}',
      edition('OL101M', { covers: [20002], identifiers: { goodreads: ['31337'], librarything: ['808'] }, lccn: ['2001-12'] }),
      'not a dump line',
    ].join('\n');
    await fs.writeFile(path.join(work, 'editions.txt.gz'), gzipSync(`${zipped}\n`));
    const first = await jacket(dataDir, 'import', 'ol-editions', path.join(work, 'editions.txt.gz'));
    assert.equal(first.code, 1, first.stdout + first.stderr);
    assert.match(first.stdout, /read 4 lines: 5 identifiers added, 0 covers linked, 2 links remembered/);
    assert.match(first.stdout, /not_an_edition: 1/);
    assert.match(first.stdout, /bad_line: 1/);

    await fs.mkdir(path.join(work, 'later'));
    const writer = await TarWriter.create(path.join(work, 'later', 'covers_0000_02.tar'));
    await writer.add('0000020001.jpg', await makeImage(60, 90, { color: '#010203' }), 1_700_000_000);
    await writer.add('0000020002.jpg', await makeImage(60, 90, { color: '#040506' }), 1_700_000_000);
    await writer.finish();
    const covers = await jacket(dataDir, 'import', 'openlibrary', path.join(work, 'later'));
    assert.equal(covers.code, 0, covers.stdout + covers.stderr);

    await fs.writeFile(path.join(work, 'editions.txt'), `${edition('OL107M', { covers: [7], isbn_10: ['0140328726'] })}\n`);
    const plain = await jacket(dataDir, 'import', 'ol-editions', path.join(work, 'editions.txt'));
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    assert.match(plain.stdout, /1 identifiers added, 1 covers linked, 0 links remembered/);

    const server = await startJacket({ JACKET_DATA_DIR: dataDir });
    try {
      for (const [lookup, id] of [
        ['/b/isbn/0385472579.json', 20001],
        ['/b/oclc/4242.json', 20001],
        ['/b/olid/OL100M.json', 20001],
        ['/b/goodreads/31337.json', 20002],
        ['/b/librarything/808.json', 20002],
        ['/b/lccn/2001000012.json', 20002],
        ['/b/isbn/9780140328721.json', 7],
        ['/b/olid/OL107M.json', 7],
      ] as const) {
        const response = await server.get(lookup);
        assert.equal(response.headers.get('location'), `/b/id/${id}.json`, lookup);
      }
      // The edition's title came along: the collection search finds its cover by it.
      const found = await (await server.get('/api/v1/covers?q=zen%20spea', { headers: server.admin })).json();
      assert.deepEqual(found.covers.map((cover: { id: number; title: string; authorKeys: string[] }) => [cover.id, cover.title, cover.authorKeys]), [[20001, 'Zen speaks', ['OL26320A']]]);
    } finally {
      await server.close();
    }
  });

  test('an export reports covers it cannot fully write and exports the rest (exit code 1)', async () => {
    const store = path.join(work, 'damaged-store');
    const services = await openServices(store);
    try {
      const good = await services.ingest.addCover({ category: 'b', bytes: await makeImage(100, 150) });
      // Rows whose bytes went bad on disk: one unreadable by the image library, one whose blob is gone.
      const garbage = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64, 1), Buffer.from([0xff, 0xd9])]);
      await services.blobs.put('originals/aa/aa/' + 'a'.repeat(64), garbage);
      const row = { category: 'b' as const, mime: 'image/jpeg', width: 100, height: 150, byteSize: garbage.length };
      await services.catalogue.addCover({ ...row, id: good.id + 1, blobKey: 'originals/aa/aa/' + 'a'.repeat(64), sha256: 'a'.repeat(64) });
      await services.catalogue.addCover({ ...row, id: good.id + 2, blobKey: 'originals/bb/bb/' + 'b'.repeat(64), sha256: 'b'.repeat(64) });
    } finally {
      await services.close();
    }
    const out = path.join(work, 'damaged-export');
    const run = await jacket(store, 'export', 'openlibrary', '--out', out, '--sizes', 'S');
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /exported 2 covers into 2 archives/);
    assert.match(run.stdout, /rendition_failed: 1/);
    assert.match(run.stdout, /missing_blob: 1/);
    const originals = parseIndex(await fs.readFile(path.join(out, 'covers_0000/covers_0000_00.index'), 'utf8'));
    assert.deepEqual(originals.map((entry) => entry.name), ['0000000001.jpg', '0000000002.jpg']);
    const sizes = parseIndex(await fs.readFile(path.join(out, 's_covers_0000/s_covers_0000_00.index'), 'utf8'));
    assert.deepEqual(sizes.map((entry) => entry.name), ['0000000001-S.jpg']);
  });

  test('a gzip dump cut short: the lines before the cut are imported, the damage is reported', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `olid\tOL${i + 1}M\t/books/OL${i + 1}M\t${900000 + i}`);
    const zipped = gzipSync(`${lines.join('\n')}\n`);
    const file = path.join(work, 'cut-idmap.tsv.gz');
    await fs.writeFile(file, zipped.subarray(0, Math.floor(zipped.length * 0.7)));
    const services = await openServices(path.join(work, 'gzip-store'));
    try {
      const { importIdMap } = await import('../src/bulk/identifier-dumps.ts');
      const summary = await importIdMap(services, file);
      assert.equal(summary.problems.count('damaged_file'), 1);
      assert.ok(summary.lines > 0 && summary.lines < 3000, String(summary.lines));
      assert.ok(summary.linksRemembered >= summary.lines - 1);
    } finally {
      await services.close();
    }
  });
});
