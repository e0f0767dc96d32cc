// Written against the contract of issue 3's Cover Art Archive API (/work/shared/spec/coverartarchive.md and the
// native write API: POST /api/v1/releases/{mbid}/images, PUT /api/v1/releases/{mbid}), which another branch implements.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { screenshots, signIn, useJacketInBrowser, type TestBrowser } from './helpers/browser.ts';
import { makeImage } from './helpers/images.ts';
import type { RunningJacket } from './helpers/server.ts';

const RELEASE = '76df3287-6cda-33eb-8e9a-044b5e15ffdd';
const GROUP = '1b022e01-4da6-387b-8658-8678046e4cef';

describe('release pages in a real browser', () => {
  let jacket: RunningJacket;
  let browser: TestBrowser;
  useJacketInBrowser({}, (started, launched) => {
    jacket = started;
    browser = launched;
  });

  test('images uploaded through the page appear on the release in order, with their types; the group shows its front', async () => {
    const page = await browser.page();
    await page.goto(`${jacket.url}/ui/upload?mbid=${RELEASE}`);
    await signIn(page);
    assert.equal(await page.getByLabel('MusicBrainz release id (MBID)').inputValue(), RELEASE);

    for (const [types, color] of [
      [['Front', 'Booklet'], '#aa3322'],
      [['Back'], '#2233aa'],
    ] as const) {
      await page.getByLabel('Drop an image here, or choose a file').setInputFiles({ name: 'art.jpg', mimeType: 'image/jpeg', buffer: await makeImage(800, 800, { color }) });
      const checked = page.locator('input[name="types"]:checked');
      while ((await checked.count()) > 0) await checked.first().uncheck();
      for (const type of types) await page.getByLabel(type, { exact: true }).check();
      await page.getByRole('button', { name: 'Upload' }).click();
      await page.locator('#upload-result').getByText('Uploaded as image').waitFor();
      await page.locator('#upload-result a').waitFor();
    }
    await page.locator('#upload-result').getByRole('link', { name: 'See the release' }).click();
    await page.waitForURL(`**/ui/release/${RELEASE}`);
    await page.getByRole('heading', { name: 'Images in order (2)' }).waitFor();
    const cards = page.locator('.image-card');
    assert.match((await cards.nth(0).textContent()) ?? '', /Front.*Booklet/);
    assert.match((await cards.nth(1).textContent()) ?? '', /Back/);
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('main img')].every((img) => img.complete && img.naturalWidth > 1));
    assert.equal(await page.locator('img[alt^="Front cover of release"]').count(), 1);
    await screenshots(page, 'release');

    const linked = await jacket.get(`/api/v1/releases/${RELEASE}`, {
      method: 'PUT',
      headers: { ...jacket.admin, 'content-type': 'application/json' },
      body: JSON.stringify({ releaseGroup: GROUP, date: '1994-03' }),
    });
    assert.ok(linked.status === 200 || linked.status === 201);
    await page.goto(`${jacket.url}/ui/release/${GROUP}`);
    await page.getByRole('heading', { name: `Release group ${GROUP}` }).waitFor();
    await page.getByRole('heading', { name: 'The release group’s chosen front' }).waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('main img')].every((img) => img.complete && img.naturalWidth > 1));
    assert.equal(await page.locator(`a[href="/ui/release/${RELEASE}"]`).count(), 1);
    await screenshots(page, 'release-group');
    assert.deepEqual(browser.errors, []);
  });
});
