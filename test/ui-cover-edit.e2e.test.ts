import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { screenshots, signIn, useJacketInBrowser, type TestBrowser } from './helpers/browser.ts';
import { form, makeImage } from './helpers/images.ts';
import type { RunningJacket } from './helpers/server.ts';

describe('correcting, replacing and deleting a cover in a real browser', () => {
  let jacket: RunningJacket;
  let browser: TestBrowser;
  let coverId: number;
  let original: Buffer;
  useJacketInBrowser({}, async (started, launched) => {
    jacket = started;
    browser = launched;
    original = await makeImage(400, 600, { color: '#7a3b2e' });
    const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ isbn: '9780306406157', data: { bytes: original } }) });
    coverId = (await response.json()).id;
  });

  test('an ISBN corrected on the cover page is what /b/isbn/… follows at once', async () => {
    const page = await browser.page();
    await page.goto(`${jacket.url}/ui/cover/${coverId}`);
    await signIn(page);
    const isbn = page.getByLabel('ISBN', { exact: true });
    assert.equal(await isbn.inputValue(), '9780306406157');
    await isbn.fill('0-385-47257-9');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved. Every lookup follows the change at once.').waitFor();
    assert.equal(await page.getByLabel('ISBN', { exact: true }).inputValue(), '9780385472579', 'shown as stored, ISBN-13');
    const followed = await jacket.get('/b/isbn/0385472579-S.jpg?default=false');
    assert.equal(followed.status, 200);
    assert.equal(followed.headers.get('etag'), `"${coverId}-s"`);
    assert.equal((await jacket.get('/b/isbn/9780306406157-S.jpg?default=false')).status, 404, 'the wrong ISBN no longer finds it');

    // Title and authors are kept for the collection search.
    await page.getByLabel('Title').fill('Things Fall Apart');
    await page.getByLabel('Authors').fill('Chinua Achebe');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('dl.facts').getByText('Things Fall Apart').waitFor();
    const found = await (await jacket.get('/api/v1/covers?q=achebe', { headers: jacket.admin })).json();
    assert.deepEqual(found.covers.map((cover: { id: number }) => cover.id), [coverId]);

    // A bad value is refused with the server's sentence and code; nothing changes.
    await page.getByLabel('OCLC number').fill('not a number');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('#edit-result').getByText('invalid_identifier · HTTP 400').waitFor();
    await screenshots(page, 'cover-edit');
    assert.deepEqual(browser.errors, []);
  });

  test('replacing the image: the old id still serves its own bytes, the ISBN the new cover, both in the history; then delete with confirmation', async () => {
    const page = await browser.page();
    await page.goto(`${jacket.url}/ui/cover/${coverId}`);
    await signIn(page);
    await page.getByRole('button', { name: 'Replace the image' }).click();
    await page.locator('#replace-result').getByText('Choose the new image first.').waitFor();
    await page.getByLabel('New image').setInputFiles({ name: 'better.png', mimeType: 'image/png', buffer: await makeImage(500, 750, { format: 'png', color: '#2e5d4b' }) });
    await page.getByRole('button', { name: 'Replace the image' }).click();
    await page.waitForURL(`**/ui/cover/*?replaces=${coverId}`);
    const newId = Number(new URL(page.url()).pathname.split('/').pop());
    assert.notEqual(newId, coverId);
    await page.getByText(`This cover replaces cover ${coverId}`).waitFor();

    const old = await jacket.get(`/b/id/${coverId}.jpg`);
    assert.equal(old.status, 200);
    assert.deepEqual(Buffer.from(await old.arrayBuffer()), original, 'the old id keeps its own bytes');
    assert.equal((await jacket.get('/b/isbn/9780385472579-S.jpg?default=false')).headers.get('etag'), `"${newId}-s"`);
    const history = page.locator('#history-list li');
    await history.first().waitFor();
    assert.deepEqual(await history.evaluateAll((items) => items.map((item) => item.textContent!.split(' — ')[0])), [`Cover ${newId} (this one)`, `Cover ${coverId}`]);
    await screenshots(page, 'cover-replaced');

    // Delete asks first; "Keep it" keeps it.
    await page.getByRole('button', { name: 'Delete this cover…' }).click();
    const dialog = page.getByRole('dialog', { name: `Delete cover ${newId}?` });
    await dialog.waitFor();
    await screenshots(page, 'cover-delete');
    await dialog.getByRole('button', { name: 'Keep it' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await jacket.get(`/b/id/${newId}-S.jpg`)).status, 200);
    await page.getByRole('button', { name: 'Delete this cover…' }).click();
    await dialog.getByRole('button', { name: `Delete cover ${newId}` }).click();
    await page.getByText(`Cover ${newId} was deleted.`).first().waitFor();
    assert.equal((await jacket.get(`/b/id/${newId}-S.jpg?default=false`)).status, 404);
    assert.deepEqual(browser.errors, []);
  });
});
