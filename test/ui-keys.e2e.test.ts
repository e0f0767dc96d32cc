// Written against the contract of issue 4's sign-up and usage calls (POST /api/v1/keys/signup → 201
// {key, dailyLimit, usageUrl} or 403 signup_disabled; GET /devkey/{KEY}/usage → {counted, limit, remaining, resetAt}),
// which another branch implements.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, screenshots, type TestBrowser } from './helpers/browser.ts';
import { form, makeImage } from './helpers/images.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

describe('developer keys in a real browser', () => {
  let jacket: RunningJacket;
  let closed: RunningJacket;
  let browser: TestBrowser;

  before(async () => {
    jacket = await startJacket({ JACKET_KEY_SIGNUP: 'true' });
    closed = await startJacket();
    const response = await jacket.get('/b/upload2', {
      method: 'POST',
      headers: jacket.admin,
      body: form({ isbn: '0385472579', data: { bytes: await makeImage(600, 900), type: 'image/jpeg' } }),
    });
    assert.equal(response.status, 200);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await jacket?.close();
    await closed?.close();
  });

  test('sign up for a key, see it once, and follow its usage as covers are made', async () => {
    const page = await browser.page();
    await page.goto(jacket.url + '/ui/keys');
    await page.getByRole('button', { name: 'Get a key' }).click();
    await page.getByRole('alert').getByText('Give a name').waitFor();

    await page.getByLabel('Name').fill('Village library');
    await page.getByLabel('Contact').fill('librarian@example.org');
    await page.getByRole('button', { name: 'Get a key' }).click();
    const secret = page.locator('#new-key');
    await secret.waitFor();
    const key = await secret.inputValue();
    assert.ok(key.length >= 16, 'a real secret');
    await page.locator('#usage-counted').waitFor();
    assert.equal(await page.locator('#usage-counted').textContent(), '0');
    const limit = Number(await page.locator('#usage-limit').textContent());
    assert.ok(limit > 0);
    assert.equal(Number(await page.locator('#usage-remaining').textContent()), limit);
    await screenshots(page, 'keys-signup');

    // A rendition made from the original counts against the key.
    const cover = await jacket.get(`/devkey/${key}/medium/isbn/0385472579`);
    assert.equal(cover.status, 200);
    await page.getByRole('button', { name: 'Show usage' }).click();
    await page.locator('#usage-counted').getByText('1').waitFor();
    assert.equal(Number(await page.locator('#usage-remaining').textContent()), limit - 1);

    // The key is never put into the page's address.
    assert.ok(!page.url().includes(key));
    await page.getByLabel('Developer key', { exact: true }).fill('not-a-key');
    await page.getByRole('button', { name: 'Show usage' }).click();
    await page.locator('#usage-result').getByText('not known').waitFor();
    assert.deepEqual(browser.errors, []);
  });

  test('with sign-up turned off, the page says whom to ask', async () => {
    const page = await browser.page();
    await page.goto(closed.url + '/ui/keys');
    await page.getByLabel('Name').fill('Someone');
    await page.getByLabel('Contact').fill('someone@example.org');
    await page.getByRole('button', { name: 'Get a key' }).click();
    await page.locator('#signup-result').getByText('Self-service sign-up is turned off').waitFor();
    assert.deepEqual(browser.errors, []);
  });
});
