// Every Jacket page, signed out and as the administrator, with data on it: axe-core finds no violation, nothing is
// wider than a phone, and each page is photographed at desktop and phone width (artifacts/screenshots/).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accessibilityViolations, screenshots, signIn, useJacketInBrowser, PHONE, DESKTOP, type TestBrowser } from './helpers/browser.ts';
import { createKey, uploadBookCover, uploadReleaseImage } from './helpers/library-apis.ts';
import type { RunningJacket } from './helpers/server.ts';

const RELEASE = '76df3287-6cda-33eb-8e9a-044b5e15ffdd';

describe('accessibility of every page', () => {
  let jacket: RunningJacket;
  let browser: TestBrowser;
  let coverId: number;
  useJacketInBrowser({ JACKET_MODERATION: 'true' }, async (started, launched) => {
    jacket = started;
    browser = launched;
    coverId = await uploadBookCover(jacket, { isbn: '9780385472579', olid: 'OL7353617M' });
    await jacket.get(`/api/v1/covers/${coverId}/approve`, { method: 'POST', headers: jacket.admin });
    await uploadBookCover(jacket, { isbn: '9780140449136' }, '#7a3b2e');
    await uploadReleaseImage(jacket, RELEASE, 'Front');
    await createKey(jacket, { name: 'Town OPAC', contact: 'opac@example.org' });
  });

  function pages(): [string, string][] {
    return [
      ['home', '/'],
      ['collection', '/ui/collection'],
      ['upload', '/ui/upload'],
      ['moderation', '/ui/moderation'],
      ['keys', '/ui/keys'],
      ['stats', '/ui/stats'],
      ['cover', `/ui/cover/${coverId}`],
      ['release', `/ui/release/${RELEASE}`],
      ['not-found', '/ui/no-such-page'],
    ];
  }

  async function check(page: Awaited<ReturnType<TestBrowser['page']>>, label: string) {
    for (const [name, path] of pages()) {
      await page.goto(jacket.url + path);
      await page.locator('main h1').waitFor();
      await page.waitForLoadState('networkidle');
      assert.deepEqual(await accessibilityViolations(page), [], `${label} ${path}`);
      await page.setViewportSize(PHONE);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${label} ${path} is ${overflow}px wider than a phone screen`);
      await page.setViewportSize(DESKTOP);
      await screenshots(page, `${label}-${name}`);
    }
  }

  test('signed out: no violations on any page', async () => {
    await check(await browser.page(), 'visitor');
    assert.deepEqual(browser.errors, []);
  });

  test('as the administrator: no violations on any page', async () => {
    const page = await browser.page();
    await page.goto(jacket.url + '/');
    await signIn(page);
    await check(page, 'admin');
    assert.deepEqual(browser.errors, []);
  });

  test('the API documentation: nothing serious or critical', async () => {
    const page = await browser.page();
    await page.goto(jacket.url + '/docs');
    await page.locator('.opblock').first().waitFor();
    assert.deepEqual(await accessibilityViolations(page, 'serious'), []);
  });
});
