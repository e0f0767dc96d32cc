import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { screenshots, signIn, useJacketInBrowser, type TestBrowser } from './helpers/browser.ts';
import { bookCoverArt, form } from './helpers/images.ts';
import type { RunningJacket } from './helpers/server.ts';

const SHELF = [
  ['Walden', 'Henry David Thoreau', '#2e5d4b', '9780141194646'],
  ['Middlemarch', 'George Eliot', '#5a3d6b', '9780141439549'],
  ['Persuasion', 'Jane Austen', '#8a5a2b', '9780141439686'],
  ['Pride and Prejudice', 'Jane Austen', '#7a3b2e', '9780141439518'],
  ['Bleak House', 'Charles Dickens', '#3b4a6b', '9780141439723'],
  ['Dracula', 'Bram Stoker', '#6b2e2e', '9780141439846'],
] as const;

describe('the collection page in a real browser', () => {
  let jacket: RunningJacket;
  let browser: TestBrowser;
  const ids = new Map<string, number>();
  const untitled: number[] = [];

  async function upload(fields: Record<string, string>, bytes: Buffer): Promise<number> {
    const response = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form({ ...fields, data: { bytes, type: 'image/jpeg' } }) });
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    return body.id;
  }

  useJacketInBrowser({ JACKET_MODERATION: 'true' }, async (started, launched) => {
    jacket = started;
    browser = launched;
    // 24 covers to a page: 22 scans without identifiers first, so that the shelf fills the first page and paging shows.
    for (let i = 0; i < 22; i++) untitled.push(await upload({}, await bookCoverArt(`Scan ${i + 1}`, '', '#55606e')));
    for (const [title, author, color, isbn] of SHELF) ids.set(title, await upload({ title, author, isbn }, await bookCoverArt(title, author, color)));
    for (const id of [...untitled, ...ids.values()]) if (id !== ids.get('Dracula')) await jacket.get(`/api/v1/covers/${id}/approve`, { method: 'POST', headers: jacket.admin });
  });

  test('browse newest first with paging; search by title, author and identifier; filter pending and without identifiers', async () => {
    const page = await browser.page();
    await page.goto(jacket.url + '/ui/collection');
    await page.getByText('The collection is for administrators.').waitFor();
    await signIn(page);
    await page.locator('#collection-count').getByText('Covers 1–24 of 28').waitFor();
    const titles = () => page.locator('.collection .title').allTextContents();
    assert.deepEqual((await titles()).slice(0, 6), SHELF.map(([title]) => title).reverse());
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.collection img')].every((img) => img.complete && img.naturalWidth > 1));
    await screenshots(page, 'collection');
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.locator('#collection-count').getByText('Covers 25–28 of 28').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Next page' }).count(), 0);
    await page.getByRole('link', { name: 'Previous page' }).click();
    await page.locator('#collection-count').getByText('Covers 1–24 of 28').waitFor();

    const search = async (text: string) => {
      await page.getByLabel('Title, author or identifier').fill(text);
      await page.getByLabel('Title, author or identifier').press('Enter');
      await page.waitForURL(`**/ui/collection?q=${encodeURIComponent(text).replace(/%20/g, '+')}`);
      await page.locator('#collection-count, #collection-results .notice').first().waitFor();
      return titles();
    };
    assert.deepEqual(await search('middlemarch'), ['Middlemarch']);
    assert.deepEqual((await search('austen')).sort(), ['Persuasion', 'Pride and Prejudice']);
    assert.deepEqual(await search('978-0-14-143972-3'), ['Bleak House']);
    await search('Moby Dick');
    await page.getByText('No cover matches “Moby Dick”.').waitFor();
    // Back returns to the previous search, which the address holds.
    await page.goBack();
    await page.locator('.collection .title').first().waitFor();
    assert.deepEqual(await titles(), ['Bleak House']);

    await page.getByLabel('Title, author or identifier').fill('');
    await page.getByLabel('Show').selectOption({ label: 'Waiting for moderation' });
    await page.waitForURL('**/ui/collection?show=pending');
    await page.locator('#collection-count').getByText('Covers 1–1 of 1').waitFor();
    assert.deepEqual(await titles(), ['Dracula']);
    await page.locator('.collection img').waitFor();

    await page.getByLabel('Kind').selectOption({ label: 'Authors' });
    await page.getByText('No cover matches these filters.').waitFor();
    await page.getByLabel('Kind').selectOption({ label: 'Book editions' });
    await page.waitForURL('**/ui/collection?show=pending&category=b');
    await page.locator('#collection-count').getByText('Covers 1–1 of 1').waitFor();

    await page.getByLabel('Kind').selectOption({ label: 'Any kind' });
    await page.waitForURL('**/ui/collection?show=pending');
    await page.getByLabel('Show').selectOption({ label: 'Without identifiers' });
    await page.locator('#collection-count').getByText('of 22').waitFor();
    await page.locator('.collection li').first().getByRole('link').click();
    await page.waitForURL(`**/ui/cover/${untitled.at(-1)}`);
    assert.deepEqual(browser.errors, []);
  });
});
