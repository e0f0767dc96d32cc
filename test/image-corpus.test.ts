// Real-world and hostile images (test/helpers/image-corpus.ts makes them) uploaded through the Open Library API of a
// real server: each is accepted or refused as the README's "Images Jacket accepts" says, never with a 5xx, and the
// renditions of the accepted ones are upright, in sRGB like a reference conversion, and white where they were
// transparent. The bit flips are seeded: IMAGE_CORPUS_SEED repeats a run.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { makeCorpus, type Corpus, type CorpusFile, type RenditionCheck } from './helpers/image-corpus.ts';
import { form } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

const seed = Number(process.env.IMAGE_CORPUS_SEED ?? Date.now() % 1_000_000);

describe(`the image corpus through a real server (IMAGE_CORPUS_SEED=${seed})`, () => {
  let jacket: RunningJacket;
  let corpus: Corpus;

  before(async () => {
    corpus = await makeCorpus(seed);
    jacket = await startJacket();
  });
  after(async () => {
    await jacket.close();
    await corpus.close();
  });

  async function upload(file: CorpusFile): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ data: { bytes: file.bytes, filename: 'cover' } }) });
    return { status: response.status, body: await response.json() };
  }

  async function rendition(id: number, name: string): Promise<{ data: Buffer; width: number; height: number }> {
    const response = await jacket.get(`/b/id/${id}-${name}`);
    assert.equal(response.status, 200, `${name} of cover ${id}`);
    const { data, info } = await sharp(Buffer.from(await response.arrayBuffer())).raw().toBuffer({ resolveWithObject: true });
    // JPEG has no alpha: transparency was flattened (WebP and AVIF keep theirs).
    if (name.endsWith('.jpg')) assert.equal(info.channels, 3, `${name} of cover ${id}`);
    return { data, width: info.width, height: info.height };
  }

  function assertColour(image: { data: Buffer; width: number; height: number }, check: RenditionCheck, label: string): void {
    const x = Math.floor(check.at[0] * image.width);
    const y = Math.floor(check.at[1] * image.height);
    const offset = (y * image.width + x) * 3;
    const found = [...image.data.subarray(offset, offset + 3)];
    const off = Math.max(...found.map((value, channel) => Math.abs(value - check.colour[channel]!)));
    assert.ok(off <= check.tolerance, `${label}: ${check.why}: found ${found} at (${x}, ${y}), expected ${check.colour} ± ${check.tolerance}`);
  }

  test('every file is accepted or refused as documented, never with a 5xx', async () => {
    for (const file of corpus.files) {
      const label = `${file.name} (IMAGE_CORPUS_SEED=${seed})`;
      const { status, body } = await upload(file);
      assert.ok(status < 500, `${label}: ${status} ${JSON.stringify(body)}`);
      if (file.expect.accepted === false) {
        assert.equal(status, 400, `${label}: refused`);
        assert.equal(body.error, file.expect.error, `${label}: ${JSON.stringify(body)}`);
        assert.equal(body.code, 3, `${label}: Open Library's "Invalid Image"`);
        assert.ok(typeof body.detail === 'string' && body.detail.length > 0, `${label}: a sentence`);
        continue;
      }
      if (file.expect.accepted === 'either' && status !== 200) {
        assert.equal(status, 400, label);
        assert.equal(body.error, 'corrupt_image', `${label}: ${JSON.stringify(body)}`);
        continue;
      }
      assert.equal(status, 200, `${label}: accepted, ${JSON.stringify(body)}`);
      const id = Number(body.id);
      // Whatever was accepted renders in every size and format.
      for (const name of ['S.jpg', 'L.jpg', 'M.webp', 'M.avif']) await rendition(id, name);
      const medium = await rendition(id, 'M.jpg');
      if (file.landscape) assert.ok(medium.width > medium.height, `${label}: upright (landscape), got ${medium.width}×${medium.height}`);
      if (file.expect.accepted === true) for (const check of file.expect.checks) assertColour(medium, check, label);
    }
  });
});
