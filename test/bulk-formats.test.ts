import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { OverlongLine, parseEditionLine, readLines } from '../src/bulk/editions.ts';
import { formatRow, idNamesFor, parseIdMapLine, parseOlKey } from '../src/bulk/idmap.ts';
import { jpegHeader } from '../src/bulk/jpeg-header.ts';
import { archiveName, archivePath, entryName, parseEntryName, seriesOfArchive } from '../src/bulk/layout.ts';
import { Problems, Progress } from '../src/bulk/report.ts';
import { parseIndex, readTar, TarWriter } from '../src/bulk/tar.ts';
import { quickInspect } from '../src/bulk/validate.ts';
import { makeImage } from './helpers/images.ts';
import { makeTempDir } from './helpers/server.ts';

const limits = { maxPixels: 50_000_000, maxImageBytes: 20_000_000 };

describe('Open Library bulk layout', () => {
  test('ids are zero-padded to 10 digits and split 4 + 2 + 4', () => {
    assert.equal(archiveName(5320000, ''), 'covers_0005_32');
    assert.equal(archiveName(5329999, 'S'), 's_covers_0005_32');
    assert.equal(archiveName(5330000, 'M'), 'm_covers_0005_33');
    assert.equal(archivePath(5320000, ''), 'covers_0005/covers_0005_32.tar');
    assert.equal(archivePath(240727, 'L'), 'l_covers_0000/l_covers_0000_24.tar');
    assert.equal(archivePath(1, 'S'), 's_covers_0000/s_covers_0000_00.tar');
  });

  test('entry names round-trip, other names are not ids', () => {
    assert.equal(entryName(5320000, ''), '0005320000.jpg');
    assert.equal(entryName(7, 'S'), '0000000007-S.jpg');
    assert.deepEqual(parseEntryName('0005320000.jpg'), { id: 5320000, series: '' });
    assert.deepEqual(parseEntryName('covers/0000000007-m.jpg'), { id: 7, series: 'M' });
    assert.deepEqual(parseEntryName('12.png'), { id: 12, series: '' });
    for (const name of ['cover.jpg', '0000000000.jpg', '12.txt', '12-X.jpg', '00000000001.jpg']) assert.equal(parseEntryName(name), undefined, name);
    assert.equal(seriesOfArchive('s_covers_0005_32.tar'), 'S');
    assert.equal(seriesOfArchive('covers_0005_32.tar'), '');
    assert.equal(seriesOfArchive('covers_0005_32.tar.index'), undefined);
    assert.equal(seriesOfArchive('covers_0005_32.index'), undefined);
  });
});

describe('USTAR writer and reader', () => {
  let dir: string;
  let file: string;
  const entries = [
    { name: '0000000001.jpg', data: Buffer.from('first cover bytes') },
    { name: '0000000002.jpg', data: Buffer.alloc(1024, 7) },
    { name: '0000000003.jpg', data: Buffer.alloc(0) },
    { name: '0000000004.jpg', data: Buffer.alloc(513, 9) },
  ];

  before(async () => {
    dir = await makeTempDir();
    file = path.join(dir, 'covers_0000', 'covers_0000_00.tar');
    const writer = await TarWriter.create(file);
    for (const entry of entries) await writer.add(entry.name, entry.data, 1_700_000_000);
    await writer.finish();
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  test('finish renames the .part files into place', async () => {
    assert.deepEqual((await fs.readdir(path.dirname(file))).sort(), ['covers_0000_00.index', 'covers_0000_00.tar']);
  });

  test('the .index gives each entry’s data offset and size', async () => {
    const archive = await fs.readFile(file);
    const index = parseIndex(await fs.readFile(file.replace('.tar', '.index'), 'utf8'));
    assert.deepEqual(index.map((line) => line.name), entries.map((entry) => entry.name));
    for (const [i, line] of index.entries()) {
      assert.equal(line.size, entries[i]!.data.length);
      assert.ok(archive.subarray(line.offset, line.offset + line.size).equals(entries[i]!.data));
    }
    assert.equal(index[0]!.offset, 512);
  });

  test('GNU tar lists and extracts it', async () => {
    const listing = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' });
    for (const entry of entries) assert.match(listing, new RegExp(entry.name.replace('.', '\\.')));
    const out = path.join(dir, 'gnu');
    await fs.mkdir(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    assert.ok((await fs.readFile(path.join(out, '0000000002.jpg'))).equals(entries[1]!.data));
  });

  test("Python's tarfile reads it as USTAR with the same bytes", () => {
    const script = [
      'import sys, tarfile, hashlib, json',
      'with tarfile.open(sys.argv[1]) as t:',
      '    print(json.dumps([[m.name, m.size, hashlib.sha256(t.extractfile(m).read()).hexdigest(), m.mtime] for m in t.getmembers()]))',
    ].join('\n');
    const members = JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as Array<[string, number, string, number]>;
    assert.deepEqual(
      members.map(([name, size]) => [name, size]),
      entries.map((entry) => [entry.name, entry.data.length]),
    );
    assert.equal(members[0]![3], 1_700_000_000);
  });

  test('readTar yields every entry with its bytes', async () => {
    const seen: Array<[string, Buffer]> = [];
    for await (const item of readTar(file, 1000)) {
      if (item.kind === 'file') seen.push([item.name, item.data]);
      else seen.push([item.name, Buffer.from(item.kind)]);
    }
    assert.deepEqual(seen.map(([name]) => name), entries.map((entry) => entry.name));
    assert.ok(seen[0]![1].equals(entries[0]!.data));
    // The 1024-byte entry is over the 1000-byte limit: reported, not read into memory.
    assert.equal(seen[1]![1].toString(), 'too-large');
  });

  test('a truncated archive yields the entries before the cut, then throws', async () => {
    const archive = await fs.readFile(file);
    const cut = path.join(dir, 'cut.tar');
    await fs.writeFile(cut, archive.subarray(0, 512 + 512 + 512 + 700));
    const names: string[] = [];
    await assert.rejects(async () => {
      for await (const item of readTar(cut, 10_000)) names.push(item.name);
    });
    assert.deepEqual(names, ['0000000001.jpg']);
  });
});

describe('import-time image check', () => {
  test('JPEG dimensions and EXIF orientation come from the header, as sharp reads them', async () => {
    const plain = await makeImage(300, 450);
    assert.deepEqual(jpegHeader(plain), { width: 300, height: 450, orientation: 1 });
    const rotated = await makeImage(300, 450, { orientation: 6 });
    const metadata = await sharp(rotated).metadata();
    assert.deepEqual(jpegHeader(rotated), { width: metadata.width, height: metadata.height, orientation: 6 });
    const image = await quickInspect(rotated, limits);
    assert.deepEqual([image.width, image.height, image.mime], [450, 300, 'image/jpeg']);
  });

  test('other formats pass, truncated and foreign data do not', async () => {
    for (const format of ['png', 'gif', 'webp', 'avif'] as const) {
      const bytes = await makeImage(40, 60, { format });
      const image = await quickInspect(bytes, limits);
      assert.deepEqual([image.width, image.height, image.format], [40, 60, format]);
      await assert.rejects(quickInspect(bytes.subarray(0, Math.floor(bytes.length * 0.6)), limits), { code: 'corrupt_image' }, format);
    }
    const jpeg = await makeImage(200, 300);
    await assert.rejects(quickInspect(jpeg.subarray(0, jpeg.length - 100), limits), { code: 'corrupt_image' });
    await assert.rejects(quickInspect(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), limits), { code: 'unsupported_format' });
    await assert.rejects(quickInspect(Buffer.alloc(0), limits), { code: 'empty_image' });
    await assert.rejects(quickInspect(jpeg, { maxPixels: 1000, maxImageBytes: 1e9 }), { code: 'too_many_pixels' });
  });
});

describe('identifier mapping rows', () => {
  test('ISBNs are written in both forms when both exist', () => {
    assert.deepEqual(idNamesFor('isbn', '9780385472579'), [['isbn_13', '9780385472579'], ['isbn_10', '0385472579']]);
    assert.deepEqual(idNamesFor('isbn', '9791032305690'), [['isbn_13', '9791032305690']]);
    assert.deepEqual(idNamesFor('oclc', '12345'), [['oclc', '12345']]);
    assert.equal(formatRow('isbn_13', '9780385472579', '/books/OL7353617M', 240727), 'isbn_13\t9780385472579\t/books/OL7353617M\t240727\n');
  });

  test('lines parse into identifiers, entities and cover links', () => {
    assert.deepEqual(parseIdMapLine('isbn_10\t0385472579\t/books/OL7353617M\t240727'), {
      ok: true,
      row: { identifier: { scheme: 'isbn', value: '9780385472579' }, entity: { olid: 'OL7353617M', kind: 'edition' }, coverId: 240727 },
    });
    assert.deepEqual(parseIdMapLine('olid\tOL229501A\t/authors/OL229501A\t12'), {
      ok: true,
      row: { entity: { olid: 'OL229501A', kind: 'author' }, coverId: 12 },
    });
    assert.deepEqual(parseIdMapLine('oclc\t(OCoLC)0042\t\t9'), { ok: true, row: { identifier: { scheme: 'oclc', value: '42' }, coverId: 9 } });
    assert.equal(parseIdMapLine(''), undefined);
    assert.equal(parseIdMapLine('ID-Name\tID-Value\tOL-KEY\tCoverID'), undefined);
    for (const [line, code] of [
      ['isbn_13\tnot-an-isbn\t/books/OL1M\t1', 'bad_identifier'],
      ['asin\tB000\t/books/OL1M\t1', 'unknown_id_name'],
      ['isbn_13\t9780385472579\t/books/OL1A\t1', 'bad_ol_key'],
      ['isbn_13\t9780385472579\t/books/OL1M', 'bad_line'],
      ['isbn_13\t9780385472579\t/books/OL1M\tx', 'bad_cover_id'],
      ['isbn_13\t9780385472579\t\t', 'bad_line'],
    ] as const) {
      const parsed = parseIdMapLine(line);
      assert.equal(parsed?.ok, false, line);
      assert.equal(parsed && !parsed.ok && parsed.code, code, line);
    }
    assert.deepEqual(parseOlKey('/works/OL45W'), { olid: 'OL45W', kind: 'work' });
  });
});

describe('editions dump', () => {
  const record = {
    key: '/books/OL7353617M',
    covers: [240727, -1, 240727],
    isbn_10: ['0385472579'],
    isbn_13: ['9780385472579'],
    oclc_numbers: ['ocm12345'],
    lccn: ['93-5'],
    identifiers: { goodreads: ['1234'], librarything: ['5678'] },
    title: 'Zen  speaks\n',
    authors: [{ key: '/authors/OL26320A' }, { author: { key: '/authors/OL2A' } }, { key: '/people/x' }, { key: '/authors/OL26320A' }],
  };
  const line = `/type/edition\t/books/OL7353617M\t4\t2010-04-14T02:50:33.474587\t${JSON.stringify(record)}`;

  test('takes covers, the identifier fields, the title and the author ids', () => {
    assert.deepEqual(parseEditionLine(line), {
      ok: true,
      edition: {
        olid: 'OL7353617M',
        identifiers: [
          { scheme: 'isbn', value: '9780385472579' },
          { scheme: 'oclc', value: '12345' },
          { scheme: 'lccn', value: '93000005' },
          { scheme: 'goodreads', value: '1234' },
          { scheme: 'librarything', value: '5678' },
        ],
        covers: [240727],
        title: 'Zen speaks',
        authorKeys: ['OL26320A', 'OL2A'],
        invalid: [],
      },
    });
  });

  test('reports what it cannot use', () => {
    const codeOf = (text: string) => {
      const parsed = parseEditionLine(text);
      return parsed && !parsed.ok ? parsed.code : 'ok';
    };
    assert.equal(codeOf('/type/author\t/authors/OL1A\t1\t2010-01-01\t{}'), 'not_an_edition');
    assert.equal(codeOf('/type/edition\t/books/OL1M\t1\t2010-01-01\t{not json'), 'bad_json');
    assert.equal(codeOf('/type/edition\t/books/OL1M'), 'bad_line');
    assert.equal(codeOf('/type/edition\t/works/OL1W\t1\t2010-01-01\t{}'), 'bad_key');
    const invalid = parseEditionLine('/type/edition\t/books/OL1M\t1\t2010-01-01\t{"isbn_10":["n/a"]}');
    assert.deepEqual(invalid?.ok && invalid.edition.invalid, ['isbn_10 "n/a"']);
  });

  test('lines are read from plain and gzip files alike', async () => {
    const dir = await makeTempDir();
    try {
      const text = `${line}\n${line}\n`;
      await fs.writeFile(path.join(dir, 'plain.txt'), text);
      await fs.writeFile(path.join(dir, 'zipped.txt.gz'), gzipSync(text));
      for (const name of ['plain.txt', 'zipped.txt.gz']) {
        const lines: Array<string | OverlongLine> = [];
        for await (const read of readLines(path.join(dir, name))) lines.push(read);
        assert.deepEqual(lines, [line, line], name);
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test('a line longer than the limit is reported by its length and skipped, never held whole; the next lines are read', async () => {
    const dir = await makeTempDir();
    try {
      // 40 MB of one line in a gzip of a few dozen KB: read with a 1 MB limit.
      const huge = Buffer.alloc(40 * 1024 * 1024, 0x61);
      await fs.writeFile(path.join(dir, 'hostile.txt.gz'), gzipSync(Buffer.concat([Buffer.from(`${line}\n`), huge, Buffer.from(`\n${line}\r\nlast`)])));
      const read: Array<string | OverlongLine> = [];
      for await (const item of readLines(path.join(dir, 'hostile.txt.gz'), undefined, 1024 * 1024)) read.push(item);
      assert.equal(read.length, 4);
      assert.equal(read[0], line);
      assert.ok(read[1] instanceof OverlongLine);
      assert.equal((read[1] as OverlongLine).bytes, huge.length);
      assert.equal(read[2], line, 'a CRLF ending loses its CR');
      assert.equal(read[3], 'last', 'a last line without a newline is read');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

test('problems keep counts and the first examples', () => {
  const problems = new Problems();
  for (let i = 0; i < 8; i++) problems.add('not_an_id', `entry ${i}`);
  problems.add('corrupt_image', 'x');
  assert.equal(problems.total, 9);
  const lines = problems.lines();
  assert.equal(lines[0], 'skipped 9:');
  assert.equal(lines[1], '  not_an_id: 8');
  assert.equal(lines.filter((line) => line.includes('e.g. entry')).length, 5);
});

test('without a terminal, progress is plain lines with rate, percentage and ETA', () => {
  const written: string[] = [];
  const stream = { isTTY: false, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
  const progress = new Progress({ label: 'import openlibrary', unit: 'covers', total: 1000, stream, intervalSeconds: 0 });
  progress.update(250, 42);
  progress.stop();
  assert.equal(written.length, 1);
  assert.match(written[0]!, /^import openlibrary: 42 covers, \d+ covers\/s, 25\.0%, ETA (\d+s|\?)\n$/);
});
