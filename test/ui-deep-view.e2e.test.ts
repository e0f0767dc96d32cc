// The deep view in a real browser: OpenSeadragon, served by Jacket under a strict CSP, reads info.json and loads
// IIIF tiles, more detailed ones as the reader zooms in; the cover page's srcset snippet names images that exist.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { SCREENSHOTS, screenshots, useJacketInBrowser, type TestBrowser } from './helpers/browser.ts';
import { makeImage } from './helpers/images.ts';
import { uploadBookCover, uploadReleaseImage } from './helpers/library-apis.ts';
import type { RunningJacket } from './helpers/server.ts';

/** A tall cover with some detail to zoom into: stripes and a grid of dots on a coloured ground. */
async function detailedCover(width: number, height: number): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="#2f5d8a"/>
    ${Array.from({ length: 24 }, (_, i) => `<rect x="0" y="${i * (height / 24)}" width="${width}" height="${height / 96}" fill="#f2c14e"/>`).join('')}
    ${Array.from({ length: 80 }, (_, i) => `<circle cx="${(i % 10) * (width / 10) + width / 20}" cy="${Math.floor(i / 10) * (height / 8) + height / 16}" r="${width / 40}" fill="#e4572e"/>`).join('')}
    <text x="50%" y="50%" font-size="${width / 8}" text-anchor="middle" fill="#ffffff" font-family="sans-serif">Jacket</text>
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer();
}

/** Tile requests as OpenSeadragon makes them: a pixel region at a size. */
const TILE = /\/iiif\/3\/(?:cover|caa)-\d+\/(\d+),(\d+),(\d+),(\d+)\/(\d+),(\d+)?\/0\/default\.jpg$/;

describe('the deep view in a real browser', () => {
  let jacket: RunningJacket;
  let browser: TestBrowser;
  useJacketInBrowser({}, (started, launched) => {
    jacket = started;
    browser = launched;
  });

  test('the cover page opens the original in OpenSeadragon, which loads tiles, finer ones when zoomed in', async () => {
    const id = await uploadBookCover(jacket, {}, await detailedCover(1600, 2400));
    const page = await browser.page();
    const tiles: Array<{ status: number; regionWidth: number; width: number }> = [];
    page.on('response', (response) => {
      const match = TILE.exec(new URL(response.url()).pathname);
      if (match) tiles.push({ status: response.status(), regionWidth: Number(match[3]), width: Number(match[5]) });
    });
    const shell = await page.goto(`${jacket.url}/ui/cover/${id}`);
    // Strict still: no inline style but the empty one (the marker that keeps OpenSeadragon from adding its own).
    assert.match((await shell!.allHeaders())['content-security-policy']!, /style-src 'self' 'sha256-47DEQpj8HBSa\+\/TImW\+5JCeuQeRkm5NMpJWZG3hSuFU='(;|$)/);
    await page.getByRole('button', { name: 'Open the zoomable view' }).click();
    await page.locator('.deep-view canvas').first().waitFor();
    await waitFor(() => tiles.length >= 2, 'tiles of the whole image');
    assert.ok(tiles.every((tile) => tile.status === 200), JSON.stringify(tiles));
    assert.ok(tiles.every((tile) => tile.regionWidth > tile.width), 'the first view needs only scaled-down tiles');

    // Zoom in on the middle: the viewer asks for full-resolution tiles (region as wide as the tile).
    await page.locator('.deep-view').scrollIntoViewIfNeeded();
    const box = (await page.locator('.deep-view').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let step = 0; step < 12; step++) await page.mouse.wheel(0, -400);
    await waitFor(() => tiles.some((tile) => tile.regionWidth === tile.width), 'full-resolution tiles after zooming in');
    assert.ok(tiles.every((tile) => tile.status === 200), JSON.stringify(tiles.filter((tile) => tile.status !== 200)));
    await page.locator('section', { has: page.locator('.deep-view') }).screenshot({ path: path.join(SCREENSHOTS, 'deep-view.png') });
    await screenshots(page, 'cover-deep-view');

    // The srcset snippet: every URL in it is an image of the width it claims.
    const snippet = (await page.locator('pre.snippet').textContent()) ?? '';
    const candidates = [...snippet.matchAll(/(http:\/\/\S+) (\d+)w/g)];
    assert.deepEqual(candidates.map((candidate) => Number(candidate[2])), [180, 360, 720]);
    for (const [, url, width] of candidates) {
      const response = await fetch(url!);
      assert.equal(response.status, 200, url);
      assert.equal((await sharp(Buffer.from(await response.arrayBuffer())).metadata()).width, Number(width));
    }
    assert.deepEqual(browser.errors, []);
  });

  test('the release page opens its front image in the same viewer', async () => {
    const release = '8f1b2f77-4a3b-4c1d-9e7a-0c4d1f6b2a11';
    const imageId = await uploadReleaseImage(jacket, release, 'Front', await makeImage(1800, 1800, { color: '#884422' }));
    const page = await browser.page();
    const tiles: string[] = [];
    page.on('response', (response) => {
      if (TILE.test(new URL(response.url()).pathname) && response.status() === 200) tiles.push(response.url());
    });
    await page.goto(`${jacket.url}/ui/release/${release}`);
    await page.getByRole('button', { name: 'Open the zoomable view' }).click();
    await waitFor(() => tiles.length > 0, 'tiles of the release image');
    assert.ok(tiles.every((url) => url.includes(`/iiif/3/caa-${imageId}/`)));
    assert.deepEqual(browser.errors, []);
  });
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
