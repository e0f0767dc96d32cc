import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { screenshots, signIn, useJacketInBrowser, type TestBrowser } from './helpers/browser.ts';
import { createKey, uploadBookCover } from './helpers/library-apis.ts';
import type { RunningJacket } from './helpers/server.ts';

describe('developer keys for the administrator in a real browser', () => {
  let jacket: RunningJacket;
  let browser: TestBrowser;
  let existing: { key: string; id: string };
  useJacketInBrowser({}, async (started, launched) => {
    jacket = started;
    browser = launched;
    await uploadBookCover(jacket, { isbn: '9780385472579' });
    existing = await createKey(jacket, { name: 'Town OPAC', contact: 'opac@example.org', dailyLimit: 50 });
    // Two renditions made from the original count against the key today.
    for (const size of ['small', 'medium']) assert.equal((await jacket.get(`/devkey/${existing.key}/${size}/isbn/9780385472579`)).status, 200);
  });

  test('list with each key’s use today, make a key (shown once), revoke one after confirming', async () => {
    const page = await browser.page();
    await page.goto(jacket.url + '/ui/keys');
    await signIn(page);
    const row = (name: string) => page.locator('#keys-table tbody tr', { hasText: name });
    await row('Town OPAC').waitFor();
    assert.match((await row('Town OPAC').textContent()) ?? '', /2 of 50/);
    assert.match((await row('Town OPAC').textContent()) ?? '', /opac@example\.org/);

    await page.getByRole('button', { name: 'Make the key' }).click();
    await page.locator('#key-admin-result').getByText('Give the key a name.').waitFor();
    await page.locator('#new-key-name').fill('Branch library');
    await page.locator('#new-key-limit').fill('lots');
    await page.getByRole('button', { name: 'Make the key' }).click();
    await page.locator('#key-admin-result').getByText('invalid_daily_limit · HTTP 400').waitFor();
    await page.locator('#new-key-limit').fill('200');
    await page.getByLabel('May upload covers').check();
    await page.getByRole('button', { name: 'Make the key' }).click();
    const secret = await page.locator('#new-key').inputValue();
    await row('Branch library').waitFor();
    assert.match((await row('Branch library').textContent()) ?? '', /0 of 200.*fetch and upload/);
    assert.equal((await jacket.get(`/devkey/${secret}/usage`)).status, 200, 'the secret shown works');
    await screenshots(page, 'keys-admin');

    await page.getByRole('button', { name: 'Revoke Town OPAC' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke the key “Town OPAC”?' });
    await dialog.getByRole('button', { name: 'Keep it' }).click();
    assert.equal((await jacket.get(`/devkey/${existing.key}/usage`)).status, 200);
    await page.getByRole('button', { name: 'Revoke Town OPAC' }).click();
    await dialog.getByRole('button', { name: 'Revoke the key' }).click();
    await page.locator('#key-admin-result').getByText('The key “Town OPAC” is revoked.').waitFor();
    await row('Town OPAC').getByText('revoked').waitFor();
    assert.notEqual((await jacket.get(`/devkey/${existing.key}/usage`)).status, 200);
    assert.deepEqual(browser.errors, []);
  });
});
