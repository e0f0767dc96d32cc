import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { form, makeImage, pngChunk } from './helpers/images.ts';
import { listFiles, startJacket, type RunningJacket } from './helpers/server.ts';

const MAX_UPLOAD_BYTES = 200_000;

/** A photo-like image (random pixels) that does not compress away, so truncating it really cuts image data. */
async function noisyImage(width: number, height: number, format: 'jpeg' | 'png'): Promise<Buffer> {
  const pixels = randomBytes(width * height * 3);
  const pipeline = sharp(pixels, { raw: { width, height, channels: 3 } });
  return format === 'jpeg' ? pipeline.jpeg({ quality: 90 }).toBuffer() : pipeline.png().toBuffer();
}

/**
 * A decompression bomb: a valid 1-bit greyscale PNG of 20000×20000 (400 million pixels) that is only a few tens of
 * kilobytes, because every pixel is zero.
 */
function pngBomb(width = 20_000, height = 20_000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // greyscale
  const rowBytes = 1 + Math.ceil(width / 8);
  const idat = zlib.deflateSync(Buffer.alloc(rowBytes * height), { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A raw HTTP request (for bodies fetch cannot send: chunked without Content-Length, hand-made multipart). */
function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; chunks?: Buffer[] },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: options.method ?? 'POST', headers: options.headers }, (response) => {
      const parts: Buffer[] = [];
      response.on('data', (chunk: Buffer) => parts.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(parts).toString('utf8') }));
      response.on('error', reject);
    });
    // The server may answer (and close) before the whole body is sent: that is the point of the test.
    request.on('error', (error) => reject(error));
    const chunks = options.chunks ?? [];
    let index = 0;
    const writeNext = () => {
      while (index < chunks.length) {
        const ok = request.write(chunks[index++]!);
        if (!ok) return void request.once('drain', writeNext);
      }
      request.end();
    };
    writeNext();
  });
}

describe('bad input: a clear 4xx, nothing stored, the server keeps serving', () => {
  let jacket: RunningJacket;
  let good: Buffer;
  let goodId: number;

  async function stateOfDisk() {
    // Renditions made while checking that the server still serves are written after their response: let them land.
    await jacket.services.renditions.flush();
    const row = await jacket.services.db.selectFrom('covers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const identifiers = await jacket.services.db.selectFrom('identifiers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const entities = await jacket.services.db.selectFrom('entities').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { covers: Number(row.n), identifiers: Number(identifiers.n), entities: Number(entities.n), files: await listFiles(jacket.dataDir + '/blobs') };
  }

  async function assertStillServing() {
    const response = await jacket.get(`/b/id/${goodId}-M.jpg?default=false`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'image/jpeg');
  }

  async function assertRefused(response: Response, status: number | number[], what: string): Promise<any> {
    const statuses = Array.isArray(status) ? status : [status];
    assert.ok(statuses.includes(response.status), `${what}: status ${response.status}`);
    assert.equal(response.headers.get('access-control-allow-origin'), '*', what);
    const body = await response.json();
    assert.match(body.error, /^[a-z_]+$/, `${what}: machine code in ${JSON.stringify(body)}`);
    assert.ok(typeof (body.detail ?? body.message) === 'string' && (body.detail ?? body.message).length > 10, `${what}: sentence`);
    return body;
  }

  before(async () => {
    jacket = await startJacket({ JACKET_MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), JACKET_MAX_PIXELS: '50000000' });
    good = await makeImage(300, 450);
    const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL1M', data: { bytes: good } }) });
    goodId = (await response.json()).id;
    await assertStillServing(); // makes the one rendition the checks below ask for
  });
  after(() => jacket.close());

  test('bad image bytes: empty, not an image, truncated JPEG and PNG, SVG, PDF, BMP, a pixel bomb', async () => {
    const before = await stateOfDisk();
    const jpeg = await noisyImage(256, 256, 'jpeg');
    const png = await noisyImage(256, 256, 'png');
    assert.ok(jpeg.length < MAX_UPLOAD_BYTES && png.length < MAX_UPLOAD_BYTES);
    const bomb = pngBomb();
    assert.ok(bomb.length < MAX_UPLOAD_BYTES, `bomb is ${bomb.length} bytes`);
    const cases: Array<[string, Buffer, number, string]> = [
      ['empty file', Buffer.alloc(0), 1, 'no_image'],
      ['text', Buffer.from('just some text, certainly not a picture'), 3, 'unsupported_format'],
      ['truncated JPEG', jpeg.subarray(0, Math.floor(jpeg.length / 2)), 3, 'corrupt_image'],
      ['truncated PNG', png.subarray(0, Math.floor(png.length / 2)), 3, 'corrupt_image'],
      ['JPEG header only', jpeg.subarray(0, 600), 3, 'corrupt_image'],
      ['SVG', Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'), 3, 'unsupported_format'],
      ['PDF', Buffer.from('%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF'), 3, 'unsupported_format'],
      ['BMP', Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]), 3, 'unsupported_format'],
      ['pixel bomb', bomb, 3, 'too_many_pixels'],
    ];
    for (const [what, bytes, code, error] of cases) {
      const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL2M', isbn: '0385472579', data: { bytes } }) });
      const body = await assertRefused(response, 400, what);
      assert.equal(body.code, code, what);
      assert.equal(body.error, error, what);
      await assertStillServing();
    }
    assert.deepEqual(await stateOfDisk(), before);
    assert.equal((await jacket.get('/b/olid/OL2M-S.jpg?default=false')).status, 404);
    assert.equal((await jacket.get('/b/isbn/0385472579-S.jpg?default=false')).status, 404);
  });

  test('an empty body, a raw image body and malformed multipart', async () => {
    const before = await stateOfDisk();
    const empty = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin });
    assert.equal((await assertRefused(empty, 400, 'no body')).code, 1);
    const raw = await jacket.get('/b/upload2', { method: 'POST', headers: { ...jacket.admin, 'content-type': 'image/jpeg' }, body: new Uint8Array(good) });
    const rawBody = await assertRefused(raw, 415, 'raw image body');
    assert.equal(rawBody.code, 1, 'upload errors raised before the handler keep the Open Library shape');
    const badJson = await jacket.get('/b/upload2', { method: 'POST', headers: { ...jacket.admin, 'content-type': 'application/json' }, body: '{"olid": ' });
    await assertRefused(badJson, 400, 'broken JSON');
    const multipartCases: Array<[string, Record<string, string>, Buffer]> = [
      ['garbage after the boundary header', { 'content-type': 'multipart/form-data; boundary=XyZ' }, Buffer.from('this is not multipart at all')],
      [
        'a part that never ends',
        { 'content-type': 'multipart/form-data; boundary=XyZ' },
        Buffer.concat([Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="data"; filename="a.jpg"\r\n\r\n'), good.subarray(0, 500)]),
      ],
      ['no boundary', { 'content-type': 'multipart/form-data' }, Buffer.from('--x\r\n\r\n')],
      ['headers without a blank line', { 'content-type': 'multipart/form-data; boundary=XyZ' }, Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="olid"\r\nOL3M\r\n--XyZ--\r\n')],
    ];
    for (const [what, headers, body] of multipartCases) {
      const response = await jacket.get('/b/upload2', { method: 'POST', headers: { ...jacket.admin, ...headers }, body: new Uint8Array(body) });
      const parsed = await assertRefused(response, 400, what);
      assert.ok(['malformed_multipart', 'no_image', 'invalid_request', 'bad_request'].includes(parsed.error), `${what}: ${parsed.error}`);
      assert.equal(parsed.code, 1, `${what}: Open Library's numeric code`);
      await assertStillServing();
    }
    assert.deepEqual(await stateOfDisk(), before);
  });

  test('a body over JACKET_MAX_UPLOAD_BYTES, declared or chunked, is refused without being stored', async () => {
    const before = await stateOfDisk();
    const big = await noisyImage(600, 600, 'png');
    assert.ok(big.length > MAX_UPLOAD_BYTES, `${big.length}`);
    // Declared a little over the limit: the multipart file cap stops it.
    const declared = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ olid: 'OL4M', data: { bytes: big } }) });
    const body = await assertRefused(declared, 413, 'over the limit with Content-Length');
    assert.equal(body.error, 'payload_too_large');
    await assertStillServing();

    // Declared far over the limit: refused from the header, before any of it is read.
    const huge = Buffer.alloc(MAX_UPLOAD_BYTES + 2 * 1024 * 1024, 7);
    const boundary = 'HugeBoundary';
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const hugeBody = Buffer.concat([head, huge, tail]);
    try {
      const response = await rawRequest(`${jacket.url}/b/upload2`, {
        headers: { ...jacket.admin, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(hugeBody.length) },
        chunks: [hugeBody],
      });
      assert.equal(response.status, 413);
      assert.equal(JSON.parse(response.body).error, 'payload_too_large');
      assert.equal(response.headers['access-control-allow-origin'], '*');
    } catch (error) {
      // The server may close the connection before the client finished sending; the refusal is what matters.
      assert.match(String((error as Error).message), /EPIPE|ECONNRESET|socket hang up/);
    }
    await assertStillServing();

    // Chunked, no Content-Length: the cap is enforced while streaming.
    const chunks: Buffer[] = [Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="olid"\r\n\r\nOL4M\r\n`), head];
    for (let offset = 0; offset < big.length; offset += 16 * 1024) chunks.push(big.subarray(offset, offset + 16 * 1024));
    chunks.push(tail);
    const chunked = await rawRequest(`${jacket.url}/b/upload2`, {
      headers: { ...jacket.admin, 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked' },
      chunks,
    });
    assert.equal(chunked.status, 413);
    const chunkedBody = JSON.parse(chunked.body);
    assert.equal(chunkedBody.error, 'payload_too_large');
    assert.equal(chunkedBody.code, 3);
    await assertStillServing();

    // A urlencoded body over the form limit.
    const longForm = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: new URLSearchParams({ olid: 'OL4M', author: 'x'.repeat(1_100_000) }) });
    await assertRefused(longForm, 413, 'long urlencoded body');
    assert.deepEqual(await stateOfDisk(), before);
    assert.equal((await jacket.get('/b/olid/OL4M-S.jpg?default=false')).status, 404);
  });

  test('path tricks in upload fields are refused; file names never reach the disk', async () => {
    const before = await stateOfDisk();
    const fields: Array<[string, Record<string, string>]> = [
      ['olid traversal', { olid: '../../etc/passwd' }],
      ['olid with NUL', { olid: 'OL5M\u0000.jpg' }],
      ['olid encoded slash', { olid: 'OL5M%2F..%2F' }],
      ['isbn traversal', { olid: 'OL5M', isbn: '../../0385472579' }],
      ['isbn with NUL', { olid: 'OL5M', isbn: '0385472579\u0000' }],
      ['oclc with slash', { olid: 'OL5M', oclc: '123/../456' }],
      ['goodreads negative', { olid: 'OL5M', goodreads: '-5' }],
      ['librarything huge', { olid: 'OL5M', librarything: '9'.repeat(80) }],
    ];
    for (const [what, values] of fields) {
      const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ ...values, data: { bytes: good } }) });
      const body = await assertRefused(response, 400, what);
      assert.equal(body.code, 4, what);
      await assertStillServing();
    }
    assert.deepEqual(await stateOfDisk(), before);
    // A hostile file name is accepted as an upload, but names nothing on disk: blobs are content-addressed.
    const named = await jacket.get('/b/upload2', {
      method: 'POST',
      headers: jacket.admin,
      body: form({ olid: 'OL6M', data: { bytes: await makeImage(31, 47), filename: '../../../../tmp/evil.jpg' } }),
    });
    assert.equal(named.status, 200);
    const files = await listFiles(jacket.dataDir + '/blobs');
    assert.ok(files.every((file) => !file.includes('evil') && !file.includes('..')), files.join(', '));
    assert.ok(files.every((file) => /^[a-z0-9/._-]+$/.test(file)), files.join(', '));
  });

  test('path tricks and absurd ids in URLs are "not found", never an error or a file read', async () => {
    const paths = [
      '/b/id/..%2F..%2F..%2Fetc%2Fpasswd.jpg',
      '/b/id/..%2F..%2Fcatalogue.sqlite',
      '/b/isbn/..%2F..%2F0385472579-M.jpg',
      '/b/olid/OL1M%2F..%2F..-S.jpg',
      '/b/id/1%00-S.jpg',
      '/b/isbn/0385472579%00-S.jpg',
      '/b/id/%2E%2E-S.jpg',
      '/b/..%2Fblobs/1-S.jpg',
      '/b/id/99999999999999999999-S.jpg',
      '/b/id/9007199254740993-S.jpg',
      '/b/id/-1-S.jpg',
      '/b/id/0-S.jpg',
      '/b/id/1e5-S.jpg',
      '/b/id/0x10-S.jpg',
      '/b/id/1.5-S.jpg',
      `/b/id/${'9'.repeat(400)}-S.jpg`,
      `/b/isbn/${'9'.repeat(400)}-S.jpg`,
    ];
    for (const path of paths) {
      const blank = await jacket.get(path);
      assert.equal(blank.status, 200, path);
      assert.equal(blank.headers.get('content-type'), 'image/gif', path);
      const missing = await jacket.get(`${path}?default=false`);
      assert.equal(missing.status, 404, path);
      assert.equal((await missing.json()).error, 'not_found', path);
      const json = await jacket.get(`${path.replace(/(-S)?\.jpg$/, '')}.json`);
      assert.equal(json.status, 404, path);
    }
    // Past the router's parameter limit (500 characters): a 414 with a code, still JSON and CORS.
    const tooLong = await jacket.get(`/b/id/${'1'.repeat(600)}-S.jpg`);
    assert.equal(tooLong.status, 414);
    assert.equal(tooLong.headers.get('access-control-allow-origin'), '*');
    assert.match((await tooLong.json()).error, /^[a-z_]+$/);
    // Bad percent-encoding is a 400 with a code, not a crash.
    const badEncoding = await jacket.get('/b/id/%E0%A4%A-S.jpg?default=false');
    assert.ok([400, 404].includes(badEncoding.status), String(badEncoding.status));
    assert.equal(badEncoding.headers.get('access-control-allow-origin'), '*');
    assert.match((await badEncoding.json()).error, /^[a-z_]+$/);
    await assertStillServing();
  });
});
