// The IIIF Image API 3.0 at level 2, black-box over a real socket. The rules of the official validator
// (github.com/IIIF/image-validator, run by scripts/iiif-validate.sh) are carried here as facts: a 1000×1000 image of
// 10×10 coloured squares, whose colours must come out where each region, size, rotation and mirror puts them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { dimensionsOf, makeImage } from './helpers/images.ts';
import { uploadBookCover, uploadReleaseImage } from './helpers/library-apis.ts';
import { listFiles, startJacket, type RunningJacket } from './helpers/server.ts';

type Colour = [number, number, number];
/** The colour of square (column x, row y) of the test image: every square a different colour. */
const colourOf = (x: number, y: number): Colour => [20 + x * 23, 20 + y * 23, 230 - (x + y) * 11];

/** A 1000×1000 PNG of 100-pixel squares, as the validator's test image. */
async function squaresImage(): Promise<Buffer> {
  const pixels = Buffer.alloc(1000 * 1000 * 3);
  for (let row = 0; row < 1000; row++) {
    for (let column = 0; column < 1000; column++) pixels.set(colourOf(Math.floor(column / 100), Math.floor(row / 100)), (row * 1000 + column) * 3);
  }
  return sharp(pixels, { raw: { width: 1000, height: 1000, channels: 3 } }).png().toBuffer();
}

interface Picture {
  width: number;
  height: number;
  channels: number;
  format: string;
  /** The mean colour of a box, as RGB (a grey image's one channel repeated). */
  mean(left: number, top: number, width: number, height: number): Colour;
}

async function picture(bytes: ArrayBuffer | Buffer): Promise<Picture> {
  const input = Buffer.from(bytes as ArrayBuffer);
  // The channels the file holds (decoding to raw gives sRGB whatever it holds).
  const { format, channels } = await sharp(input).metadata();
  const { data, info } = await sharp(input).raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    channels: channels!,
    format: format!,
    mean(left, top, width, height) {
      const sum = [0, 0, 0];
      for (let row = top; row < top + height; row++) {
        for (let column = left; column < left + width; column++) {
          const at = (row * info.width + column) * info.channels;
          for (let channel = 0; channel < 3; channel++) sum[channel]! += data[at + (info.channels >= 3 ? channel : 0)]!;
        }
      }
      return sum.map((value) => Math.round(value / (width * height))) as Colour;
    },
  };
}

function assertColour(actual: Colour, expected: Colour, what: string) {
  assert.ok(actual.every((value, channel) => Math.abs(value - expected[channel]!) < 6), `${what}: ${actual} is not ${expected}`);
}

describe('IIIF Image API 3.0', () => {
  let jacket: RunningJacket;
  let squares: number;
  let base: string;

  before(async () => {
    // maxArea 1500² keeps ^max and the limit checks small enough for a test.
    jacket = await startJacket({ JACKET_IIIF_MAX_AREA: '2250000' });
    squares = await uploadBookCover(jacket, {}, await squaresImage());
    base = `/iiif/3/cover-${squares}`;
  });
  after(() => jacket.close());

  const image = async (path: string) => {
    const response = await jacket.get(`${base}/${path}`);
    assert.equal(response.status, 200, `${path}: ${response.status}`);
    return picture(await response.arrayBuffer());
  };

  test('info.json: context, id from the request, type, protocol, level2, upright size, sizes, tiles, limits, extras', async () => {
    const response = await jacket.get(`${base}/info.json`);
    assert.equal(response.status, 200);
    // Plain JSON unless JSON-LD is asked for; the context then travels as a link.
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.equal(response.headers.get('link'), '<http://iiif.io/api/image/3/context.json>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"');
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    assert.equal(response.headers.get('vary'), 'Accept');
    const info = await response.json();
    assert.deepEqual(info, {
      '@context': 'http://iiif.io/api/image/3/context.json',
      id: `${jacket.url}${base}`,
      type: 'ImageService3',
      protocol: 'http://iiif.io/api/image',
      profile: 'level2',
      width: 1000,
      height: 1000,
      maxWidth: 16383,
      maxHeight: 16383,
      maxArea: 2250000,
      // Open Library's S, M and L of a square image.
      sizes: [
        { width: 58, height: 58 },
        { width: 180, height: 180 },
        { width: 500, height: 500 },
      ],
      tiles: [{ width: 512, height: 512, scaleFactors: [1, 2] }],
      extraFormats: ['webp', 'avif'],
      extraQualities: ['gray', 'bitonal'],
      extraFeatures: ['canonicalLinkHeader', 'mirroring', 'profileLinkHeader', 'sizeUpscaling'],
    });
    const jsonLd = await jacket.get(`${base}/info.json`, { headers: { accept: 'application/ld+json' } });
    assert.equal(jsonLd.headers.get('content-type'), 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"');
    assert.notEqual(jsonLd.headers.get('etag'), response.headers.get('etag'));
    const again = await jacket.get(`${base}/info.json`, { headers: { 'if-none-match': response.headers.get('etag')! } });
    assert.equal(again.status, 304);
  });

  test('info.json id follows JACKET_PUBLIC_URL when it is set', async () => {
    const behindProxy = await startJacket({ JACKET_PUBLIC_URL: 'https://covers.example.org', JACKET_DATA_DIR: jacket.dataDir });
    try {
      const info = await (await behindProxy.get(`${base}/info.json`)).json();
      assert.equal(info.id, `https://covers.example.org${base}`);
    } finally {
      await behindProxy.app.close();
    }
  });

  test('the base URI is a 303 to info.json', async () => {
    const response = await jacket.get(base);
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), `${jacket.url}${base}/info.json`);
  });

  test('identifiers: unknown ones are 404, a slash is not one, an escaped one is the same image', async () => {
    for (const path of [`/iiif/3/cover-99999/full/max/0/default.jpg`, `/iiif/3/2f7c0c9e-d1b0-11e1-89ae-279075081939/full/max/0/default.jpg`, `/iiif/3/a/b/full/max/0/default.jpg`, `/iiif/3/[frob]/full/max/0/default.jpg`, `/iiif/3/caa-${squares}/info.json`, `/iiif/3/cover-x/info.json`]) {
      assert.equal((await jacket.get(path)).status, 404, path);
    }
    const escaped = await jacket.get(`/iiif/3/cover%2D${squares}/full/max/0/default.jpg`);
    assert.equal(escaped.status, 200);
    // Named as Jacket writes it wherever an identifier is sent back.
    assert.match(escaped.headers.get('link')!, new RegExp(`<${jacket.url}${base}/full/max/0/default.jpg>;rel="canonical"`));
    assert.equal((await (await jacket.get(`/iiif/3/cover-0${squares}/info.json`)).json()).id, `${jacket.url}${base}`);
  });

  test('the whole image at max is the right image, its squares where they were', async () => {
    const full = await image('full/max/0/default.jpg');
    assert.equal(full.format, 'jpeg');
    assert.deepEqual([full.width, full.height], [1000, 1000]);
    for (const [x, y] of [[0, 0], [9, 0], [0, 9], [4, 7], [9, 9]] as const) assertColour(full.mean(x * 100 + 13, y * 100 + 13, 74, 74), colourOf(x, y), `square ${x},${y}`);
  });

  test('regions: pixels, percent, square, cut to the image; outside it is a 400', async () => {
    for (const [x, y] of [[0, 0], [3, 8], [9, 9]] as const) {
      const pixels = await image(`${x * 100 + 13},${y * 100 + 13},74,74/max/0/default.jpg`);
      assert.deepEqual([pixels.width, pixels.height], [74, 74]);
      assertColour(pixels.mean(5, 5, 64, 64), colourOf(x, y), `pixel region ${x},${y}`);
      const percent = await image(`pct:${x * 10 + 1},${y * 10 + 1},9,9/max/0/default.png`);
      assert.deepEqual([percent.width, percent.height], [90, 90]);
      assertColour(percent.mean(5, 5, 80, 80), colourOf(x, y), `percent region ${x},${y}`);
    }
    const square = await image('square/max/0/default.jpg');
    assert.equal(square.width, square.height);
    const cut = await image('950,950,200,200/max/0/default.jpg');
    assert.deepEqual([cut.width, cut.height], [50, 50]);
    for (const region of ['1000,0,10,10', '0,1000,10,10', 'pct:100,0,5,5', '0,0,0,10', 'pct:0,0,0,5']) {
      assert.equal((await jacket.get(`${base}/${region}/max/0/default.jpg`)).status, 400, region);
    }
  });

  test('sizes: w, ,h pct:n w,h !w,h give the sizes the specification computes', async () => {
    for (const [size, width, height] of [
      ['600,', 600, 600],
      [',450', 450, 450],
      ['pct:55', 550, 550],
      ['640,360', 640, 360],
      ['!600,420', 420, 420],
      ['!420,600', 420, 420],
    ] as const) {
      const sized = await image(`full/${size}/0/default.jpg`);
      assert.deepEqual([sized.width, sized.height], [width, height], size);
      const step = width / 10;
      const rowStep = height / 10;
      for (const [x, y] of [[1, 2], [8, 6]] as const) assertColour(sized.mean(Math.round(x * step + 5), Math.round(y * rowStep + 5), 20, 20), colourOf(x, y), `${size} square ${x},${y}`);
    }
    // A region at a size: the square's colour, at exactly that size.
    const regionAtSize = await image('300,600,100,100/47,47/0/default.jpg');
    assert.deepEqual([regionAtSize.width, regionAtSize.height], [47, 47]);
    assertColour(regionAtSize.mean(5, 5, 37, 37), colourOf(3, 6), 'region at a size');
  });

  test('upscaling: refused with 400 without ^, made with it up to maxWidth, maxHeight and maxArea', async () => {
    for (const size of ['1200,1200', ',1200', '1200,', 'pct:200', '!2000,3000']) {
      assert.equal((await jacket.get(`${base}/full/${size}/0/default.jpg`)).status, 400, size);
    }
    for (const [size, width, height] of [
      ['^1200,1200', 1200, 1200],
      ['^,1300', 1300, 1300],
      ['^1400,', 1400, 1400],
      ['^pct:150', 1500, 1500],
      ['^!2000,500', 500, 500],
      ['^!1500,3000', 1500, 1500],
      // ^max: as large as maxArea allows (1500²).
      ['^max', 1500, 1500],
    ] as const) {
      const sized = await image(`full/${size}/0/default.jpg`);
      assert.deepEqual([sized.width, sized.height], [width, height], size);
    }
    for (const size of ['^1600,1600', '^pct:200', '^20000,']) assert.equal((await jacket.get(`${base}/full/${size}/0/default.jpg`)).status, 400, size);
  });

  test('max stays within maxArea: a larger original comes out as large as the limit allows', async () => {
    const id = await uploadBookCover(jacket, {}, await makeImage(3000, 1500));
    const max = await dimensionsOf(await (await jacket.get(`/iiif/3/cover-${id}/full/max/0/default.jpg`)).arrayBuffer());
    assert.deepEqual([max.width, max.height], [2121, 1060]);
    assert.equal((await jacket.get(`/iiif/3/cover-${id}/full/3000,/0/default.jpg`)).status, 400);
  });

  test('rotation by 90° steps and mirroring move the corners where the specification says', async () => {
    // Which square ends up top-left and bottom-right: mirroring first, then a clockwise turn.
    for (const [rotation, topLeft, bottomRight] of [
      ['0', [0, 0], [9, 9]],
      ['90', [0, 9], [9, 0]],
      ['180', [9, 9], [0, 0]],
      ['270', [9, 0], [0, 9]],
      ['!0', [9, 0], [0, 9]],
      ['!90', [9, 9], [0, 0]],
      ['!180', [0, 9], [9, 0]],
      ['360', [0, 0], [9, 9]],
    ] as const) {
      const turned = await image(`full/max/${rotation}/default.jpg`);
      assertColour(turned.mean(12, 12, 64, 64), colourOf(topLeft[0], topLeft[1]), `${rotation} top left`);
      assertColour(turned.mean(912, 912, 64, 64), colourOf(bottomRight[0], bottomRight[1]), `${rotation} bottom right`);
    }
    const region = await image('400,100,200,100/max/90/default.jpg');
    assert.deepEqual([region.width, region.height], [100, 200]);
    assertColour(region.mean(10, 10, 80, 80), colourOf(4, 1), 'turned region, top');
    assertColour(region.mean(10, 110, 80, 80), colourOf(5, 1), 'turned region, bottom');
  });

  test('qualities: color in colour, gray in one channel, bitonal black and white only', async () => {
    const colour = await image('full/max/0/color.jpg');
    assert.equal(colour.channels, 3);
    const gray = await image('full/max/0/gray.jpg');
    assert.equal(gray.channels, 1);
    const bitonal = await image('full/500,/0/bitonal.png');
    const { data } = await sharp(Buffer.from((await (await jacket.get(`${base}/full/500,/0/bitonal.png`)).arrayBuffer()))).raw().toBuffer({ resolveWithObject: true });
    assert.ok(data.every((value) => value === 0 || value === 255), 'every bitonal pixel is black or white');
    assert.equal(bitonal.format, 'png');
  });

  test('formats: jpg and png, webp and avif as extras; other IIIF formats 501; anything else 400', async () => {
    for (const [extension, format, mime] of [['jpg', 'jpeg', 'image/jpeg'], ['png', 'png', 'image/png'], ['webp', 'webp', 'image/webp'], ['avif', 'heif', 'image/avif']] as const) {
      const response = await jacket.get(`${base}/full/200,/0/default.${extension}`);
      assert.equal(response.status, 200, extension);
      assert.equal(response.headers.get('content-type'), mime);
      assert.equal((await dimensionsOf(await response.arrayBuffer())).format, format);
    }
    for (const extension of ['tif', 'gif', 'jp2', 'pdf']) {
      const response = await jacket.get(`${base}/full/max/0/default.${extension}`);
      assert.equal(response.status, 501, extension);
      assert.equal((await response.json()).error, 'unsupported_format');
    }
    for (const extension of ['bmp', 'JPG', 'x:y', '']) assert.equal((await jacket.get(`${base}/full/max/0/default.${extension}`)).status, 400, extension);
  });

  test('bad syntax in any parameter is a 400 with a machine code; an angle other than 90° steps is a 501', async () => {
    for (const [path, code] of [
      ['a1b2c3/max/0/default.jpg', 'invalid_region'],
      ['1,2,3/max/0/default.jpg', 'invalid_region'],
      ['full/full/0/default.jpg', 'invalid_size'],
      ['full/0z9Q;L/0/default.jpg', 'invalid_size'],
      ['full/!200,/0/default.jpg', 'invalid_size'],
      ['full/,/0/default.jpg', 'invalid_size'],
      ['full/0,/0/default.jpg', 'invalid_size'],
      ['full/max/ab1/default.jpg', 'invalid_rotation'],
      ['full/max/361/default.jpg', 'invalid_rotation'],
      ['full/max/-90/default.jpg', 'invalid_rotation'],
      ['full/max/0/grey.jpg', 'invalid_quality'],
      ['full/max/0/Q3r;z_.jpg', 'invalid_quality'],
      ['full/max/0/default', 'invalid_format'],
    ] as const) {
      const response = await jacket.get(`${base}/${path}`);
      assert.equal(response.status, 400, path);
      const body = await response.json();
      assert.equal(body.error, code, path);
      assert.ok(body.message.length > 10);
    }
    const angled = await jacket.get(`${base}/full/max/45/default.jpg`);
    assert.equal(angled.status, 501);
    assert.equal((await angled.json()).error, 'unsupported_rotation');
  });

  test('random strings in any one parameter are a 400, as the validator sends them', async () => {
    // The validator's strings: characters 48–122, with ? # / replaced by $. Seeded, so every run sends the same ones.
    let seed = 25;
    const random = (length: number) =>
      Array.from({ length }, () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return String.fromCharCode(48 + (seed % 75));
      })
        .join('')
        .replace(/[?#/]/g, '$');
    for (let round = 0; round < 20; round++) {
      for (const path of [`${random(6)}/max/0/default.jpg`, `full/${random(6)}/0/default.jpg`, `full/max/${random(4)}/default.jpg`, `full/max/0/${random(6)}.jpg`, `full/max/0/default.${random(3)}`]) {
        // A URL parser reads \ as / in http URLs; the validator's client sends it as it is, which %5C stands for here.
        const response = await jacket.get(`${base}/${path.replaceAll('\\', '%5C')}`);
        assert.equal(response.status, 400, path);
      }
    }
  });

  test('images carry the profile and canonical links, CORS, a long cache and an ETag that answers 304', async () => {
    const response = await jacket.get(`${base}/pct:10,10,20,20/pct:50/!90/gray.png`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('link'), `<http://iiif.io/api/image/3/level2.json>;rel="profile", <${jacket.url}${base}/100,100,200,200/100,100/!90/gray.png>;rel="canonical"`);
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const etag = response.headers.get('etag')!;
    // The canonical request is the same image under the same tag.
    const canonical = await jacket.get(`${base}/100,100,200,200/100,100/!90/gray.png`);
    assert.equal(canonical.headers.get('etag'), etag);
    assert.equal((await jacket.get(`${base}/pct:10,10,20,20/pct:50/!90/gray.png`, { headers: { 'if-none-match': etag } })).status, 304);
    const whole = await jacket.get(`${base}/full/max/0/default.jpg`);
    assert.match(whole.headers.get('link')!, new RegExp(`<${jacket.url}${base}/full/max/0/default.jpg>;rel="canonical"`));
  });

  test('sizes listed in info.json are the renditions the other dialects serve; other sizes are never stored', async () => {
    const listed = await jacket.get(`${base}/full/180,/0/default.jpg`);
    assert.equal(listed.status, 200);
    assert.equal(listed.headers.get('etag'), `"${squares}-m"`);
    const openLibrary = await jacket.get(`/b/id/${squares}-M.jpg`);
    assert.ok(Buffer.from(await listed.arrayBuffer()).equals(Buffer.from(await openLibrary.arrayBuffer())));
    const webp = await jacket.get(`${base}/full/!500,500/0/color.webp`);
    assert.equal(webp.headers.get('etag'), `"${squares}-l.webp"`);

    await jacket.services.renditions.flush();
    const before = await listFiles(jacket.dataDir);
    for (const size of ['181,', '182,', '183,183', 'pct:33']) assert.equal((await jacket.get(`${base}/full/${size}/0/default.jpg`)).status, 200);
    await jacket.services.renditions.flush();
    assert.deepEqual(await listFiles(jacket.dataDir), before);
  });

  test('release images as caa-{imageId}: their 250/500/1200 thumbnails listed and served as the archive serves them', async () => {
    const release = '5b11f4ce-a62d-471e-81fc-a69a8278c7da';
    const imageId = await uploadReleaseImage(jacket, release, 'Front', await makeImage(1600, 1000));
    const info = await (await jacket.get(`/iiif/3/caa-${imageId}/info.json`)).json();
    assert.deepEqual([info.width, info.height], [1600, 1000]);
    assert.deepEqual(info.sizes, [
      { width: 250, height: 156 },
      { width: 500, height: 313 },
      { width: 1200, height: 750 },
    ]);
    assert.deepEqual(info.tiles[0].scaleFactors, [1, 2, 4]);
    const thumbnail = await jacket.get(`/iiif/3/caa-${imageId}/full/500,/0/default.jpg`);
    const archive = await jacket.get(`/download/mbid-${release}/mbid-${release}-${imageId}_thumb500.jpg`);
    assert.equal(thumbnail.headers.get('etag'), archive.headers.get('etag'));
    assert.ok(Buffer.from(await thumbnail.arrayBuffer()).equals(Buffer.from(await archive.arrayBuffer())));
  });

  test('an EXIF-rotated original is served upright: info.json has the upright size, regions are of the upright image', async () => {
    // Stored 300×200 with orientation 6 (turn 90° clockwise to view): upright 200×300.
    const id = await uploadBookCover(jacket, {}, await makeImage(300, 200, { orientation: 6 }));
    const info = await (await jacket.get(`/iiif/3/cover-${id}/info.json`)).json();
    assert.deepEqual([info.width, info.height], [200, 300]);
    // Cut from the stored image before turning, this would come out 150×200.
    const region = await dimensionsOf(await (await jacket.get(`/iiif/3/cover-${id}/0,0,200,150/max/0/default.jpg`)).arrayBuffer());
    assert.deepEqual([region.width, region.height], [200, 150]);
  });

  test('moderation and deletion apply: a rejected or deleted cover is a 404, even for bytes already in memory', async () => {
    const id = await uploadBookCover(jacket, {}, await makeImage(400, 600));
    const path = `/iiif/3/cover-${id}/10,10,100,100/max/0/default.jpg`;
    assert.equal((await jacket.get(path)).status, 200);
    const rejected = await jacket.get(`/api/v1/covers/${id}/reject`, { method: 'POST', headers: jacket.admin });
    assert.equal(rejected.status, 200);
    for (const url of [path, `/iiif/3/cover-${id}/info.json`]) assert.equal((await jacket.get(url)).status, 404, url);
    assert.equal((await jacket.get(`/api/v1/covers/${id}/approve`, { method: 'POST', headers: jacket.admin })).status, 200);
    assert.equal((await jacket.get(path)).status, 200);
    assert.equal((await jacket.get(`/api/v1/covers/${id}`, { method: 'DELETE', headers: jacket.admin })).status, 200);
    for (const url of [path, `/iiif/3/cover-${id}/info.json`]) assert.equal((await jacket.get(url)).status, 404, url);
  });
});

describe('IIIF under moderation', () => {
  let jacket: RunningJacket;
  before(async () => {
    jacket = await startJacket({ JACKET_MODERATION: 'true' });
  });
  after(() => jacket.close());

  test('a pending upload is served to nobody until approved', async () => {
    const id = await uploadBookCover(jacket, {}, await makeImage(400, 600));
    assert.equal((await jacket.get(`/iiif/3/cover-${id}/info.json`)).status, 404);
    assert.equal((await jacket.get(`/iiif/3/cover-${id}/full/max/0/default.jpg`)).status, 404);
    assert.equal((await jacket.get(`/api/v1/covers/${id}/approve`, { method: 'POST', headers: jacket.admin })).status, 200);
    assert.equal((await jacket.get(`/iiif/3/cover-${id}/info.json`)).status, 200);
  });
});
