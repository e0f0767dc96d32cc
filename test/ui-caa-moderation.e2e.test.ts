import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { screenshots, signIn, useJacketInBrowser, type TestBrowser } from './helpers/browser.ts';
import { form, makeImage } from './helpers/images.ts';
import type { RunningJacket } from './helpers/server.ts';

const RELEASE = '76df3287-6cda-33eb-8e9a-044b5e15ffdd';
const OTHER_RELEASE = '30000000-0000-4000-8000-000000000001';

describe('release image moderation in a real browser', () => {
  let jacket: RunningJacket;
  let browser: TestBrowser;
  useJacketInBrowser({ JACKET_MODERATION: 'true' }, (started, launched) => {
    jacket = started;
    browser = launched;
  });

  test('a release image uploaded through the page waits as pending; the admin approves it, rejects another; the uploader sees the status', async () => {
    const other = await jacket.get(`/api/v1/releases/${OTHER_RELEASE}/images`, {
      method: 'POST',
      headers: jacket.admin,
      body: form({ types: 'Front', file: { bytes: await makeImage(300, 300, { color: '#888888' }), filename: 'other.jpg' } }),
    });
    assert.equal(other.status, 201);
    const rejectedId = (await other.json()).id as number;

    const page = await browser.page();
    await page.goto(`${jacket.url}/ui/upload?mbid=${RELEASE}`);
    await signIn(page);
    await page.getByLabel('Drop an image here, or choose a file').setInputFiles({ name: 'art.jpg', mimeType: 'image/jpeg', buffer: await makeImage(600, 600, { color: '#aa3322' }) });
    await page.getByLabel('Front', { exact: true }).check();
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('#moderation-status').waitFor();
    assert.equal(await page.locator('#moderation-status strong').textContent(), 'pending');
    const approvedId = Number(/Uploaded as image (\d+)/.exec((await page.locator('#upload-result').textContent()) ?? '')![1]);
    await screenshots(page, 'upload-release-pending');

    // Listed with approved:false, but not served and not the front.
    assert.equal((await jacket.get(`/release/${RELEASE}/front`)).status, 404);
    const visitor = await browser.page();
    await visitor.goto(`${jacket.url}/ui/release/${RELEASE}`);
    await visitor.getByRole('heading', { name: 'Images in order (1)' }).waitFor();
    await visitor.locator('.image-card').getByText('awaiting approval').waitFor();
    await visitor.locator('.image-card').getByText('Not served until a moderator approves it.').waitFor();
    await visitor.getByText('No image is typed Front.').waitFor();

    const moderator = await browser.page();
    await moderator.goto(jacket.url + '/ui/moderation');
    await signIn(moderator);
    await moderator.getByRole('heading', { name: 'Release images waiting (2)' }).waitFor();
    assert.equal(await moderator.locator('#image-queue li').count(), 2);
    await moderator.waitForFunction(() => {
      const images = [...document.querySelectorAll<HTMLImageElement>('#image-queue img')];
      return images.length === 2 && images.every((img) => img.complete && img.naturalWidth > 1);
    });
    await screenshots(moderator, 'moderation-release-images');

    await moderator.getByRole('button', { name: `Approve image ${approvedId}` }).click();
    await moderator.locator('#moderation-live').getByText(`Image ${approvedId} approved.`).waitFor();
    await moderator.getByRole('button', { name: `Reject image ${rejectedId}` }).click();
    await moderator.locator('#moderation-live').getByText(`Image ${rejectedId} rejected.`).waitFor();
    assert.equal(await moderator.locator('#image-queue li').count(), 0);

    assert.equal((await jacket.get(`/release/${RELEASE}/front`)).status, 307);
    assert.deepEqual(await (await jacket.get(`/download/mbid-${OTHER_RELEASE}/index.json`)).json(), { images: [], release: `https://musicbrainz.org/release/${OTHER_RELEASE}` });

    await page.getByRole('button', { name: 'Check again' }).click();
    await page.locator('#moderation-status strong').getByText('approved').waitFor();
    await visitor.reload();
    await visitor.locator('img[alt^="Front cover of release"]').waitFor();
    assert.equal(await visitor.getByText('awaiting approval').count(), 0);

    await moderator.reload();
    await moderator.getByText('Nothing is waiting for a decision.').waitFor();
    assert.deepEqual(browser.errors, []);
  });
});
