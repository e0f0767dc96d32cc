// Script-injection payloads in every stored text the web UI shows (a book's title and authors from an upload, an edit
// and an editions dump, a cover's source URL, a release image's comment, a key's name and contact, a scan's file name)
// and in everything a visitor can put in a UI address, search box or form, rendered by every /ui page in Chromium, twice: with the pages' Content-Security-Policy, which must report no violation, and with the
// policy bypassed, where no payload may run either — the pages must never turn data into markup or script.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { form, makeImage } from './helpers/images.ts';
import { launchBrowser, signIn, type TestBrowser } from './helpers/browser.ts';
import { ADMIN_TOKEN, makeTempDir, startJacket, type RunningJacket } from './helpers/server.ts';

/** Each payload calls __xss(name) if it ever runs, and leaves an <xss-probe> element if it is ever parsed as markup. */
const PAYLOADS = [
  `<xss-probe></xss-probe><img src=x onerror="__xss('img')">`,
  `"><script>__xss('script')</script>`,
  `javascript:__xss('url')`,
  `'><svg onload="__xss('svg')"><xss-probe/></svg>`,
  `</code></td></tr></table><iframe srcdoc="<script>parent.__xss('iframe')</script>"></iframe>`,
  `<style>@import "javascript:__xss('css')";</style><a href="javascript:__xss('link')">x</a>`,
  `\u2028\u2029<math><mtext><table><mglyph><style><img src=x onerror=__xss('mxss')>`,
];
const PAYLOAD = PAYLOADS.join(' ');
/** A piece of the payload that must be shown as text wherever the payload is rendered. */
const VISIBLE = `onerror="__xss('img')"`;
/** The edition whose title comes from an editions dump (`jacket import ol-editions`). */
const DUMPED_EDITION = 'OL4242M';

/** Runs before any page script: the marker payloads call, and the CSP violations the page reports. */
const INSTRUMENT = () => {
  const runs: string[] = [];
  const violations: string[] = [];
  Object.assign(window, { __xss: (name: string) => runs.push(name), __xssRuns: runs, __violations: violations });
  document.addEventListener('securitypolicyviolation', (event) => violations.push(`${event.violatedDirective} ${event.blockedURI}`));
};

interface Findings {
  runs: string[];
  violations: string[];
  /** Elements and attributes that only parsed payload markup could have made. */
  injected: string[];
  text: string;
}

async function findings(page: Page): Promise<Findings> {
  // Let lazy parts (images, follow-up requests) settle, so a late payload still counts.
  await page.waitForLoadState('networkidle');
  return page.evaluate(() => {
    const injected: string[] = [];
    const selectors = [
      'xss-probe',
      // The shell's script, and the deep view's viewer loaded on first use.
      'script:not([src="/ui/assets/app.js"], [src="/ui/vendor/openseadragon/openseadragon.min.js"])',
      'iframe',
      'object',
      'embed',
      'base',
      'meta[http-equiv]',
      'math',
      // The statistics page draws its charts as SVG; any other SVG came from data.
      'body svg:not(figure.chart svg)',
      // The deep view's empty marker that keeps OpenSeadragon from adding inline styles (see src/ui/deep-view.js).
      'style:not([data-openseadragon-mobile-css]:empty)',
      '[href^="javascript:" i]',
      '[src^="javascript:" i]',
      '[href^="data:" i]',
    ];
    for (const selector of selectors) for (const element of document.querySelectorAll(selector)) injected.push(`${selector}: ${element.outerHTML.slice(0, 120)}`);
    // The UI attaches listeners with addEventListener: an on* attribute anywhere came from data.
    for (const element of document.querySelectorAll('*')) {
      for (const attribute of element.getAttributeNames()) if (attribute.startsWith('on')) injected.push(`${element.tagName} ${attribute}`);
    }
    const state = window as unknown as { __xssRuns: string[]; __violations: string[] };
    return { runs: [...state.__xssRuns], violations: [...state.__violations], injected, text: document.body.innerText };
  });
}

describe('the web UI never runs what it shows', () => {
  let jacket: RunningJacket;
  let images: http.Server;
  let imageHost: string;
  let bytes: Buffer;

  before(async () => {
    bytes = await makeImage(200, 300);
    // The source_url host: any path answers the image.
    images = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'image/jpeg' }).end(bytes));
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    imageHost = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
    // The title of an edition read from an editions dump, as a librarian loads one, before the server starts.
    const dataDir = await makeTempDir();
    const dump = path.join(dataDir, 'editions.txt');
    await fs.writeFile(dump, `/type/edition\t/books/${DUMPED_EDITION}\t1\t2021-01-01T00:00:00.000000\t${JSON.stringify({ key: `/books/${DUMPED_EDITION}`, title: PAYLOAD })}\n`);
    const root = path.resolve(import.meta.dirname, '..');
    await promisify(execFile)(path.join(root, 'node_modules/.bin/node'), [path.join(root, 'bin/jacket.js'), 'import', 'ol-editions', dump], {
      cwd: root,
      env: { ...process.env, JACKET_DATA_DIR: dataDir, JACKET_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent' },
    });
    jacket = await startJacket({ JACKET_DATA_DIR: dataDir, JACKET_MODERATION: 'true', JACKET_SOURCE_URL_HOSTS: '127.0.0.1', JACKET_SOURCE_URL_ALLOW_PRIVATE: 'true', JACKET_KEY_SIGNUP: 'true' });
  });
  after(async () => {
    await jacket.close();
    await fs.rm(jacket.dataDir, { recursive: true, force: true });
    await new Promise((resolve) => images.close(resolve));
  });

  /**
   * The payload in every stored text field: covers with a title and authors given at upload, from the editions dump and
   * from an edit, an author and source URL, a replaced cover (so the history lists it), a release image's comment, a key
   * (name and contact, which must be short).
   */
  async function seed(release: string): Promise<{ coverIds: number[]; imageId: number }> {
    const upload = async (fields: Parameters<typeof form>[0]) => {
      const answer = await jacket.get('/b/upload2', { method: 'POST', headers: jacket.admin, body: form(fields) });
      assert.equal(answer.status, 200, await answer.clone().text());
      return (await answer.json()).id as number;
    };
    const titled = await upload({ title: PAYLOAD, author: PAYLOADS, isbn: '9780385472579', data: { bytes } });
    const dumped = await upload({ olid: DUMPED_EDITION, data: { bytes } });
    const fromUrl = await upload({ author: PAYLOADS, source_url: `${imageHost}/cover.jpg?${PAYLOADS.map(encodeURIComponent).join('&')}#${PAYLOAD}` });
    const edit = await jacket.get(`/api/v1/covers/${fromUrl}`, { method: 'PATCH', headers: { ...jacket.admin, 'content-type': 'application/json' }, body: JSON.stringify({ title: PAYLOADS[1], authors: PAYLOADS }) });
    assert.equal(edit.status, 200, await edit.clone().text());
    const replacement = await jacket.get(`/api/v1/covers/${titled}/replace`, { method: 'POST', headers: jacket.admin, body: form({ data: { bytes } }) });
    assert.equal(replacement.status, 201, await replacement.clone().text());
    const image = await jacket.get(`/api/v1/releases/${release}/images`, { method: 'POST', headers: jacket.admin, body: form({ types: 'Front', comment: PAYLOAD, file: { bytes, type: 'image/jpeg' } }) });
    assert.equal(image.status, 201, await image.clone().text());
    const signup = await jacket.get('/api/v1/keys/signup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: PAYLOADS[0], contact: `x@example.org"><img src=x onerror=__xss('contact')>` }) });
    assert.equal(signup.status, 201, await signup.clone().text());
    return { coverIds: [titled, dumped, fromUrl, (await replacement.json()).id], imageId: (await image.json()).id };
  }

  /** Every page, first with the seeded covers and image waiting for moderation, then approved; `expectText` proves the payload was shown. */
  async function visitEverything(browser: TestBrowser, label: string, release: string, newIsbn: string): Promise<void> {
    const { coverIds, imageId } = await seed(release);
    await browser.context.addInitScript(INSTRUMENT);
    const page = await browser.page();
    const visit = async (path: string, act?: () => Promise<void>, expectText = false) => {
      await page.goto(jacket.url + path);
      await page.locator('#main').waitFor();
      if (act) await act();
      const found = await findings(page);
      assert.deepEqual(found.runs, [], `${label} ${path}: a payload ran`);
      assert.deepEqual(found.violations, [], `${label} ${path}: the CSP reported a violation`);
      assert.deepEqual(found.injected, [], `${label} ${path}: payload markup was parsed`);
      if (expectText) assert.ok(found.text.includes(VISIBLE), `${label} ${path}: the payload is shown as text`);
    };
    const openDeepView = async () => {
      await page.getByRole('button', { name: 'Open the zoomable view' }).click();
      await page.locator('.deep-view canvas').first().waitFor();
    };
    const confirm = async (opener: string, confirmation: string) => {
      await page.getByRole('button', { name: opener }).first().click();
      await page.getByRole('dialog').getByRole('button', { name: confirmation }).click();
    };
    /** A scan whose file name is the payload (file names cannot hold a slash: those parts of the payload are cut). */
    const scan = (name: string) => ({ name: `${name.replaceAll('/', '')}.jpg`, mimeType: 'image/jpeg', buffer: bytes });

    await page.goto(`${jacket.url}/`);
    await signIn(page);
    await visit('/ui/moderation', undefined, true);
    await visit('/ui/collection', undefined, true);
    for (const id of coverIds) await visit(`/ui/cover/${id}`, undefined, true);
    for (const id of coverIds) assert.equal((await jacket.get(`/api/v1/covers/${id}/approve`, { method: 'POST', headers: jacket.admin })).status, 200);
    assert.equal((await jacket.get(`/api/v1/images/${imageId}/approve`, { method: 'POST', headers: jacket.admin })).status, 200);
    // Requests, so the statistics page lists the payload covers among the most requested.
    for (const id of coverIds) assert.equal((await jacket.get(`/b/id/${id}-S.jpg`)).status, 200);
    await visit('/');
    for (const id of coverIds) await visit(`/ui/cover/${id}`, undefined, true);
    await visit(`/ui/cover/${coverIds[0]}`, openDeepView, true);
    await visit(`/ui/release/${release}`, undefined, true);
    await visit(`/ui/release/${release}`, openDeepView, true);
    await visit('/ui/keys', undefined, true);
    await visit('/ui/stats');
    await visit('/ui/upload');
    // The administrator's edit, replace and delete on a cover page, with the payload typed in.
    await visit(`/ui/cover/${coverIds[1]}`, async () => {
      // Both runs edit the dumped edition: each types its own title, so each makes a change.
      await page.locator('#edit-title').fill(`${PAYLOADS[2]} ${label}`);
      await page.locator('#edit-authors').fill(PAYLOADS.join('\n'));
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByText('Saved.').waitFor();
    }, true);
    await visit(`/ui/cover/${coverIds[1]}`, async () => {
      await page.locator('#replace-file').setInputFiles(scan(PAYLOAD));
      await page.getByRole('button', { name: 'Replace the image' }).click();
      await page.waitForURL(/replaces=/);
      await page.locator('#history-list').waitFor();
    }, true);
    await visit(`/ui/cover/${coverIds[2]}`, async () => {
      await confirm('Delete this cover…', `Delete cover ${coverIds[2]}`);
      await page.getByText(`Cover ${coverIds[2]} was deleted.`).waitFor();
    });
    // The keys administration: a key made with the payload as name and contact, then revoked.
    await visit('/ui/keys', async () => {
      await page.locator('#new-key-name').fill(PAYLOADS[3]);
      await page.locator('#new-key-contact').fill(PAYLOADS[1]);
      await page.getByRole('button', { name: 'Make the key' }).click();
      await page.locator('#keys-table').getByText(PAYLOADS[3]).first().waitFor();
      await confirm(`Revoke ${PAYLOADS[3]}`, 'Revoke the key');
      await page.locator('#key-admin-result .notice.ok').waitFor();
    });
    // One file named with the payload, sent with the payload as its title and author.
    let uploaded = '';
    await visit('/ui/upload', async () => {
      await page.locator('#file').setInputFiles(scan(PAYLOADS[0]));
      await page.locator('#preview img').waitFor();
      await page.locator('#title').fill(PAYLOAD);
      await page.locator('#author').fill(PAYLOADS[0]);
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      uploaded = (await page.locator('#result-link').getAttribute('href')) ?? '';
    });
    await visit(uploaded, undefined, true);
    // Many files at once, named with the payload: one flagged (no ISBN in its name), one sent.
    await visit('/ui/upload', async () => {
      await page.locator('#batch-files').setInputFiles([scan(PAYLOADS[0]), scan(`9780385472579 ${PAYLOADS[1]}`)]);
      await page.locator('#batch tbody tr').nth(1).waitFor();
      // An ISBN without a cover yet, so the row is ticked once checked.
      await page.locator('#batch-isbn-0').fill(newIsbn);
      await page.locator('#batch-isbn-0').dispatchEvent('change');
      await page.locator('#batch tbody tr').first().getByRole('checkbox', { checked: true }).waitFor();
      await page.locator('#batch-upload').click();
      await page.locator('#batch-summary .notice').waitFor();
    }, true);
    // What a visitor types or links to: the search boxes, the sign-up form, and UI addresses.
    await visit('/', async () => {
      await page.locator('#q').fill(PAYLOAD);
      await page.locator('#q').press('Enter');
      await page.locator('#search-results *').first().waitFor();
    });
    await visit('/ui/collection', async () => {
      await page.locator('#collection-q').fill(PAYLOAD);
      await page.locator('#collection-q').press('Enter');
      await page.waitForURL(/q=/);
      await page.locator('#collection-count, #collection-results .notice').first().waitFor();
    });
    await visit('/ui/keys', async () => {
      await page.locator('#key-name').fill(PAYLOAD);
      await page.locator('#key-contact').fill(PAYLOAD);
      await page.locator('#key-contact').press('Enter');
      await page.locator('#new-key, .notice').first().waitFor();
    });
    const payload = encodeURIComponent(PAYLOAD);
    await visit('/ui/collection?q=xss', undefined, true);
    for (const path of [
      `/ui/cover/${payload}`,
      `/ui/cover/${coverIds[0]}?replaces=${payload}`,
      `/ui/release/${payload}`,
      `/ui/${payload}`,
      `/ui/${payload}/${payload}?${payload}`,
      `/ui/upload?mbid=${payload}`,
      `/ui/collection?q=${payload}&show=${payload}&category=${payload}&page=${payload}`,
      `/ui/stats?${payload}`,
    ]) {
      await visit(path);
    }
    assert.deepEqual(browser.errors, [], `${label}: script errors or CSP reports in the console`);
  }

  test('with the Content-Security-Policy: no payload runs, nothing is reported', { timeout: 120_000 }, async () => {
    const browser = await launchBrowser();
    try {
      await visitEverything(browser, 'with CSP', '76df3287-6cda-33eb-8e9a-044b5e15ffdd', '9780261102217');
    } finally {
      await browser.close();
    }
  });

  test('with the policy bypassed: still no payload runs (the pages never make markup of data)', { timeout: 120_000 }, async () => {
    const browser = await launchBrowser({ bypassCSP: true });
    try {
      await visitEverything(browser, 'without CSP', '99b09d02-9cc9-3fed-8431-f162165a9371', '9780140449136');
    } finally {
      await browser.close();
    }
  });
});
