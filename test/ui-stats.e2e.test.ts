import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { screenshots, signIn, useJacketInBrowser, type TestBrowser } from './helpers/browser.ts';
import { uploadBookCover } from './helpers/library-apis.ts';
import type { RunningJacket } from './helpers/server.ts';

describe('the statistics page in a real browser', () => {
  let jacket: RunningJacket;
  let browser: TestBrowser;
  let popular: number;
  let other: number;
  useJacketInBrowser({ JACKET_MODERATION: 'true' }, async (started, launched) => {
    jacket = started;
    browser = launched;
    popular = await uploadBookCover(jacket, { isbn: '9780385472579' });
    other = await uploadBookCover(jacket, { isbn: '9780140449136' }, '#7a3b2e');
    await uploadBookCover(jacket, { isbn: '9780306406157' }, '#2e5d4b'); // stays waiting
    for (const id of [popular, other]) await jacket.get(`/api/v1/covers/${id}/approve`, { method: 'POST', headers: jacket.admin });
    for (const size of ['S', 'M', 'L', 'M']) assert.equal((await jacket.get(`/b/id/${popular}-${size}.jpg`)).status, 200);
    assert.equal((await jacket.get(`/b/id/${other}-S.jpg`)).status, 200);
  });

  test('covers by kind and state, requests and new sizes per day as SVG charts, the most requested covers', async () => {
    const page = await browser.page();
    await page.goto(jacket.url + '/ui/stats');
    await page.getByText('Statistics are for administrators.').waitFor();
    await signIn(page);
    await page.locator('#usage-chart svg').waitFor();
    const bar = (chart: string, label: string) => page.locator(`#${chart} li`, { hasText: label }).locator('.bar-value').textContent();
    assert.equal(await bar('covers-by-kind', 'Book editions'), '3');
    assert.equal(await bar('covers-by-state', 'Served'), '2');
    assert.equal(await bar('covers-by-state', 'Waiting for moderation'), '1');

    // Thirty days, two bars a day; today's numbers in the table behind the chart.
    assert.equal(await page.locator('#usage-chart svg rect').count(), 60);
    await page.getByText('Show the numbers').click();
    const rows = page.locator('#usage-chart-table tbody tr');
    assert.equal(await rows.count(), 30);
    assert.deepEqual(await rows.last().locator('td').allTextContents(), ['5', '4']);
    assert.match((await page.locator('#usage-chart-summary').textContent()) ?? '', /5 image requests answered and 4 new sizes made/);

    const top = page.locator('#top-covers li');
    assert.deepEqual(await top.locator('.bar-label').allTextContents(), [`Cover ${popular}`, `Cover ${other}`]);
    assert.deepEqual(await top.locator('.bar-value').allTextContents(), ['4', '1']);
    await screenshots(page, 'stats');
    await top.first().getByRole('link').click();
    await page.waitForURL(`**/ui/cover/${popular}`);
    assert.deepEqual(browser.errors, []);
  });
});
