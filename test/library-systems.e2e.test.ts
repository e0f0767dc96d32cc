// Koha's OPAC asks Open Library's Books API for covers with a JSONP <script> whose src names openlibrary.org, then
// builds an <img> from `cover.medium`, or shows its "no image" text for an entry without a cover (a key absent from
// the answer shows nothing). This
// page follows that request pattern from another origin (the OPAC's), with the README's OPACUserJS snippet in front.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, type TestBrowser } from './helpers/browser.ts';
import { uploadBookCover } from './helpers/library-apis.ts';
import { startJacket, type RunningJacket } from './helpers/server.ts';

/** The README's OPACUserJS snippet, read from the README itself so the documented text is what is tested. */
async function opacUserJs(jacketUrl: string): Promise<string> {
  const readme = await fs.readFile(path.join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const snippet = /```js\n(\/\/ Send Koha's Open Library requests to Jacket\.[\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(snippet, 'the README has the OPACUserJS snippet');
  return snippet.replace("'https://covers.library.example'", JSON.stringify(jacketUrl));
}

function opacPage(userJs: string): string {
  return `<!doctype html><html><head><title>OPAC</title><script>${userJs}</script></head><body>
<div class="cover" data-isbn="9780385472579"></div>
<div class="cover" data-isbn="9780261102217"></div>
<div class="cover" data-isbn="9780000000002"></div>
<script>
var KOHA = { OpenLibrary: { olCallBack: function (books) {
  document.querySelectorAll('.cover').forEach(function (holder) {
    var book = books['ISBN:' + holder.dataset.isbn];
    if (!book) return;
    if (book.cover) {
      var img = document.createElement('img');
      img.src = book.cover.medium;
      holder.appendChild(img);
    } else {
      holder.textContent = 'No cover image available';
    }
  });
  document.body.dataset.answered = 'yes';
} } };
var bibkeys = Array.prototype.map.call(document.querySelectorAll('.cover'), function (h) { return 'ISBN:' + h.dataset.isbn; });
var script = document.createElement('script');
script.setAttribute('src', 'https://openlibrary.org/api/books?bibkeys=' + bibkeys.join(',') + '&callback=KOHA.OpenLibrary.olCallBack&jscmd=data');
script.setAttribute('type', 'text/javascript');
document.head.appendChild(script);
</script></body></html>`;
}

describe("Koha's OPAC cover pattern in Chromium", () => {
  let jacket: RunningJacket;
  let opac: http.Server;
  let opacUrl: string;
  let browser: TestBrowser;

  before(async () => {
    jacket = await startJacket();
    await uploadBookCover(jacket, { isbn: '0385472579' });
    // A book Jacket knows whose only cover is gone: its entry comes without a cover.
    const gone = await uploadBookCover(jacket, { olid: 'OL77M', isbn: '9780261102217' }, '#00aa00');
    const deleted = await jacket.get('/b/delete', { method: 'POST', headers: { ...jacket.admin, 'content-type': 'application/x-www-form-urlencoded' }, body: `id=${gone}` });
    assert.equal(deleted.status, 200);
    const page = opacPage(await opacUserJs(jacket.url));
    opac = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page));
    await new Promise<void>((resolve) => opac.listen(0, '127.0.0.1', resolve));
    opacUrl = `http://127.0.0.1:${(opac.address() as AddressInfo).port}/`;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => opac?.close(resolve));
    await jacket?.close();
  });

  test('the JSONP answer builds a 180×270 cover; a known book without a cover takes the "no image" branch; an unknown ISBN shows nothing', async () => {
    const page = await browser.page();
    await page.goto(opacUrl);
    await page.locator('body[data-answered="yes"]').waitFor();
    const image = page.locator('.cover[data-isbn="9780385472579"] img');
    await image.waitFor();
    await page.waitForFunction(() => {
      const img = document.querySelector('.cover img') as HTMLImageElement | null;
      return img !== null && img.complete && img.naturalWidth > 0;
    });
    const size = await image.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight, img.src]);
    assert.equal(size[0], 180);
    assert.equal(size[1], 270);
    assert.match(String(size[2]), new RegExp(`^${jacket.url}/b/id/\\d+-M\\.jpg$`));
    assert.equal(await page.locator('.cover[data-isbn="9780261102217"]').textContent(), 'No cover image available');
    assert.equal(await page.locator('.cover[data-isbn="9780000000002"]').textContent(), '');
    assert.deepEqual(browser.errors, []);
  });
});
