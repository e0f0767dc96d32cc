// A library's folder of scans named by ISBN, loaded with `jacket import folder`: a thousand files, a report by kind
// with examples, and a second run that imports nothing new.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import sharp from 'sharp';
import { targetOfName } from '../src/bulk/folder.ts';
import { isbn10To13, isbn13To10 } from '../src/identifiers/index.ts';
import { makeImage } from './helpers/images.ts';
import { runJacket } from './helpers/process.ts';
import { makeTempDir, startJacket } from './helpers/server.ts';

const FILES = 1000;

/** A small PNG of its own colour: every file's bytes differ. */
function scan(index: number): Promise<Buffer> {
  return sharp({ create: { width: 4, height: 6, channels: 3, background: { r: index % 256, g: Math.floor(index / 256), b: 77 } } }).png().toBuffer();
}

/** The ISBN-13 of the index'th book of the folder. */
const isbnOf = (index: number) => isbn10To13(`${385000000 + index}0`);

function coverCount(dataDir: string): number {
  const db = new SQLite(path.join(dataDir, 'catalogue.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM covers').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('jacket import folder', () => {
  let work: string;
  let folder: string;
  let dataDir: string;
  const importFolder = (...args: string[]) => runJacket(['import', 'folder', ...args], { JACKET_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });

  before(async () => {
    work = await makeTempDir('jacket-folder-');
    folder = path.join(work, 'scans');
    dataDir = path.join(work, 'data');
    await fs.mkdir(path.join(folder, 'shelf 2'), { recursive: true });
    // 998 books in the three spellings a scanner leaves (ISBN-13, hyphenated ISBN-10, a `_back` suffix), some in a
    // subfolder, and one book with a front and a back.
    for (let index = 0; index < FILES - 2; index++) {
      const isbn13 = isbnOf(index);
      const isbn10 = isbn13To10(isbn13)!;
      const name = index % 10 === 0 ? `${isbn10[0]}-${isbn10.slice(1, 4)}-${isbn10.slice(4, 9)}-${isbn10[9]}.png` : index % 10 === 1 ? `${isbn10}_cover.png` : `${isbn13}.png`;
      await fs.writeFile(path.join(folder, index % 7 === 0 ? 'shelf 2' : '', name), await scan(index));
    }
    await fs.writeFile(path.join(folder, '9780385472579_back.jpg'), await makeImage(30, 45, { color: '#000000' }));
    await fs.writeFile(path.join(folder, '9780385472579.jpg'), await makeImage(30, 45, { color: '#ffffff' }));
    // What goes wrong in real folders.
    await fs.writeFile(path.join(folder, '9780385472578.png'), await scan(5000));
    await fs.writeFile(path.join(folder, '0-385-47257-0.png'), await scan(5001));
    await fs.writeFile(path.join(folder, '9780306406157.jpg'), Buffer.from('not an image at all'));
    await fs.writeFile(path.join(folder, '9780140328721.png'), await scan(0));
    await fs.writeFile(path.join(folder, 'scan-0001.png'), await scan(5002));
    await fs.writeFile(path.join(folder, '.DS_Store'), 'finder');
  });
  after(() => fs.rm(work, { recursive: true, force: true }));

  test('names: ISBN-13, ISBN-10 with hyphens, the part before _, OLIDs; a wrong check digit said so', () => {
    const isbn = (name: string) => {
      const named = targetOfName(name, 'b');
      return named.ok ? named.target.identifiers[0]?.value ?? named.target.olid : named.code;
    };
    assert.equal(isbn('9780385472579.jpg'), '9780385472579');
    assert.equal(isbn('0-385-47257-9.png'), '9780385472579');
    assert.equal(isbn('0385472579_back.jpg'), '9780385472579');
    assert.equal(isbn('080442957x.jpeg'), '9780804429573');
    assert.equal(isbn('OL7353617M.jpg'), 'OL7353617M');
    assert.equal(isbn('9780385472578.jpg'), 'bad_check_digit');
    assert.equal(isbn('cover.jpg'), 'unknown_name');
    assert.equal(isbn('OL26320A.jpg'), 'unknown_name');
    const author = targetOfName('OL26320A.jpg', 'a');
    assert.deepEqual(author.ok && author.target, { identifiers: [], olid: 'OL26320A' });
  });

  test('a dry run reports what it would do and stores nothing', async () => {
    const run = await importFolder(folder, '--dry-run');
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, new RegExp(`^read ${FILES + 5} files: ${FILES} covers would be imported \\(dry run: nothing stored\\), 0 already imported$`, 'm'));
    assert.equal(coverCount(dataDir), 0);
  });

  test('a thousand ISBN-named files: imported, reported by kind with examples, found by their ISBNs', async () => {
    const run = await importFolder(folder);
    assert.equal(run.code, 1, 'something was skipped: exit code 1, as the other bulk commands');
    assert.match(run.stdout, new RegExp(`^read ${FILES + 5} files: ${FILES} covers imported, 0 already imported$`, 'm'));
    assert.match(run.stdout, /^skipped 5:$/m);
    assert.match(run.stdout, /^  bad_check_digit: 2\n(    e\.g\. .*\n){2}/m);
    assert.match(run.stdout, /e\.g\. 9780385472578\.png: 9780385472578 has the shape of an ISBN but a wrong check digit/);
    assert.match(run.stdout, /^  unreadable_image: 1\n    e\.g\. 9780306406157\.jpg: not a JPEG, PNG, GIF, WebP or AVIF image$/m);
    assert.match(run.stdout, /^  duplicate: 1\n    e\.g\. shelf 2\/3-850-00000-1\.png: the same image \(SHA-256\) as cover \d+, which has other identifiers; not imported again$/m);
    assert.match(run.stdout, /^  unknown_name: 1\n    e\.g\. scan-0001\.png: the name is not an ISBN/m);
    assert.equal(coverCount(dataDir), FILES);

    const server = await startJacket({ JACKET_DATA_DIR: dataDir });
    try {
      // Book 0 is the duplicate (the same bytes came first under another ISBN).
      for (const index of [1, 2, 7, 10, 997]) {
        const isbn13 = isbnOf(index);
        const response = await server.get(`/b/isbn/${isbn13To10(isbn13)}.json`);
        assert.equal(response.status, 302, `book ${index} (${isbn13})`);
      }
      // The plain name is the front: imported after its `_back`, it is what the ISBN shows.
      const front = await server.get('/b/isbn/9780385472579.jpg');
      const { data } = await sharp(Buffer.from(await front.arrayBuffer())).raw().toBuffer({ resolveWithObject: true });
      assert.ok(data[0]! > 200, 'the white front, not the black back');
      const listed = await (await server.get('/api/v1/covers?q=0-385-47257-9', { headers: server.admin })).json();
      assert.equal(listed.total, 2, 'front and back are both covers of the ISBN');
    } finally {
      await server.close();
    }
  });

  test('a second run imports nothing new', async () => {
    const run = await importFolder(folder);
    assert.match(run.stdout, new RegExp(`^read ${FILES + 5} files: 0 covers imported, ${FILES} already imported$`, 'm'));
    assert.match(run.stdout, /^  duplicate: 1\n    e\.g\. shelf 2\/3-850-00000-1\.png: the same image \(SHA-256\) as cover \d+, which has other identifiers/m);
    assert.equal(coverCount(dataDir), FILES);
  });

  test('a CSV maps any name to identifiers of any kind, a title and an author; bad rows are reported', async () => {
    const mapped = path.join(work, 'mapped');
    await fs.mkdir(mapped);
    await fs.writeFile(path.join(mapped, 'IMG_0001.png'), await scan(7001));
    await fs.writeFile(path.join(mapped, 'IMG_0002.png'), await scan(7002));
    await fs.writeFile(path.join(mapped, 'IMG_0003.png'), await scan(7003));
    await fs.writeFile(path.join(mapped, '9781566199094.png'), await scan(7004));
    await fs.writeFile(path.join(mapped, 'IMG_0004.png'), await scan(7001));
    const csv = path.join(mapped, 'mapping.csv');
    await fs.writeFile(
      csv,
      [
        'file,isbn,oclc,title,author',
        'IMG_0001.png,0-261-10221-4,ocm45522,"The Fellowship of the Ring, being the first part",J. R. R. Tolkien',
        'IMG_0002.png,,(OCoLC)777,,',
        'IMG_0003.png,9780261102218,,,',
        'IMG_0009.png,9780261102217,,,',
        'IMG_0004.png,9780345339706,,,',
      ].join('\n'),
    );
    const run = await importFolder(mapped, '--csv', csv);
    assert.match(run.stdout, /^read 5 files: 3 covers imported, 0 already imported$/m, run.stdout + run.stderr);
    assert.match(run.stdout, /duplicate: 1\n    e\.g\. IMG_0004\.png: the same image \(SHA-256\) as IMG_0001\.png, cover \d+; not imported again/);
    assert.match(run.stdout, /bad_check_digit: 1\n    e\.g\. mapping\.csv line 4: 9780261102218 has the shape/);
    assert.match(run.stdout, /missing_file: 1\n    e\.g\. IMG_0009\.png: named in the CSV/);
    const server = await startJacket({ JACKET_DATA_DIR: dataDir });
    try {
      for (const lookup of ['/b/isbn/0261102214.json', '/b/oclc/45522.json', '/b/oclc/777.json', '/b/isbn/9781566199094.json']) {
        assert.equal((await server.get(lookup)).status, 302, lookup);
      }
      const [found] = (await (await server.get('/api/v1/covers?q=fellowship%20tolkien', { headers: server.admin })).json()).covers;
      assert.deepEqual([found.title, found.authors], ['The Fellowship of the Ring, being the first part', ['J. R. R. Tolkien']]);
    } finally {
      await server.close();
    }

    await fs.writeFile(path.join(work, 'bad.csv'), 'file,shelfmark\nIMG_0001.png,A1\n');
    const refused = await importFolder(mapped, '--csv', path.join(work, 'bad.csv'));
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /unknown column shelfmark; columns are file, isbn, oclc/);
    const notThere = await importFolder(path.join(work, 'no-such-folder'));
    assert.equal(notThere.code, 2);
    assert.match(notThere.stderr, /no-such-folder does not exist/);
  });

  test('author photos by OLID with --category a', async () => {
    const photos = path.join(work, 'authors');
    await fs.mkdir(photos);
    await fs.writeFile(path.join(photos, 'OL26320A.png'), await scan(8001));
    await fs.writeFile(path.join(photos, '9780385472579.png'), await scan(8002));
    const run = await importFolder(photos, '--category', 'a');
    assert.match(run.stdout, /^read 2 files: 1 covers imported/m);
    assert.match(run.stdout, /unknown_name: 1\n    e\.g\. 9780385472579\.png: the name is not an author OLID/);
    const server = await startJacket({ JACKET_DATA_DIR: dataDir });
    try {
      assert.equal((await server.get('/a/olid/OL26320A.json')).status, 302);
    } finally {
      await server.close();
    }
    assert.equal((await importFolder(photos, '--category', 'w')).code, 2);
  });
});
