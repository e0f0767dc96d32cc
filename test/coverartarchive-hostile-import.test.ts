// `jacket import coverartarchive` over a folder made to hurt it: symbolic links out of the folder, a FIFO and a
// giant file where index.json should be, broken listings, names with control bytes and bytes that are not UTF-8.
// The real binary runs it; everything hostile is reported by kind, nothing outside the folder is read, the good
// releases beside them are imported, and the command ends (exit 1: something was skipped).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeImage } from './helpers/images.ts';
import { runJacket } from './helpers/process.ts';
import { makeTempDir } from './helpers/server.ts';

const GOOD = '76df3287-6cda-33eb-8e9a-044b5e15ffdd';
const LINKED_FOLDER = '99b09d02-9cc9-3fed-8431-f162165a9371';
const LINKED_IMAGE = 'c31a5e2b-0bf8-32e0-8aeb-ef4ba9973932';
const LINKED_INDEX = '1e477f68-c407-4eae-ad01-518528cedc2c';
const FIFO_INDEX = '0b7a2a7e-5d0c-4e43-9f56-3a0a0f1a1f01';
const GIANT_INDEX = '0b7a2a7e-5d0c-4e43-9f56-3a0a0f1a1f02';
const ODD_LISTING = '0b7a2a7e-5d0c-4e43-9f56-3a0a0f1a1f03';
const NESTED_LISTING = '0b7a2a7e-5d0c-4e43-9f56-3a0a0f1a1f04';
const GIANT_IMAGE = '0b7a2a7e-5d0c-4e43-9f56-3a0a0f1a1f05';
const ODD_FILE_NAME = '0b7a2a7e-5d0c-4e43-9f56-3a0a0f1a1f06';

/** A file that declares `size` bytes without writing any (sparse): reading it would never end well. */
async function sparse(file: string | Buffer, size: number): Promise<void> {
  const handle = await fs.open(file, 'w');
  await handle.truncate(size);
  await handle.close();
}

const listing = (...ids: unknown[]) => JSON.stringify({ images: ids.map((id) => ({ id, types: ['Front'], approved: true })) });

describe('import coverartarchive with a hostile folder', () => {
  let work: string;
  let input: string;
  let outside: string;

  before(async () => {
    work = await makeTempDir();
    input = path.join(work, 'input');
    outside = path.join(work, 'outside');
    await fs.mkdir(input);
    // A complete release outside the input folder: nothing may reach it through a link.
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'index.json'), listing(9001));
    await fs.writeFile(path.join(outside, `mbid-${LINKED_FOLDER}-9001.jpg`), await makeImage(40, 40, { color: '#00aa00' }));
    await fs.writeFile(path.join(outside, 'secret.jpg'), await makeImage(40, 40, { color: '#aa0000' }));

    const release = async (mbid: string, index: string | undefined, files: Record<string, Buffer> = {}) => {
      const folder = path.join(input, `mbid-${mbid}`);
      await fs.mkdir(folder);
      if (index !== undefined) await fs.writeFile(path.join(folder, 'index.json'), index);
      for (const [name, bytes] of Object.entries(files)) await fs.writeFile(path.join(folder, name), bytes);
      return folder;
    };
    await release(GOOD, listing(1001), { [`mbid-${GOOD}-1001.jpg`]: await makeImage(40, 40) });
    await fs.symlink(outside, path.join(input, `mbid-${LINKED_FOLDER}`));
    const linkedImage = await release(LINKED_IMAGE, listing(3001));
    await fs.symlink(path.join(outside, 'secret.jpg'), path.join(linkedImage, `mbid-${LINKED_IMAGE}-3001.jpg`));
    const linkedIndex = await release(LINKED_INDEX, undefined, { [`mbid-${LINKED_INDEX}-9001.jpg`]: await makeImage(40, 40) });
    await fs.symlink(path.join(outside, 'index.json'), path.join(linkedIndex, 'index.json'));
    const fifo = await release(FIFO_INDEX, undefined);
    execFileSync('mkfifo', [path.join(fifo, 'index.json')]);
    const giant = await release(GIANT_INDEX, undefined);
    await sparse(path.join(giant, 'index.json'), 64 * 1024 ** 3);
    await release(ODD_LISTING, JSON.stringify({ images: [null, 7, 'x', [], { id: '1e400' }, { id: { toString: 1 } }, { id: 6001, types: 'Front', comment: 5 }] }), {
      [`mbid-${ODD_LISTING}-6001.jpg`]: await makeImage(40, 40, { color: '#0000aa' }),
    });
    await release(NESTED_LISTING, '['.repeat(1_000_000));
    const giantImage = await release(GIANT_IMAGE, listing(8001));
    await sparse(path.join(giantImage, `mbid-${GIANT_IMAGE}-8001.jpg`), 3 * 1024 ** 3);
    // Names: an escape sequence and a line break, and bytes that are not UTF-8.
    await fs.mkdir(path.join(input, 'mbid-\x1b[31mred\nsecond line'));
    await fs.mkdir(Buffer.concat([Buffer.from(path.join(input, 'mbid-')), Buffer.from([0xff, 0xfe, 0x80])]));
    const oddFile = await release(ODD_FILE_NAME, listing(7001));
    await fs.writeFile(Buffer.concat([Buffer.from(path.join(oddFile, `mbid-${ODD_FILE_NAME}-7001.`)), Buffer.from([0xff, 0x6a])]), await makeImage(40, 40));
  });
  after(() => fs.rm(work, { recursive: true, force: true }));

  test('every hostile entry is reported, nothing outside is read, the good release is imported', { timeout: 120_000 }, async () => {
    const run = await runJacket(['import', 'coverartarchive', input], { JACKET_DATA_DIR: path.join(work, 'data'), LOG_LEVEL: 'silent' });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    // What was imported: the good release's image and the one good entry of the odd listing, nothing else.
    assert.match(run.stdout, /^imported \d+ releases: 2 images, 0 already there, \d+ skipped$/m, run.stdout);
    const skipped = (kind: string) => Number(new RegExp(`^  ${kind}: (\\d+)$`, 'm').exec(run.stdout)?.[1] ?? 0);
    assert.equal(skipped('symbolic_link'), 3, run.stdout);
    assert.match(run.stdout, new RegExp(`mbid-${LINKED_FOLDER}: a symbolic link, not followed`));
    assert.match(run.stdout, new RegExp(`mbid-${LINKED_IMAGE}/mbid-${LINKED_IMAGE}-3001\\.jpg: a symbolic link, not followed`));
    assert.match(run.stdout, new RegExp(`mbid-${LINKED_INDEX}/index\\.json: a symbolic link, not followed`));
    assert.match(run.stdout, new RegExp(`mbid-${FIFO_INDEX}/index\\.json: not a regular file`));
    assert.match(run.stdout, new RegExp(`mbid-${GIANT_INDEX}/index\\.json: 68719476736 bytes; the limit is \\d+`));
    assert.match(run.stdout, new RegExp(`mbid-${NESTED_LISTING}/index\\.json: `));
    assert.match(run.stdout, new RegExp(`mbid-${GIANT_IMAGE}/mbid-${GIANT_IMAGE}-8001\\.jpg: 3221225472 bytes; the limit is \\d+`));
    assert.equal(skipped('bad_image_id'), 6, run.stdout);
    assert.match(run.stdout, new RegExp(`mbid-${ODD_LISTING}: listing entry null is not an image object`));
    assert.match(run.stdout, new RegExp(`mbid-${ODD_LISTING}: image id "1e400" is not a positive whole number`));
    // A file name that is not UTF-8 cannot be named back to the file system: reported, not a crash.
    assert.equal(skipped('unreadable_file'), 1, run.stdout);
    assert.equal(skipped('not_a_release_folder'), 2, run.stdout);
    // Control bytes in names are shown escaped: the report cannot move the cursor or forge a line.
    assert.match(run.stdout, /mbid-\\x1b\[31mred\\nsecond line: not an mbid-\{MBID\} folder/);
    assert.doesNotMatch(run.stdout, /\x1b/);
  });
});
