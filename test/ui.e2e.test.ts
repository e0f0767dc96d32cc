import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { screenshots, signIn, useJacketInBrowser, type TestBrowser } from './helpers/browser.ts';
import { bookCoverArt, form, makeImage } from './helpers/images.ts';
import { ADMIN_TOKEN, type RunningJacket } from './helpers/server.ts';

const SHELF = [
  ['Walden', 'Henry David Thoreau', '#2e5d4b'],
  ['Middlemarch', 'George Eliot', '#5a3d6b'],
  ['Persuasion', 'Jane Austen', '#8a5a2b'],
  ['Bleak House', 'Charles Dickens', '#3b4a6b'],
  ['Dracula', 'Bram Stoker', '#6b2e2e'],
] as const;

async function uploadByApi(jacket: RunningJacket, fields: Record<string, string>, color: string, title?: string, author = ''): Promise<number> {
  const bytes = title ? await bookCoverArt(title, author, color) : await makeImage(400, 600, { color });
  const response = await jacket.get('/b/upload2', {
    method: 'POST',
    headers: jacket.admin,
    body: form({ ...fields, data: { bytes, type: 'image/jpeg' } }),
  });
  assert.equal(response.status, 200);
  return (await response.json()).id;
}

/** Every <img> on the page decoded to a real picture (not a broken image, not the 1×1 blank). */
async function imagesLoaded(page: Page, selector: string): Promise<number> {
  const locator = page.locator(selector);
  await locator.first().waitFor();
  await page.waitForFunction((css) => [...document.querySelectorAll<HTMLImageElement>(css)].every((img) => img.complete), selector);
  const widths = await locator.evaluateAll((images) => images.map((img) => (img as HTMLImageElement).naturalWidth));
  assert.ok(widths.length > 0 && widths.every((width) => width > 1), `images ${selector} did not load: ${widths}`);
  return widths.length;
}

describe('web UI in a real browser', () => {
  let jacket: RunningJacket;
  let browser: TestBrowser;
  let seededId: number;

  useJacketInBrowser({}, async (started, launched) => {
    jacket = started;
    browser = launched;
    seededId = await uploadByApi(jacket, { olid: 'OL7353617M', isbn: '0385472579', oclc: '32738417' }, '#7a3b2e', 'Leaves of Grass', 'Walt Whitman');
    for (const [index, [title, author, color]] of SHELF.entries()) await uploadByApi(jacket, { olid: `OL${index + 2}M` }, color, title, author);
  });

  test('home: search by ISBN shows the cover, which leads to the cover page', async () => {
    const page = await browser.page();
    await page.goto(jacket.url + '/');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Jacket cover server');
    assert.equal(await imagesLoaded(page, '#recent img'), 1 + SHELF.length);
    await screenshots(page, 'home');

    await page.getByLabel('Identifier').fill('978-0-385-47257-9');
    await page.getByLabel('Identifier').press('Enter');
    const result = page.locator('#search-results img');
    await imagesLoaded(page, '#search-results img');
    assert.equal(await result.getAttribute('src'), `/b/id/${seededId}-M.jpg`);
    assert.match((await result.getAttribute('alt')) ?? '', /ISBN 9780385472579/);
    await screenshots(page, 'home-search');

    await page.locator('#search-results').getByRole('link', { name: `Cover ${seededId}` }).click();
    await page.waitForURL(`**/ui/cover/${seededId}`);
    await page.getByRole('heading', { name: `Cover ${seededId}`, level: 1 }).waitFor();
    await imagesLoaded(page, '.cover-layout img');
    const identifiers = await page.locator('section[aria-labelledby="ids-title"]').textContent();
    assert.match(identifiers ?? '', /9780385472579/);
    assert.match(identifiers ?? '', /32738417/);
    // Every Open Library size is listed with a URL that really serves it.
    for (const size of ['S', 'M', 'L']) {
      const href = await page.locator(`a[href="/b/id/${seededId}-${size}.jpg"]`).getAttribute('href');
      assert.equal((await jacket.get(href!)).status, 200);
    }
    assert.match((await page.locator('section[aria-labelledby="keyed-title"]').textContent()) ?? '', /\/devkey\/KEY\/medium\/isbn\/9780385472579/);
    await screenshots(page, 'cover');

    await page.goto(jacket.url + '/');
    await page.getByLabel('Identifier').fill('9999999999');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#search-results').getByText('No cover found').waitFor();
    assert.deepEqual(browser.errors, []);
  });

  test('upload through the page: errors from the server are shown, then the cover is served by ISBN', async () => {
    const page = await browser.page();
    await page.goto(jacket.url + '/ui/upload');
    // Without signing in, the page says so instead of sending a request that will fail.
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByRole('alert').getByText('Sign in first').waitFor();
    // A wrong token is refused and not kept.
    await page.getByRole('button', { name: 'Sign in' }).first().click();
    await page.getByLabel('Admin token or upload key').fill('not-the-token');
    await page.locator('#signin form').getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#signin').getByText('not known to the server').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.keyboard.press('Escape');
    await signIn(page, ADMIN_TOKEN, 'signin');
    // The credential lives in this tab's session storage, never in the address.
    assert.equal(await page.evaluate(() => sessionStorage.getItem('jacket.token')), ADMIN_TOKEN);
    assert.ok(!page.url().includes(ADMIN_TOKEN));

    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByRole('alert').getByText('Choose an image file').waitFor();

    // Not an image: the server's validation message reaches the person.
    await page.getByLabel('Drop an image here, or choose a file').setInputFiles({ name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('this is not an image at all') });
    await page.getByLabel('ISBN').fill('978-0-14-044913-6');
    await page.getByRole('button', { name: 'Upload' }).click();
    const refusal = page.getByRole('alert');
    await refusal.getByText('The server refused the upload').waitFor();
    assert.match((await refusal.textContent()) ?? '', /HTTP 400/);
    await screenshots(page, 'upload-error');

    await page.getByLabel('ISBN').fill('not-an-isbn');
    await page.getByLabel('Drop an image here, or choose a file').setInputFiles({ name: 'cover.png', mimeType: 'image/png', buffer: await makeImage(300, 450, { format: 'png', color: '#c08a2b' }) });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByRole('alert').getByText('not-an-isbn').waitFor();
    assert.equal((await jacket.get('/b/isbn/9780140449136-M.jpg?default=false')).status, 404);

    await page.getByLabel('ISBN').fill('978-0-14-044913-6');
    await imagesLoaded(page, '#preview img');
    await screenshots(page, 'upload');
    await page.getByRole('button', { name: 'Upload' }).click();
    const link = page.locator('#result-link');
    await link.waitFor();
    const id = Number((await link.getAttribute('href'))!.split('/').pop());
    assert.ok(id > seededId);
    // The form is emptied after a success: clicking Upload again cannot send the same cover twice.
    assert.equal(await page.getByLabel('ISBN').inputValue(), '');
    assert.equal(await page.locator('#file').evaluate((input: HTMLInputElement) => input.files?.length ?? 0), 0);
    assert.equal(await page.locator('#preview img').count(), 0);

    const served = await jacket.get('/b/isbn/9780140449136-M.jpg?default=false');
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('etag'), `"${id}-m"`);
    await link.click();
    await page.getByRole('heading', { name: `Cover ${id}`, level: 1 }).waitFor();
    await imagesLoaded(page, '.cover-layout img');
    assert.deepEqual(browser.errors, []);
  });

  test('upload by drag and drop', async () => {
    const page = await browser.page();
    await page.goto(jacket.url + '/ui/upload');
    await signIn(page);
    const png = (await makeImage(240, 360, { format: 'png', color: '#4a7a2e' })).toString('base64');
    const transfer = await page.evaluateHandle((base64) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
      return data;
    }, png);
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: transfer });
    await imagesLoaded(page, '#preview img');
    await page.getByLabel('Open Library edition').fill('OL99M');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('#result-link').waitFor();
    assert.equal((await jacket.get('/b/olid/OL99M-S.jpg?default=false')).status, 200);
    assert.deepEqual(browser.errors, []);
  });

  test('every page is reachable by keyboard, labelled, and fits a phone screen', async () => {
    const page = await browser.page();
    await page.setViewportSize({ width: 375, height: 812 });
    for (const path of ['/', '/ui/upload', '/ui/moderation', '/ui/keys', `/ui/cover/${seededId}`, '/ui/release/76df3287-6cda-33eb-8e9a-044b5e15ffdd']) {
      await page.goto(jacket.url + path);
      await page.locator('main h1').waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${path} is ${overflow}px wider than a phone screen`);
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll('input, select, textarea')]
          .filter((control) => (control as HTMLInputElement).type !== 'hidden' && (control as HTMLInputElement).labels?.length === 0 && !control.getAttribute('aria-label'))
          .map((control) => control.id || control.outerHTML),
      );
      assert.deepEqual(unlabelled, [], path);
      const missingAlt = await page.evaluate(() => [...document.querySelectorAll('img')].filter((img) => !img.hasAttribute('alt')).map((img) => img.src));
      assert.deepEqual(missingAlt, [], path);
      // The API documentation is one link away from every page.
      assert.equal(await page.locator('a[href="/docs"]').count() > 0, true, path);
    }
    // Tabbing from the top reaches the menu, then the search box.
    await page.goto(jacket.url + '/');
    const focused: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      focused.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent?.trim() || ''));
    }
    assert.ok(focused.includes('Upload'), focused.join(' | '));
    assert.ok(focused.includes('q'), focused.join(' | '));
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(jacket.url + '/ui/release/76df3287-6cda-33eb-8e9a-044b5e15ffdd');
    await page.getByText('has cover art here').waitFor();
    await screenshots(page, 'release-none');
    await page.goto(jacket.url + '/ui/keys');
    await screenshots(page, 'keys');
    assert.deepEqual(browser.errors, []);
  });
});

describe('moderation in a real browser', () => {
  let jacket: RunningJacket;
  let browser: TestBrowser;
  useJacketInBrowser({ JACKET_MODERATION: 'true' }, (started, launched) => {
    jacket = started;
    browser = launched;
  });

  test('uploads wait as pending; the admin approves one and rejects another; the uploader sees the decision', async () => {
    const rejectedId = await uploadByApi(jacket, { isbn: '9781861972712' }, '#888888');
    const page = await browser.page();
    await page.goto(jacket.url + '/ui/upload');
    await signIn(page);
    await page.getByLabel('Drop an image here, or choose a file').setInputFiles({ name: 'cover.jpg', mimeType: 'image/jpeg', buffer: await makeImage(320, 480, { color: '#5a2e7a' }) });
    await page.getByLabel('ISBN').fill('9780306406157');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('#moderation-status').waitFor();
    const approvedId = Number((await page.locator('#result-link').getAttribute('href'))!.split('/').pop());
    assert.equal(await page.locator('#moderation-status strong').textContent(), 'pending');
    await screenshots(page, 'upload-pending');
    // The uploader's link explains the wait, even to someone who is not an administrator.
    const visitor = await browser.page();
    await visitor.goto(`${jacket.url}/ui/cover/${approvedId}`);
    await visitor.getByText('is waiting for a moderator').waitFor();
    await screenshots(visitor, 'cover-pending');
    // Pending covers are served to nobody.
    assert.equal((await jacket.get('/b/isbn/9780306406157-M.jpg?default=false')).status, 404);
    assert.equal((await jacket.get(`/b/id/${approvedId}-M.jpg?default=false`)).status, 404);

    const moderator = await browser.page();
    await moderator.goto(jacket.url + '/ui/moderation');
    // sessionStorage belongs to one tab: the moderator's tab signs in on its own.
    await moderator.getByText('The moderation queue is for administrators.').waitFor();
    await signIn(moderator);
    await moderator.getByText('Moderation is on').waitFor();
    assert.equal(await moderator.locator('.queue li').count(), 2);
    await imagesLoaded(moderator, '.queue img');
    await screenshots(moderator, 'moderation');

    await moderator.getByRole('button', { name: `Approve cover ${approvedId}` }).click();
    await moderator.locator('#moderation-live').getByText(`Cover ${approvedId} approved.`).waitFor();
    assert.equal(await moderator.locator('#queue-title').textContent(), 'Covers waiting (1)', 'the count follows the decision');
    await moderator.getByRole('button', { name: `Reject cover ${rejectedId}` }).click();
    await moderator.locator('#moderation-live').getByText(`Cover ${rejectedId} rejected.`).waitFor();
    assert.equal(await moderator.locator('.queue li').count(), 0);
    assert.equal(await moderator.locator('#queue-title').count(), 0, 'no "Covers waiting" heading over an empty list');
    await moderator.locator('#queue-empty').getByText('Nothing is waiting for a decision.').waitFor();

    const approved = await jacket.get('/b/isbn/9780306406157-M.jpg?default=false');
    assert.equal(approved.status, 200);
    assert.equal(approved.headers.get('etag'), `"${approvedId}-m"`);
    assert.equal((await jacket.get('/b/isbn/9781861972712-M.jpg?default=false')).status, 404);

    await page.getByRole('button', { name: 'Check again' }).click();
    await page.locator('#moderation-status strong').getByText('approved').waitFor();
    assert.deepEqual(await (await jacket.get(`/api/v1/covers/${rejectedId}/status`)).json(), { id: rejectedId, status: 'rejected' });

    await moderator.reload();
    await moderator.getByText('Nothing is waiting for a decision.').waitFor();

    // An administrator searching for a cover the public cannot see is told it is here, not invited to upload it again.
    const waitingId = await uploadByApi(jacket, { isbn: '9780140449136' }, '#336699');
    await moderator.goto(jacket.url + '/');
    await moderator.getByLabel('Identifier').fill('978-0-14-044913-6');
    await moderator.getByLabel('Identifier').press('Enter');
    await moderator.locator('#search-results').getByText('is here but not served: it is waiting for a moderator').waitFor();
    assert.equal(await moderator.locator('#search-results').getByText('Upload one').count(), 0);
    await moderator.locator('#search-results').getByRole('link', { name: `See cover ${waitingId}` }).waitFor();
    assert.deepEqual(browser.errors, []);
  });
});
