import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { PHONE, screenshots, signIn, useJacketInBrowser, type TestBrowser } from './helpers/browser.ts';
import { makeImage } from './helpers/images.ts';
import { uploadBookCover } from './helpers/library-apis.ts';
import { makeTempDir, type RunningJacket } from './helpers/server.ts';

describe('uploading many covers in a real browser', () => {
  let jacket: RunningJacket;
  let browser: TestBrowser;
  let existingId: number;
  useJacketInBrowser({}, async (started, launched) => {
    jacket = started;
    browser = launched;
    existingId = await uploadBookCover(jacket, { isbn: '9780451526533' });
  });

  test('three files named by ISBN: each ISBN read from its name, each sent with its own result; doubtful files flagged and left unticked', async () => {
    const page = await browser.page();
    await page.goto(jacket.url + '/ui/upload');
    await signIn(page);
    const files = [
      ['9780385472579.jpg', 'image/jpeg', '#7a3b2e'],
      ['0-14-044913-2.png', 'image/png', '#2e5d4b'],
      ['0306406152_back.jpg', 'image/jpeg', '#3b4a6b'],
      ['0451526538.jpg', 'image/jpeg', '#5a3d6b'], // already in the catalogue
      ['9780316769480.jpg', 'image/jpeg', '#8a5a2b'], // wrong check digit
      ['front scan.jpg', 'image/jpeg', '#6b2e2e'], // no ISBN in the name
    ] as const;
    await page.getByLabel('Choose files').setInputFiles(
      await Promise.all(files.map(async ([name, mimeType, color]) => ({ name, mimeType, buffer: await makeImage(400, 600, { color, format: mimeType === 'image/png' ? 'png' : 'jpeg' }) }))),
    );
    const isbnOf = (name: string) => page.getByLabel(`ISBN of ${name}`);
    const sendOf = (name: string) => page.getByLabel(`Send ${name}`);
    assert.equal(await isbnOf('9780385472579.jpg').inputValue(), '9780385472579');
    assert.equal(await isbnOf('0-14-044913-2.png').inputValue(), '0140449132');
    assert.equal(await isbnOf('0306406152_back.jpg').inputValue(), '0306406152');
    assert.equal(await isbnOf('front scan.jpg').inputValue(), '');
    const row = (name: string) => page.locator('#batch tr', { hasText: name });
    await row('0451526538.jpg').getByRole('link', { name: `cover ${existingId}` }).waitFor();
    await row('9780316769480.jpg').getByText('check digit').waitFor();
    await row('front scan.jpg').getByText('No ISBN').waitFor();
    for (const name of ['9780385472579.jpg', '0-14-044913-2.png', '0306406152_back.jpg']) assert.equal(await sendOf(name).isChecked(), true, name);
    for (const name of ['0451526538.jpg', '9780316769480.jpg', 'front scan.jpg']) assert.equal(await sendOf(name).isChecked(), false, name);

    // The ISBN is editable before sending: the file without one gets it typed in, and is then ready.
    await isbnOf('front scan.jpg').fill('9780316769488');
    await isbnOf('front scan.jpg').press('Tab');
    await row('front scan.jpg').getByText('Ready').waitFor();
    assert.equal(await sendOf('front scan.jpg').isChecked(), true);
    await screenshots(page, 'upload-many');

    await page.getByRole('button', { name: 'Send the ticked files' }).click();
    await page.locator('#batch-summary').getByText('4 uploaded.').waitFor();
    for (const [name, isbn] of [['9780385472579.jpg', '9780385472579'], ['0-14-044913-2.png', '9780140449136'], ['0306406152_back.jpg', '9780306406157'], ['front scan.jpg', '9780316769488']]) {
      const link = row(name).getByRole('link', { name: /^Cover \d+$/ });
      const id = Number((await link.getAttribute('href'))!.split('/').pop());
      const served = await jacket.get(`/b/isbn/${isbn}-S.jpg?default=false`);
      assert.equal(served.status, 200, name);
      assert.equal(served.headers.get('etag'), `"${id}-s"`, name);
      assert.equal(await sendOf(name).isDisabled(), true, `${name} cannot be sent twice`);
    }
    assert.equal((await jacket.get('/b/isbn/9780316769480-S.jpg?default=false')).status, 404, 'the mistyped one was not sent');
    assert.deepEqual(browser.errors, []);
  });

  test('a folder of scans: its images listed with the ISBN of each name, anything else left out', async () => {
    const folder = await makeTempDir('jacket-scans-');
    try {
      await fs.mkdir(path.join(folder, 'shelf 2'));
      await fs.writeFile(path.join(folder, '9780141439549.jpg'), await makeImage(300, 450, { color: '#5a3d6b' }));
      await fs.writeFile(path.join(folder, 'shelf 2', '0-14-143968-8_front.jpg'), await makeImage(300, 450, { color: '#8a5a2b' }));
      await fs.writeFile(path.join(folder, 'notes.txt'), 'scanned on Tuesday');
      const page = await browser.page();
      await page.goto(jacket.url + '/ui/upload');
      await signIn(page);
      await page.getByLabel('Choose a folder').setInputFiles(folder);
      await page.getByLabel('ISBN of 9780141439549.jpg').waitFor();
      assert.equal(await page.getByLabel('ISBN of 0-14-143968-8_front.jpg').inputValue(), '0141439688');
      await page.locator('#batch-summary').getByText('1 file is not an image and left out.').waitFor();
      await page.getByRole('button', { name: 'Send the ticked files' }).click();
      await page.locator('#batch-summary').getByText('2 uploaded.').waitFor();
      assert.equal((await jacket.get('/b/isbn/9780141439686-S.jpg?default=false')).status, 200);
      assert.deepEqual(browser.errors, []);
    } finally {
      await fs.rm(folder, { recursive: true, force: true });
    }
  });

  test('one cover: a wrong check digit is warned before sending; a second press sends it as typed', async () => {
    const page = await browser.page();
    await page.goto(jacket.url + '/ui/upload');
    await signIn(page);
    await page.getByLabel('Drop an image here, or choose a file').setInputFiles({ name: 'c.jpg', mimeType: 'image/jpeg', buffer: await makeImage(300, 450) });
    await page.getByLabel('ISBN', { exact: true }).fill('978-0-306-40615-8');
    await page.locator('#isbn-warning').getByText('check digit').waitFor();
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await page.locator('#upload-result').getByText('press Upload again').waitFor();
    assert.equal((await jacket.get('/b/isbn/9780306406158-S.jpg?default=false')).status, 404, 'nothing sent on the first press');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await page.locator('#result-link').waitFor();
    assert.equal((await jacket.get('/b/isbn/9780306406158-S.jpg?default=false')).status, 200);
    assert.equal(await page.locator('#isbn-warning').textContent(), '', 'the form is empty again');
    assert.deepEqual(browser.errors, []);
  });

  test('a very wide scan stays inside a phone screen', async () => {
    const page = await browser.page();
    await page.setViewportSize(PHONE);
    await page.goto(jacket.url + '/ui/upload');
    await page.getByLabel('Drop an image here, or choose a file').setInputFiles({ name: 'panorama.png', mimeType: 'image/png', buffer: await makeImage(3000, 300, { format: 'png' }) });
    await page.locator('#preview img').waitFor();
    await page.waitForFunction(() => (document.querySelector('#preview img') as HTMLImageElement).complete);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    assert.deepEqual(browser.errors, []);
  });
});
